"""The outbox of the embedded SQLite default under concurrent requests: every message sent, each once.

Without a broker a message is sent by running its task in the process after the commit (long work
in the background thread) and then marking it sent. Under load those marks used to begin DEFERRED
and poll for SQLite's write lock behind the writers that queued properly: some waited out the busy
timeout, failed ("outbox message not delivered") and were left to the periodic relay, which ran
their task a second time. Here the busy timeout is short (2 s) so that a writer left to poll fails
quickly, no periodic relay runs, and every request writes an audited change and two messages.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hdab.app import create_app
from hdab.core import audit, db, outbox, runtime
from hdab.core.models import AuditEntry, OutboxMessage
from hdab.core.settings import Settings
from hdab.core.web import db_session
from tests.core.test_sqlite_writers import at_once
from tests.support.tasks import TRACE_ACTION

THREADS = 12
ROUNDS = 4


@pytest.fixture
def client(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(db, "BUSY_TIMEOUT_SECONDS", 2.0)
    runtime.configure(sqlite_settings)  # new connections take the shorter busy timeout
    app = create_app(sqlite_settings)

    @app.post("/test/outbox")
    def enqueue(session: Session = Depends(db_session, scope="function")) -> dict[str, Any]:
        # what a command does: an audited change and its messages, in one transaction
        audit.record(session, actor="test", action="test.enqueued", object_type="test", object_id="x")
        now = outbox.enqueue(session, "tests.leave_trace", {"marker": "inline"})
        later = outbox.enqueue(session, "tests.leave_trace_later", {"marker": "background"})
        return {"ids": [str(now.id), str(later.id)]}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_messages_written_by_concurrent_requests_are_each_sent_once(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hdab.core.outbox")

    def requester() -> Callable[[], list[int]]:
        def work() -> list[int]:
            return [client.post("/test/outbox").status_code for _ in range(ROUNDS)]

        return work

    assert at_once([requester() for _ in range(THREADS)]) == [[200] * ROUNDS] * THREADS
    assert outbox.wait_for_background(120)
    with runtime.database().session(write=False) as session:
        messages = list(session.scalars(select(OutboxMessage)))
        ran = Counter(
            entry.object_id
            for entry in session.scalars(select(AuditEntry).where(AuditEntry.action == TRACE_ACTION))
        )
        assert audit.verify(session).ok
    assert len(messages) == THREADS * ROUNDS * 2
    unsent = [m.id for m in messages if m.sent_at is None]
    assert unsent == [], f"{len(unsent)} messages were never sent"
    # sent by the relay after their commit, at the first attempt, never by a retry
    assert [(m.attempts, m.last_error) for m in messages] == [(1, None)] * len(messages)
    assert ran == Counter({str(m.id): 1 for m in messages})  # every task ran, each once
    assert not [r.getMessage() for r in caplog.records if r.name == "hdab.core.outbox"]


def test_the_writer_queue_serves_writers_one_at_a_time_in_the_order_they_came() -> None:
    queue = db.WriterQueue()
    order: list[int] = []
    inside = []
    assert queue.acquire(1)  # the first writer holds it while the others line up

    def writer(number: int) -> None:
        assert queue.acquire(10)
        inside.append(number)
        assert len(inside) == 1, "two writers at once"
        order.append(number)
        time.sleep(0.001)
        inside.remove(number)
        queue.release()

    threads = []
    for number in range(20):
        thread = threading.Thread(target=writer, args=(number,))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while queue.waiting() <= number and time.monotonic() < deadline:  # queued before the next
            time.sleep(0.001)
    queue.release()
    for thread in threads:
        thread.join(10)
    assert order == list(range(20))


def test_promised_work_goes_before_new_writers_in_its_own_order() -> None:
    queue = db.WriterQueue()
    order: list[str] = []
    assert queue.acquire(1)

    def writer(name: str, promised: bool) -> None:
        assert queue.acquire(10, promised=promised)
        order.append(name)
        queue.release()

    threads = []
    for name, promised in [("request-1", False), ("task-1", True), ("request-2", False), ("task-2", True)]:
        thread = threading.Thread(target=writer, args=(name, promised))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while queue.waiting() < len(threads) and time.monotonic() < deadline:
            time.sleep(0.001)
    queue.release()
    for thread in threads:
        thread.join(10)
    assert order == ["task-1", "task-2", "request-1", "request-2"]


def test_a_writer_that_cannot_get_its_turn_in_time_gives_up_and_leaves_the_queue() -> None:
    queue = db.WriterQueue()
    assert queue.acquire(1)
    assert not queue.acquire(0.05)
    assert not queue.acquire(0.05, promised=True)
    assert queue.waiting() == 0  # gave up: the next writer is not handed to a leaver
    queue.release()
    assert queue.acquire(0.05)  # free again
    queue.release()


def test_a_forked_child_starts_with_an_empty_writer_queue(tmp_path: Path) -> None:
    queue = db.writer_queue(str(tmp_path / "forked.db"))
    assert queue.acquire(1)  # held by this process's thread when the child is forked
    try:
        child = os.fork()
        if child == 0:  # the child: its writers must not wait for the parent's
            os._exit(0 if queue.acquire(0.5) else 1)
        _pid, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        queue.release()
