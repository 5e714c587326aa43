"""Periodic tasks on the embedded default: the server's in-process scheduler reads the one clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from hdab.core import audit, clock
from hdab.core.celery_app import BEAT_SCHEDULE
from hdab.core.db import Database
from hdab.core.models import AuditEntry, OutboxMessage
from hdab.core.scheduler import InProcessScheduler
from hdab.core.settings import Settings
from hdab.core.tasks import audit_checkpoint, audit_verify
from tests.support.tasks import TRACE_ACTION


def test_schedule_runs_the_relay_when_due_by_the_clock(database: Database) -> None:
    clock.set(datetime(2029, 5, 2, 2, 0, tzinfo=UTC))
    scheduler = InProcessScheduler()
    assert scheduler.run_due() == []
    # A message whose send failed sits unsent until the relay runs.
    with database.session() as session:
        session.add(
            OutboxMessage(
                task="tests.leave_trace", payload={"marker": "late"}, created_at=clock.now(), attempts=1
            )
        )
    clock.advance(BEAT_SCHEDULE["outbox-relay"]["schedule"] + timedelta(seconds=1))
    assert scheduler.run_due() == ["outbox-relay"]
    with database.session() as session:
        assert session.scalars(select(OutboxMessage.sent_at)).one() is not None
        actions = [e.details for e in session.scalars(select(AuditEntry))]
    assert actions == [{"marker": "late"}]
    clock.advance(timedelta(days=1))
    assert "audit-verify" in scheduler.run_due()


def test_audit_verify_task_logs_a_broken_chain(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    with database.session() as session:
        audit.record(session, actor="a", action=TRACE_ACTION, object_type="x", object_id="1")
    assert audit_verify.apply().get() is True
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_head SET seq = 5"))
    assert audit_verify.apply().get() is False
    assert "audit chain broken" in caplog.text


def test_audit_checkpoint_task_appends_the_head_and_refuses_a_broken_chain(
    settings: Settings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with database.session() as session:
        audit.record(session, actor="a", action=TRACE_ACTION, object_type="x", object_id="1")
    assert audit_checkpoint.apply().get() == 1
    path = settings.audit_checkpoint_file
    assert path is not None
    assert len(path.read_text().splitlines()) == 1
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_head SET seq = 5"))
    assert audit_checkpoint.apply().get() is None
    assert "not checkpointed" in caplog.text
    assert len(path.read_text().splitlines()) == 1


def test_checkpoint_is_on_the_schedule(database: Database) -> None:
    clock.set(datetime(2029, 5, 2, 2, 0, tzinfo=UTC))
    scheduler = InProcessScheduler()
    clock.advance(timedelta(hours=1, minutes=1))
    assert "audit-checkpoint" in scheduler.run_due()
