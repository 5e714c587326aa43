"""The transactional outbox: a rollback sends nothing, a commit never loses a message.

In-process (no broker) here; tests/core/test_worker.py does the same through Redis and a real worker.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from hdab.core import audit, outbox
from hdab.core.db import Database
from hdab.core.models import AuditEntry, OutboxMessage
from hdab.core.tasks import outbox_relay
from tests.support.tasks import TRACE_ACTION


def traces(database: Database) -> list[AuditEntry]:
    with database.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == TRACE_ACTION)))


def messages(database: Database) -> list[OutboxMessage]:
    with database.session() as session:
        return list(session.scalars(select(OutboxMessage)))


def test_commit_sends_the_message_once(database: Database) -> None:
    with database.session() as session:
        message = outbox.enqueue(session, "tests.leave_trace", {"marker": "committed"})
    ran = traces(database)
    assert [t.details["marker"] for t in ran] == ["committed"]
    assert ran[0].object_id == str(message.id)  # the message id is the task id
    [stored] = messages(database)
    assert isinstance(stored.sent_at, datetime)
    assert outbox.relay(database.engine) == 0  # nothing left to send: not sent twice
    assert len(traces(database)) == 1


def test_rollback_sends_nothing(database: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": "rolled back"})
        raise Boom
    assert traces(database) == []
    assert messages(database) == []
    assert outbox.relay(database.engine) == 0


def test_failed_task_is_kept_and_retried(database: Database) -> None:
    with database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": "m", "fail": True})
    [stored] = messages(database)
    assert stored.sent_at is None
    assert stored.attempts == 1
    assert "failed" in (stored.last_error or "")
    # Fix the cause (here: the payload) and the periodic relay delivers it.
    with database.session() as session:
        row = session.get(OutboxMessage, stored.id)
        assert row is not None
        row.payload = {"marker": "m"}
    assert outbox_relay.apply().get() == 1
    assert [t.details["marker"] for t in traces(database)] == ["m"]


def test_unknown_task_and_unserialisable_payload_are_refused(database: Database) -> None:
    with pytest.raises(outbox.UnknownTask), database.session() as session:
        outbox.enqueue(session, "no.such.task", {})
    with pytest.raises(ValueError), database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": float("nan")})
    with pytest.raises(TypeError), database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": object()})
    assert messages(database) == []


def test_message_and_audit_entry_share_the_transaction(database: Database) -> None:
    with database.session() as session:
        audit.record(session, actor="a", action="permit.issued", object_type="permit", object_id="p")
        outbox.enqueue(session, "tests.leave_trace", {"marker": "after permit"})
    with database.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert actions == ["permit.issued", TRACE_ACTION]
        assert audit.verify(session).ok
