"""A job's plan is frozen when it starts: later steps ask applications only for the permit's standing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hdab.applications import api as applications
from hdab.catalog import api as catalog
from hdab.core import runtime
from hdab.extracts.deliveries.models import Delivery
from hdab.extracts.jobs import runner, service
from hdab.extracts.jobs.domain import Frozen
from hdab.extracts.jobs.models import ExtractJob
from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline.run import STEPS, TABLE_STEP_KINDS, sequence
from tests.applications.factories import People
from tests.extracts.apps import permit_with
from tests.extracts.permits import permit_version
from tests.extracts.test_jobs import PSEUDONYMISED, registry  # noqa: F401 - shared fixtures (app: tests/extracts/conftest.py)

ANONYMISED = {
    "dataset": "npr-somatikk",
    "variables": ["hovedtilstand", "fodselsar", "kjonn", "innskrivningstidspunkt"],
    "period": {"start": "2025-01-01", "end": "2025-06-30"},
    "cohort": [{"variable": "hovedtilstand", "prefixes": ["I21"]}],
    "quasi_identifiers": ["fodselsar", "kjonn"],
    "generalisations": ["dates_to_month"],
}
BESIDE = {"dataset": "kpr-kuhr", "variables": ["hoveddiagnose", "kjonn"], "pseudonymised": True}


def plans() -> list[planning.ExtractPlan]:
    disclosure = {"npr-somatikk": planning.Disclosure(sensitive=frozenset({"hovedtilstand"}))}
    two = [permit_version("NO-HDAB-2026-FROZEN", [PSEUDONYMISED, BESIDE])]
    return [
        planning.plan_for_permit(two, 5),
        planning.plan_for_permit(two, 5, plan_version=1),
        planning.plan_for_permit(
            [permit_version("NO-HDAB-2026-ANON", [ANONYMISED])], 5, disclosure=disclosure
        ),
        planning.plan_for_permit(
            two, 5, run_at=datetime(2026, 10, 1, tzinfo=UTC), changed_since=datetime(2026, 9, 1, tzinfo=UTC)
        ),
    ]


def test_the_step_registry_covers_every_step_a_job_runs() -> None:
    for plan in plans():
        names = {ref.name for ref in sequence(plan)}
        assert names == set(STEPS), names ^ set(STEPS)
    assert all(STEPS[name].name == name for name in STEPS)
    assert [step.name for step in TABLE_STEP_KINDS] == [
        "minimise", "optout_filter", "pseudonymise", "generalise", "disclosure_check", "write",
    ]  # fmt: skip


@pytest.mark.parametrize("plan", plans(), ids=["pseudonymised", "version-1", "anonymised", "recurring"])
def test_a_stored_plan_reads_back_as_it_was(plan: planning.ExtractPlan) -> None:
    stored = plan.to_json()
    again = planning.ExtractPlan.from_json(stored)
    assert again == plan and again.to_json() == stored


def test_what_a_job_freezes_reads_back_as_it_was() -> None:
    frozen = Frozen((("npr-somatikk", "kjonn", "Kjønn", "string"),), ("pi@uio.no",))
    assert Frozen.from_json(frozen.to_json()) == frozen


def queued_rerun(permit_id: str) -> str:
    """A re-run as the operator's CLI makes it: queued, not started."""
    with runtime.database().session() as session:
        return service.rerun(session, None, permit_id).id


def spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, calls: Counter[str]) -> None:
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def test_a_frozen_job_asks_applications_only_for_the_permits_standing_per_step(
    app: tuple[TestClient, People],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, people = app
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    job_id = queued_rerun(permit_id)
    calls: Counter[str] = Counter()
    for name in applications.__all__:
        if callable(getattr(applications, name)) and name[0].islower():
            spy(monkeypatch, applications, name, calls)
    spy(monkeypatch, catalog, "dataset", calls)
    assert runner.run_job(runtime.database(), job_id) == "delivered"
    steps = 7  # six for the one table, then deliver
    # the first step plans: the permit's versions once, the catalogue once per dataset; then only
    # the standing, once per step
    assert calls == {"permit_standing": steps, "permit_versions": 1, "dataset": 1}
    with runtime.database().session() as session:
        job = session.get(ExtractJob, job_id)
        assert job is not None and job.frozen is not None and job.plan is not None
        assert job.frozen["persons"] and "number" not in job.frozen


def test_overlapping_jobs_of_one_permit_take_the_next_numbers_in_the_order_they_deliver(
    app: tuple[TestClient, People],
) -> None:
    """A job frozen first but delivered second takes the number after the other's, not the same one."""
    client, people = app
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    database = runtime.database()
    slow, fast = queued_rerun(permit_id), queued_rerun(permit_id)
    assert runner.run_next(database, slow, chain=False) == "running"  # frozen, its first step done
    assert runner.run_job(database, fast) == "delivered"
    assert runner.run_job(database, slow) == "delivered"
    with database.session() as session:
        first, second = session.get(Delivery, fast), session.get(Delivery, slow)
        assert first is not None and second is not None
        assert (first.number, second.number, second.predecessor) == (2, 3, first.id)


def test_a_revocation_after_the_first_step_still_stops_a_frozen_job(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    job_id = queued_rerun(permit_id)
    assert runner.run_next(runtime.database(), job_id, chain=False) == "running"
    revoked = client.post(
        f"/api/permits/{permit_id}/revoke", json={"reasons": "breach"}, headers=people.decision_maker
    )
    assert revoked.status_code == 200
    assert runner.run_job(runtime.database(), job_id) in ("cancelled", "failed")
    with runtime.database().session() as session:
        assert session.get(Delivery, job_id) is None


def test_a_job_begun_before_jobs_froze_runs_to_the_same_delivery(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    database = runtime.database()
    frozen_job = queued_rerun(permit_id)
    assert runner.run_job(database, frozen_job) == "delivered"
    old_job = queued_rerun(permit_id)
    assert runner.run_next(database, old_job, chain=False) == "running"
    with database.session() as session:  # what a job begun before holds: a stored plan, nothing frozen
        job = session.get(ExtractJob, old_job)
        assert job is not None and job.plan is not None
        job.frozen = None
    assert runner.run_job(database, old_job) == "delivered"
    with database.session() as session:
        new, old = session.get(Delivery, frozen_job), session.get(Delivery, old_job)
        assert new is not None and old is not None
        assert (new.number, old.number, old.predecessor) == (2, 3, new.id)
        assert {f["name"]: f["sha256"] for f in old.files} == {f["name"]: f["sha256"] for f in new.files}
        job = session.get(ExtractJob, old_job)
        assert job is not None and job.frozen is not None  # frozen by the step after it began
