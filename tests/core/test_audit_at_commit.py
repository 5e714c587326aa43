"""Audit entries join the chain when their transaction commits: the head is held for the commit only.

What must still hold: the entries and the change commit or vanish together, concurrent writers
queue on the head so the chain never forks, a savepoint's rollback takes away what it recorded
(and nothing recorded before it), and a message enqueued before a rolled-back savepoint is still
sent at the commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from hdab.core import audit, outbox
from hdab.core.db import Database
from hdab.core.models import AuditEntry, AuditHead, OutboxMessage
from tests.core.test_sqlite_writers import at_once
from tests.support.tasks import TRACE_ACTION

WRITERS = 12


def entries(database: Database) -> list[AuditEntry]:
    with database.session(write=False) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_concurrent_transactions_each_append_their_entries_and_the_chain_never_forks(
    database: Database,
) -> None:
    def writer(number: int) -> Callable[[], int]:
        def work() -> int:
            with database.session() as session:
                for part in range(1 + number % 3):  # one to three entries, with work between
                    audit.record(
                        session, actor=f"w{number}", action="test.write", object_type="t", object_id=f"{part}"
                    )
                    time.sleep(0.002)
            return number

        return work

    assert at_once([writer(n) for n in range(WRITERS)]) == list(range(WRITERS))
    written = entries(database)
    assert [e.seq for e in written] == list(range(1, len(written) + 1))
    assert len(written) == sum(1 + n % 3 for n in range(WRITERS))
    # each transaction's entries are consecutive: it took its numbers at once, at its commit
    by_writer: dict[str, list[int]] = {}
    for entry in written:
        by_writer.setdefault(entry.actor, []).append(entry.seq)
    assert all(seqs == list(range(seqs[0], seqs[0] + len(seqs))) for seqs in by_writer.values())
    with database.session(write=False) as session:
        assert audit.verify(session).ok
        head = session.get(AuditHead, 1)
        assert head is not None and head.seq == len(written) and head.hash == written[-1].hash


def test_the_head_is_not_taken_before_the_commit(database: Database) -> None:
    """A transaction that recorded an entry and is still working does not hold up another's commit."""
    recorded, release = threading.Event(), threading.Event()

    def slow() -> None:
        with database.session() as session:
            audit.record(session, actor="slow", action="test.slow", object_type="t", object_id="1")
            recorded.set()
            assert release.wait(30)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert recorded.wait(30)
        started = time.monotonic()
        with database.session() as session:
            audit.record(session, actor="quick", action="test.quick", object_type="t", object_id="2")
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(30)
    if database.dialect == "sqlite":
        pytest.skip("SQLite has one writer: the second waits for the first whatever the audit does")
    assert waited < 5, "the second commit waited for the first transaction to end"
    assert [e.actor for e in entries(database)] == ["quick", "slow"]  # numbered in commit order
    with database.session(write=False) as session:
        assert audit.verify(session).ok


def test_a_rolled_back_savepoint_takes_its_entries_and_leaves_the_ones_before(database: Database) -> None:
    with database.session() as session:
        audit.record(session, actor="a", action="test.before", object_type="t", object_id="1")
        with pytest.raises(RuntimeError), session.begin_nested():
            audit.record(session, actor="a", action="test.inside", object_type="t", object_id="2")
            raise RuntimeError("refused")
        with session.begin_nested():
            audit.record(session, actor="a", action="test.kept", object_type="t", object_id="3")
        audit.record(session, actor="a", action="test.after", object_type="t", object_id="4")
    assert sorted(e.action for e in entries(database)) == ["test.after", "test.before", "test.kept"]
    with database.session(write=False) as session:
        assert audit.verify(session).ok


def test_a_rollback_writes_none_of_the_entries(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        audit.record(session, actor="a", action="test.lost", object_type="t", object_id="1")
        raise RuntimeError("refused")
    with database.session() as session:
        audit.record(session, actor="a", action="test.kept", object_type="t", object_id="2")
    assert [e.action for e in entries(database)] == ["test.kept"]


def test_a_message_enqueued_before_a_rolled_back_savepoint_is_sent_at_the_commit(database: Database) -> None:
    with database.session() as session:
        before = outbox.enqueue(session, "tests.leave_trace", {"marker": "before"})
        with pytest.raises(RuntimeError), session.begin_nested():
            outbox.enqueue(session, "tests.leave_trace", {"marker": "inside"})
            raise RuntimeError("refused")
    assert outbox.wait_for_background(60)
    with database.session(write=False) as session:
        [message] = session.scalars(select(OutboxMessage)).all()
        assert message.id == before.id and message.sent_at is not None and message.attempts == 1
        ran = session.scalars(select(AuditEntry.object_id).where(AuditEntry.action == TRACE_ACTION)).all()
        assert ran == [str(before.id)]
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
