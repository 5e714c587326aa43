"""Jobs: a permit version becomes exactly one job, runs to a delivery or is held for a second caseworker."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hdab.core import clock, runtime
from hdab.core.auth import Role
from hdab.core.celery_app import celery_app
from hdab.extracts.jobs import runner
from hdab.extracts.jobs.models import ExtractJob, ExtractStep
from hdab.registry import synth
from tests.applications.factories import ALL_MET, People, access_form
from tests.applications.walk import command, create, settle
from tests.extracts.apps import jobs, permit_with

PSEUDONYMISED = {
    "dataset": "npr-somatikk",
    "variables": ["hovedtilstand", "fodselsar", "kjonn"],
    "period": {"start": "2025-01-01", "end": "2025-12-31"},
    "cohort": [{"variable": "hovedtilstand", "prefixes": ["S72", "I21", "I48"]}],
    "pseudonymised": True,
}
RISKY = {
    "dataset": "npr-somatikk",
    "variables": ["hovedtilstand", "fodselsar", "kjonn", "kommunenummer"],
    "quasi_identifiers": ["fodselsar", "kjonn", "kommunenummer"],
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    synth.generate(root, 4_000, 2025, 9)
    return root


def test_an_issued_permit_becomes_one_delivered_job(app: tuple[TestClient, People]) -> None:
    client, people = app
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    [job] = jobs()
    assert job.permit_id == permit_id and job.permit_version == 1 and job.status == "delivered", job.error
    view = client.get(f"/api/extracts/{job.id}", headers=people.caseworker).json()
    names = [s["name"] for s in view["steps"]]
    assert names == [
        "minimise",
        "optout_filter",
        "pseudonymise",
        "generalise",
        "disclosure_check",
        "write",
        "deliver",
    ]
    assert view["steps"][0]["rows_in"] > view["steps"][0]["rows_out"] > 0
    delivery = Path(str(job.delivery_path))
    assert (delivery / "manifest.json").exists() and delivery.parent.name == permit_id
    # the same message again changes nothing
    celery_app.tasks["permit.issued"].apply(kwargs={"permit_id": permit_id, "version": 1}).get()
    assert len(jobs()) == 1
    assert client.get(f"/api/extracts/{job.id}", headers=people.applicant).status_code == 403
    page = client.get(f"/extracts/{job.id}", headers=people.caseworker)
    assert page.status_code == 200 and "delivered" in page.text and "pseudonymise" in page.text


def test_an_approval_answers_before_its_extract_runs_which_then_runs_in_the_background(
    app: tuple[TestClient, People], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No broker (the embedded default): the extract must not run inside the approving request."""
    client, people = app
    started, release = threading.Event(), threading.Event()
    real_step = runner.run_step

    def slow_step(*args: Any) -> Any:
        started.set()
        release.wait(60)
        return real_step(*args)

    monkeypatch.setattr(runner, "run_step", slow_step)
    form = access_form(pseudonymisation_justification="Linkage across years needs a stable pseudonym.")
    form["specification"] = {"datasets": [PSEUDONYMISED]}
    case_id = create(client, people.applicant, form)
    command(client, people.applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    command(client, people.caseworker, case_id, "start-processing")
    command(client, people.caseworker, case_id, "estimate-fee", {"amount": "0"})
    command(client, people.caseworker, case_id, "record-assessment", {"criteria": ALL_MET})
    answers: list[Any] = []
    approving = threading.Thread(
        target=lambda: answers.append(
            client.post(
                f"/api/applications/{case_id}/approve",
                json={"valid_until": "2029-12-31"},
                headers=people.decision_maker,
            )
        )
    )
    approving.start()
    try:
        approving.join(20)
        assert answers, "the approval did not answer while its extract was running"
        assert answers[0].status_code == 200 and answers[0].json()["permit_status"] == "GRANTED"
        assert started.wait(20), "the extract did not start after the approval"
        [job] = jobs()
        assert job.status == "running"  # the job page shows it under way, no step finished yet
        view = client.get(f"/api/extracts/{job.id}", headers=people.caseworker).json()
        assert view["status"] == "running" and view["steps"] == []
    finally:
        release.set()
        approving.join(60)
    settle()
    [job] = jobs()
    assert job.status == "delivered", job.error


def test_a_held_job_is_released_only_by_a_caseworker_who_did_not_assess(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    permit_with(client, people, RISKY)
    [job] = jobs()
    assert job.status == "held" and job.held_reason and "would suppress" in job.held_reason
    url = f"/api/extracts/{job.id}/review"
    # saksbehandler recorded the assessment of this permit
    own = client.post(url, json={"decision": "release", "note": "fine"}, headers=people.caseworker)
    assert own.status_code == 403
    other = people.headers("saksbehandler-2", Role.CASEWORKER)
    released = client.post(url, json={"decision": "release", "note": "suppression acceptable"}, headers=other)
    assert released.status_code == 200
    settle()
    [job] = jobs()
    assert job.status == "delivered" and job.review and job.review["by"].startswith("saksbehandler-2@")
    assert client.post(url, json={"decision": "reject", "note": "x"}, headers=other).status_code == 409


def test_a_rerun_is_a_new_delivery_and_none_after_revocation(app: tuple[TestClient, People]) -> None:
    client, people = app
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    response = client.post("/api/extracts", json={"permit_id": permit_id}, headers=people.caseworker)
    assert response.status_code == 201
    settle()
    first, second = jobs()
    assert (
        second.kind == "rerun"
        and second.status == "delivered"
        and second.delivery_path != first.delivery_path
    )
    client.post(f"/api/permits/{permit_id}/revoke", json={"reasons": "breach"}, headers=people.decision_maker)
    assert (
        client.post("/api/extracts", json={"permit_id": permit_id}, headers=people.caseworker).status_code
        == 409
    )


def test_a_job_whose_worker_died_after_the_rename_is_finished_without_a_second_delivery(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    permit_with(client, people, PSEUDONYMISED)
    [job] = jobs()
    delivery = Path(str(job.delivery_path))
    first_data = (delivery / "npr-somatikk.parquet").read_bytes()
    # a worker killed in the deliver step after the rename, before it could record that
    with runtime.database().session() as session:
        row = session.get(ExtractJob, job.id)
        assert row is not None
        row.status, row.delivery_path, row.step_claimed = "running", None, True
        row.next_step -= 1
        for step in session.scalars(
            select(ExtractStep).where(ExtractStep.job_id == job.id, ExtractStep.name == "deliver")
        ):
            session.delete(step)
    assert runner.stale(runtime.database()) == []  # within its lease it is left alone
    clock.advance(runner.LEASE + timedelta(minutes=1))
    assert celery_app.tasks["extracts.resume"].apply().get() == 1
    [job] = jobs()
    assert job.status == "delivered" and Path(str(job.delivery_path)) == delivery
    assert sorted(p.name for p in delivery.parent.iterdir()) == [delivery.name]  # one delivery, no leftovers
    assert (delivery / "npr-somatikk.parquet").read_bytes() == first_data


def test_each_step_records_counts_and_the_digests_that_chain_it_to_the_one_before(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    permit_with(client, people, PSEUDONYMISED)
    [job] = jobs()
    with runtime.database().session() as session:
        rows = list(
            session.scalars(
                select(ExtractStep).where(ExtractStep.job_id == job.id).order_by(ExtractStep.step_index)
            )
        )
    assert [r.step_index for r in rows] == list(range(7))
    for before, after in pairwise(rows[:6]):
        assert after.input_digest == before.output_digest and after.rows_in == before.rows_out
    assert rows[0].input_digest and all(r.output_digest for r in rows)
    assert rows[-1].output_digest == job.manifest_sha256


def test_the_operator_runs_an_extract_from_the_command_line(app: tuple[TestClient, People]) -> None:
    from click.testing import CliRunner

    from hdab.cli import cli

    client, people = app
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    settings = runtime.settings()
    env = {
        "HDAB_ENV": "test",
        "HDAB_DATA_DIR": str(settings.data_dir),
        "HDAB_DATABASE_URL": settings.database_url,
        "HDAB_REGISTRY_DIR": str(settings.registry_dir),
        "HDAB_SPE_ROOT": str(settings.spe_root),
    }
    result = CliRunner().invoke(cli, ["extract", "run", "--permit", permit_id], env=env)
    assert result.exit_code == 0, result.output
    assert "delivered" in result.output and "extract " in result.output
    assert [j.kind for j in jobs()] == ["permit", "rerun"] and all(j.status == "delivered" for j in jobs())
    unknown = CliRunner().invoke(cli, ["extract", "run", "--permit", "NO-SUCH"], env=env)
    assert unknown.exit_code != 0 and "no permit" in unknown.output


def test_a_permit_the_pipeline_cannot_make_ends_the_job(app: tuple[TestClient, People]) -> None:
    client, people = app
    permit_with(client, people, {"dataset": "npr-phv", "variables": ["hovedtilstand"]})
    [job] = jobs()
    assert job.status == "failed" and job.error and "no source table for dataset 'npr-phv'" in job.error


def test_no_key_and_no_identifier_in_the_database_or_the_logs(
    app: tuple[TestClient, People], caplog: pytest.LogCaptureFixture, registry: Path
) -> None:
    import pyarrow.parquet as pq
    from sqlalchemy import inspect, text

    from hdab.extracts.pipeline import steps, workfiles

    client, people = app
    with caplog.at_level(logging.DEBUG):
        permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    [job] = jobs()
    settings = runtime.settings()
    secrets = [
        settings.pseudonym_master_key,
        settings.optout_hash_key,
        steps.permit_key(settings.pseudonym_master_key, permit_id).hex(),
        workfiles.job_key(settings.pseudonym_master_key, job.id).hex(),
    ]
    persons = pq.read_table(registry / "npr-somatikk", partitioning=None, columns=["fodselsnummer"])
    some = persons["fodselsnummer"].unique().to_pylist()[:200]
    engine = runtime.database().engine
    with engine.connect() as connection:
        dump = " ".join(
            str(connection.execute(text(f'SELECT * FROM "{table}"')).all())
            for table in inspect(engine).get_table_names()
        )
    for where, content in (("database", dump), ("logs", caplog.text)):
        assert not any(secret in content for secret in secrets), where
        assert not any(number in content for number in some), where


def test_the_catalogues_quasi_identifiers_count_when_the_application_names_none(
    app: tuple[TestClient, People],
) -> None:
    """Today an empty list delivered every anonymised row with exact times: the catalogue decides."""
    client, people = app
    bare = {
        "dataset": "npr-somatikk",
        "variables": ["hovedtilstand", "fodselsar", "kjonn", "kommunenummer", "innskrivningstidspunkt"],
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "quasi_identifiers": [],
    }
    permit_with(client, people, bare)
    [job] = jobs()
    assert job.plan is not None, job.error
    [table] = job.plan["tables"]
    assert table["quasi_identifiers"] == ["fodselsar", "kjonn", "kommunenummer"]
    assert table["sensitive"] == ["hovedtilstand"]
    assert table["coarsen"] == [["innskrivningstidspunkt", "month"]]
    # 4,000 persons over sex, birth year and municipality: far too many small groups, so a human decides
    assert job.status == "held", job.error
    assert job.held_reason is not None and "k=5 and l=2" in job.held_reason
