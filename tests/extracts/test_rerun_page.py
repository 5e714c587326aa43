"""The job page offers staff "Run again" on a failed permit job: a new job for the same permit version."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hdab.core import runtime
from hdab.core.auth import Principal, Role
from hdab.core.errors import Conflict
from hdab.extracts.deliveries.models import Delivery
from hdab.extracts.jobs import service
from hdab.registry import synth
from tests.applications.factories import People
from tests.applications.walk import settle
from tests.extracts.apps import audit_entries, jobs, permit_with, running
from tests.support.forms import csrf_token, post_form

DATASET = {"dataset": "npr-somatikk", "variables": ["hovedtilstand", "kjonn"], "pseudonymised": True}
BUTTON = ">Kjør på nytt</button>"  # the page in bokmål, its default


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
    settle()
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


def test_a_failed_job_is_run_again_once_and_then_names_the_job_that_ran_it(
    failed: tuple[TestClient, People, Path, str],
) -> None:
    client, people, registry, job_id = failed
    synth.generate(registry, 1_500, 2025, 7)
    response = client.post(f"/extracts/{job_id}/rerun", headers=people.caseworker, follow_redirects=False)
    assert response.status_code == 303
    settle()
    _first, second = jobs()
    assert second.status == "delivered", second.error
    # the failed job's page offers nothing more, and says which job followed it up
    page = client.get(f"/extracts/{job_id}", headers=people.caseworker).text
    assert BUTTON not in page and f'action="/extracts/{job_id}/rerun"' not in page
    assert f'href="/extracts/{second.id}">{second.id}</a> (Levert)' in page  # its status in words
    # a second click (an old tab, a double submit) delivers nothing again
    again = client.post(f"/extracts/{job_id}/rerun", headers=people.caseworker, follow_redirects=False)
    assert again.status_code == 409
    assert f"this job was already run again as job {second.id}" in again.text
    assert len(jobs()) == 2
    with runtime.database().session() as session:
        assert len(list(session.scalars(select(Delivery)))) == 1


def test_any_later_job_of_the_permit_ends_the_offer_whatever_its_status(
    failed: tuple[TestClient, People, Path, str],
) -> None:
    """Still no registry: the re-run fails too. Only the newest failed job may be run again."""
    client, people, _registry, job_id = failed
    response = client.post(f"/extracts/{job_id}/rerun", headers=people.caseworker, follow_redirects=False)
    assert response.status_code == 303
    settle()
    _first, second = jobs()
    assert second.status == "failed"
    assert BUTTON not in client.get(f"/extracts/{job_id}", headers=people.caseworker).text
    again = client.post(f"/extracts/{job_id}/rerun", headers=people.caseworker, follow_redirects=False)
    assert again.status_code == 409 and f"already run again as job {second.id} (failed)" in again.text
    assert len(jobs()) == 2
    # the newest failed job is offered, and a queued job after it (the API's re-run) ends that offer
    assert BUTTON in client.get(f"/extracts/{second.id}", headers=people.caseworker).text
    with runtime.database().session() as session:
        third = service.rerun(session, None, str(second.permit_id))  # the CLI: queued, not started
    assert third.status == "queued"
    assert BUTTON not in client.get(f"/extracts/{second.id}", headers=people.caseworker).text
    refused = client.post(f"/extracts/{second.id}/rerun", headers=people.caseworker, follow_redirects=False)
    assert refused.status_code == 409 and f"already run again as job {third.id} (queued)" in refused.text
    assert len(jobs()) == 3


def test_the_same_failed_job_is_never_run_again_twice_even_past_the_check(
    failed: tuple[TestClient, People, Path, str],
) -> None:
    """Two requests that both passed the check: the database keeps one re-run per failed job."""
    _client, _people, _registry, job_id = failed
    [job] = jobs()
    principal = Principal("saksbehandler", "test", frozenset({Role.CASEWORKER}))
    with runtime.database().session() as session:
        first = service.rerun(session, principal, str(job.permit_id), failed_job=job_id)
    refused = pytest.raises(Conflict, match=f"this job was already run again as job {first.id}")
    with refused, runtime.database().session() as session:
        service.rerun(session, principal, str(job.permit_id), failed_job=job_id)
    assert len(jobs()) == 2


def test_two_requests_at_once_run_a_failed_job_again_once(
    failed: tuple[TestClient, People, Path, str], backend: str
) -> None:
    """The second waits for the first's transaction (the failed job's row is locked), then is refused."""
    if backend != "postgresql":
        pytest.skip("SQLite has no row locks: there the unique re-run key alone keeps it to one")
    _client, _people, _registry, job_id = failed
    principal = Principal("saksbehandler", "test", frozenset({Role.CASEWORKER}))
    outcome: dict[str, BaseException | str] = {}

    def second_request() -> None:
        try:
            with runtime.database().session() as session:
                outcome["job"] = service.rerun_failed(session, principal, job_id).id
        except BaseException as exc:  # the test reads what happened
            outcome["error"] = exc

    with runtime.database().session() as session:
        first = service.rerun_failed(session, principal, job_id)
        other = threading.Thread(target=second_request)
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive()  # waiting for this transaction
    other.join(timeout=30)
    assert not other.is_alive()
    error = outcome.get("error")
    assert isinstance(error, Conflict), outcome
    assert f"this job was already run again as job {first.id}" in str(error.detail)
    assert len(jobs()) == 2


def test_nobody_on_the_applicants_side_runs_their_own_job_again_whatever_their_roles(
    failed: tuple[TestClient, People, Path, str],
) -> None:
    """The researcher also holding `caseworker`, or a second token with their verified email: 403."""
    client, people, registry, job_id = failed
    synth.generate(registry, 300, 2025, 5)
    for headers in (
        people.headers("researcher", Role.APPLICANT, Role.CASEWORKER, email="researcher@uio.no"),
        people.headers("researcher-2", Role.CASEWORKER, email="researcher@uio.no"),
        people.headers("kari-staff", Role.ADMIN, email="pi@uio.no"),  # named in the application
    ):
        response = client.post(f"/extracts/{job_id}/rerun", headers=headers, follow_redirects=False)
        assert response.status_code == 403, response.text
        assert "you applied for this case" in response.text or "you are named in this case" in response.text
        api = client.post("/api/extracts", json={"permit_id": jobs()[0].permit_id}, headers=headers)
        assert api.status_code == 403, api.text
    assert len(jobs()) == 1  # nothing was started
