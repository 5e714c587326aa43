"""Recurring deliveries (Art. 67(5)) with a controllable clock: due runs in order, caught up after an
outage, each once; changes mode delivers exactly what the registry learned since the run before."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy import select

from hdab.core import clock, runtime
from hdab.core.celery_app import celery_app
from hdab.extracts.deliveries.models import Delivery
from hdab.extracts.jobs.models import ExtractJob
from tests.applications.factories import People, access_form
from tests.applications.walk import create, to_permit
from tests.extracts.test_jobs import PSEUDONYMISED, registry  # noqa: F401 - shared fixtures

OSLO = ZoneInfo("Europe/Oslo")
SSB = "971526920"


def monthly_permit(client: TestClient, people: People, mode: str = "snapshot") -> str:
    form = access_form(
        purpose="c",
        applicant={"organisation": SSB, "organisation_name": "Statistisk sentralbyrå", "public_sector": True},
        pseudonymisation_justification="Official statistics link years.",
    )
    form["specification"] = {
        "datasets": [PSEUDONYMISED],
        "recurrence": {
            "schedule": "monthly",
            "day": 1,
            "time": "06:00",
            "mode": mode,
            "recipient_organisation": SSB,
        },
    }
    permit_id: str = to_permit(client, people, create(client, people.applicant, form))["permit_id"]
    return permit_id


def at_oslo(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=OSLO).astimezone(UTC)


def schedule() -> int:
    count: int = celery_app.tasks["extracts.schedule_recurring"].apply().get()
    return count


def recurring() -> list[ExtractJob]:
    with runtime.database().session() as session:
        return list(
            session.scalars(
                select(ExtractJob).where(ExtractJob.kind == "recurring").order_by(ExtractJob.run_at)
            )
        )


def deliveries(permit_id: str) -> list[Delivery]:
    with runtime.database().session() as session:
        return list(
            session.scalars(select(Delivery).where(Delivery.permit_id == permit_id).order_by(Delivery.number))
        )


def test_a_monthly_permit_over_a_year_gives_twelve_deliveries_in_order(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    clock.set(at_oslo(2025, 1, 15, 10))
    permit_id = monthly_permit(client, people)
    for month in range(2, 14):
        year, m = (2025, month) if month <= 12 else (2026, month - 12)
        clock.set(at_oslo(year, m, 1, 5))  # an hour before the run: nothing yet
        assert schedule() == 0
        clock.set(at_oslo(year, m, 1, 7))
        assert schedule() == 1
        assert schedule() == 0  # never twice
    jobs = recurring()
    assert len(jobs) == 12 and all(j.status == "delivered" for j in jobs), [j.error for j in jobs]
    assert [j.run_at.astimezone(OSLO).month for j in jobs if j.run_at] == [*range(2, 13), 1]
    series = deliveries(permit_id)
    assert [d.number for d in series] == list(range(1, 14))  # the delivery at approval, then twelve
    for before, after in pairwise(series):
        assert after.predecessor == before.id  # an unbroken series the recipient can prove


def test_an_outage_of_three_months_is_caught_up_in_order(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    clock.set(at_oslo(2025, 1, 15, 10))
    permit_id = monthly_permit(client, people)
    clock.set(at_oslo(2025, 4, 1, 9))  # the scheduler was down since January
    assert schedule() == 3
    jobs = recurring()
    assert [j.run_at.astimezone(OSLO).month for j in jobs if j.run_at] == [2, 3, 4]
    assert all(j.status == "delivered" for j in jobs)
    by_job = {d.id: d.number for d in deliveries(permit_id)}
    assert [by_job[j.id] for j in jobs] == [2, 3, 4]  # delivered in the order they were due


def _independent(registry: Path, since: datetime, until: datetime) -> Counter[str]:  # noqa: F811
    """Rows of the permit's cohort whose latest version known at ``until`` was learned after ``since``."""
    latest: dict[int, dict[str, Any]] = {}
    for row in pq.read_table(registry / "npr-somatikk", partitioning=None).to_pylist():
        if (
            row["recorded_at"] <= until
            and row["version"] >= latest.get(row["record_id"], {"version": 0})["version"]
        ):
            latest[row["record_id"]] = row
    return Counter(
        str(r["hovedtilstand"])
        for r in latest.values()
        if since < r["recorded_at"] <= until
        and datetime(2025, 1, 1, tzinfo=UTC) <= r["innskrivningstidspunkt"] < datetime(2026, 1, 1, tzinfo=UTC)
        and str(r["hovedtilstand"]).startswith(("S72", "I21", "I48"))
    )


def test_a_changes_delivery_holds_exactly_the_rows_recorded_since_the_run_before(
    app: tuple[TestClient, People],
    registry: Path,  # noqa: F811 - the fixture
) -> None:
    client, people = app
    clock.set(at_oslo(2025, 1, 15, 10))
    permit_id = monthly_permit(client, people, mode="changes")
    clock.set(at_oslo(2025, 3, 1, 9))
    assert schedule() == 2
    february, march = recurring()
    assert february.run_at is not None and march.run_at is not None and march.changed_since == february.run_at
    series = {d.id: d for d in deliveries(permit_id)}
    delivered = pq.read_table(Path(series[march.id].path) / "npr-somatikk.parquet")
    counted = Counter(delivered["hovedtilstand"].cast("string").to_pylist())
    assert counted == _independent(registry, february.run_at, march.run_at)
    assert sum(counted.values()) > 0
