"""The job page offers staff "Run again" on a failed permit job: a new job for the same permit version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hdab.core.auth import Role
from hdab.extracts import synth
from tests.applications.factories import People
from tests.extracts.apps import audit_entries, jobs, permit_with, running
from tests.support.forms import csrf_token, post_form

DATASET = {"dataset": "npr-somatikk", "variables": ["hovedtilstand", "kjonn"], "pseudonymised": True}
BUTTON = "Kjør på nytt / Run again"


@pytest.fixture
def failed(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, People, Path, str]]:
    """A permit whose first job failed: the registry was empty. Gives the failed job's id."""
    registry = tmp_path / "registry"
    with running(tmp_path, database_url, registry) as (client, people):
        permit_with(client, people, DATASET)
        [job] = jobs()
        assert job.status == "failed"
        yield client, people, registry, job.id


def sign_in(client: TestClient, subject: str, role: Role) -> None:
    client.cookies.clear()
    form = {"subject": subject, "roles": [str(role)], "name": subject}
    response = post_form(client, "/dev/signin", form, follow_redirects=False)
    assert response.status_code == 303


def test_staff_see_run_again_on_a_failed_job_and_get_a_new_job_for_the_same_version(
    failed: tuple[TestClient, People, Path, str],
) -> None:
    client, people, registry, job_id = failed
    admin = people.headers("admin", Role.ADMIN)
    for staff in (people.caseworker, admin):
        page = client.get(f"/extracts/{job_id}", headers=staff)
        assert page.status_code == 200 and BUTTON in page.text
        assert f'action="/extracts/{job_id}/rerun"' in page.text and 'name="csrf_token"' in page.text
    synth.generate(registry, 1_500, 2025, 7)  # the newcomer loads the registry, then runs it again
    response = client.post(f"/extracts/{job_id}/rerun", headers=people.caseworker, follow_redirects=False)
    assert response.status_code == 303
    first, second = jobs()
    assert first.id == job_id and response.headers["location"] == f"/extracts/{second.id}"
    assert second.kind == "rerun" and second.status == "delivered", second.error
    assert (second.permit_id, second.permit_version) == (first.permit_id, first.permit_version)
    [requested] = [e for e in audit_entries(second.id) if e.action == "extract.rerun_requested"]
    assert requested.actor.startswith("saksbehandler") and requested.details["failed_job"] == job_id
    # a delivered job offers nothing to run again, and refuses it
    assert BUTTON not in client.get(f"/extracts/{second.id}", headers=people.caseworker).text
    again = client.post(f"/extracts/{second.id}/rerun", headers=people.caseworker, follow_redirects=False)
    assert again.status_code == 409 and len(jobs()) == 2


def test_run_again_is_a_form_that_needs_the_pages_csrf_token(
    failed: tuple[TestClient, People, Path, str],
) -> None:
    client, _people, _registry, job_id = failed
    sign_in(client, "saksbehandler", Role.CASEWORKER)
    page = client.get(f"/extracts/{job_id}")
    assert page.status_code == 200 and BUTTON in page.text
    refused = client.post(f"/extracts/{job_id}/rerun", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "the form has expired" in refused.text and len(jobs()) == 1
    token = csrf_token(client, f"/extracts/{job_id}")
    response = client.post(f"/extracts/{job_id}/rerun", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and len(jobs()) == 2
    assert client.get(response.headers["location"]).status_code == 200


def test_an_applicant_can_neither_see_nor_run_a_job_again(
    failed: tuple[TestClient, People, Path, str],
) -> None:
    client, people, _registry, job_id = failed
    for headers in (people.applicant, people.pi, people.decision_maker):
        assert client.get(f"/extracts/{job_id}", headers=headers).status_code == 403
        assert client.post(f"/extracts/{job_id}/rerun", headers=headers).status_code == 403
    sign_in(client, "researcher", Role.APPLICANT)
    token = csrf_token(client)
    response = client.post(f"/extracts/{job_id}/rerun", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 403 and len(jobs()) == 1


def test_a_revoked_permit_is_not_run_again_and_the_refusal_is_the_apis(
    failed: tuple[TestClient, People, Path, str],
) -> None:
    client, people, _registry, job_id = failed
    [job] = jobs()
    revoked = client.post(
        f"/api/permits/{job.permit_id}/revoke", json={"reasons": "breach"}, headers=people.decision_maker
    )
    assert revoked.status_code == 200
    assert BUTTON not in client.get(f"/extracts/{job_id}", headers=people.caseworker).text
    page = client.post(f"/extracts/{job_id}/rerun", headers=people.caseworker, follow_redirects=False)
    api = client.post("/api/extracts", json={"permit_id": job.permit_id}, headers=people.caseworker)
    assert page.status_code == api.status_code == 409
    assert f"permit {job.permit_id} is REVOKED; nothing may be delivered under it" in page.text
    assert api.json()["detail"] == f"permit {job.permit_id} is REVOKED; nothing may be delivered under it"
    assert len(jobs()) == 1


def test_an_unknown_job_is_not_found(failed: tuple[TestClient, People, Path, str]) -> None:
    client, people, _registry, _job_id = failed
    response = client.post("/extracts/no-such-job/rerun", headers=people.caseworker)
    assert response.status_code == 404
