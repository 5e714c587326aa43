"""The scheduler's part: closing cases not completed in time, expiring permits, the hand-over consumed."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from hdab.applications import api
from hdab.core import clock, runtime
from hdab.core.celery_app import celery_app
from hdab.core.models import OutboxMessage
from tests.applications.factories import People
from tests.applications.walk import command, create, to_permit


def run_due() -> dict[str, int]:
    result: dict[str, int] = celery_app.tasks["applications.run_due"].apply().get()
    return result


def test_a_case_not_completed_within_four_weeks_is_closed_art68_4(client: TestClient, people: People) -> None:
    clock.set(datetime(2026, 3, 5, 9, tzinfo=UTC))  # Thursday; 4 weeks end in Easter, so on 7 April
    case_id = create(client, people.applicant)
    command(client, people.applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    command(client, people.caseworker, case_id, "request-information", {"message": "REK?"})
    clock.set(datetime(2026, 4, 7, 20, tzinfo=UTC))  # 22:00 in Oslo on the last day
    assert run_due()["closed_incomplete"] == 0
    clock.set(datetime(2026, 4, 7, 22, 30, tzinfo=UTC))  # 00:30 on 8 April in Oslo
    assert run_due()["closed_incomplete"] == 1
    view = client.get(f"/api/applications/{case_id}", headers=people.applicant).json()
    assert view["status"] == "CLOSED_INCOMPLETE" and view["events"][-1]["actor"] == "system"
    assert run_due()["closed_incomplete"] == 0  # a second run finds nothing more to do


def test_a_permit_expires_by_itself_the_day_after_its_end_date(client: TestClient, people: People) -> None:
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    permit_id = to_permit(client, people)["permit_id"]
    clock.set(datetime(2029, 12, 31, 12, tzinfo=UTC))
    assert run_due()["expired"] == 0
    clock.set(datetime(2030, 1, 1, 12, tzinfo=UTC))
    assert run_due()["expired"] == 1
    permit = client.get(f"/api/permits/{permit_id}", headers=people.applicant).json()
    assert permit["status"] == "EXPIRED" and permit["delete_data_by"] == "2030-06-30"
    assert (
        client.post(
            f"/api/permits/{permit_id}/amend",
            json={"reason": "x", "conditions": []},
            headers=people.applicant,
        ).status_code
        == 409
    )


def test_the_extract_service_reads_the_issued_permit_through_the_api(
    client: TestClient, people: People
) -> None:
    permit_id = to_permit(client, people)["permit_id"]
    with runtime.database().session() as session:
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.task == "permit.issued")).one()
        assert message.sent_at is not None and message.last_error is None
        version = api.permit_version(session, permit_id, 1)
    assert version.permit_id == permit_id and version.specification.datasets[0].dataset == "npr-somatikk"
    assert version.first_approved_at == version.approved_at
    assert version.delete_data_by.isoformat() == "2030-06-30"
