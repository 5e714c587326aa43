"""The transactional outbox: work for Celery is written in the caller's transaction, sent after commit.

A rollback removes the message with the change, so nothing is sent; a commit keeps it, and it is
sent right after the commit and, should that fail (broker down, process killed), by the periodic
``core.outbox_relay`` task. Delivery is at least once: every task must be idempotent, and gets
the message id as its Celery task id to make that easy.

Without a broker (the embedded default) the tasks run in this process, right after the commit, in
the committing thread; but a task declared long (``@celery_app.task(..., background=True)``: an
extract's steps) that an HTTP request asked for goes to one background thread, so that the request
answers at once (:class:`DeferLongWork` marks the requests). A message counts as sent only once its
task has run, so work a stopped process never ran is run again by the periodic relay.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from hdab.core import clock
from hdab.core.audit import canonical_json
from hdab.core.celery_app import celery_app, is_eager
from hdab.core.db import SQLITE_BEGIN, after_commit, promised_work
from hdab.core.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
# messages being run in this process now: two relays of this process never run the same message
_running: set[uuid.UUID] = set()
_running_lock = threading.Lock()


class UnknownTask(ValueError):
    """The outbox was asked to send work to a task nobody registered."""


def enqueue(session: Session, task: str, payload: Mapping[str, Any]) -> OutboxMessage:
    """Write work for ``task`` into the caller's transaction; it is sent once the transaction commits."""
    if task not in celery_app.tasks:
        raise UnknownTask(f"no Celery task is registered under the name {task!r}")
    canonical_json(payload)  # refuses what JSON cannot carry, before anything is written
    message = OutboxMessage(
        id=uuid.uuid4(), task=task, payload=dict(payload), created_at=clock.now(), attempts=0
    )
    session.add(message)
    session.flush()
    after_commit(session, _after_commit, (message.id, _is_long(task)))
    return message


def _is_long(task: str) -> bool:
    """Whether in-process runs of ``task`` go to the background thread (the task says ``background=True``)."""
    return bool(getattr(celery_app.tasks[task], "background", False))


def _send(message: OutboxMessage) -> None:
    celery_app.send_task(
        message.task,
        kwargs=message.payload,
        task_id=str(message.id),
        retry=True,
        retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
    )


def _run_in_process(message_id: uuid.UUID, task: str, payload: dict[str, Any]) -> None:
    result = celery_app.tasks[task].apply(kwargs=payload, task_id=str(message_id))
    if result.failed():
        raise RuntimeError(f"task {task} failed: {type(result.result).__name__}")


def _writing(engine: Engine) -> Engine:
    """``engine`` for a transaction that writes: on SQLite it queues for the write lock from its BEGIN.

    A SQLite transaction begun DEFERRED that then writes waits for the lock by polling, behind
    every writer that queued properly; under load it waited out the busy timeout and failed, and
    a message whose task had run was left unsent (and run again by the periodic relay).
    """
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


def _record_failure(engine: Engine, message_id: uuid.UUID, exc: BaseException) -> None:
    with promised_work(), Session(_writing(engine)) as session, session.begin():
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                attempts=OutboxMessage.attempts + 1,
                last_error=f"{type(exc).__name__}: {exc}"[:1000],
            )
        )


def relay(engine: Engine, ids: Iterable[uuid.UUID] | None = None, limit: int = 500) -> int:
    """Send unsent messages (those named, or the oldest); returns how many were sent."""
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    with Session(engine) as session:
        candidates = list(session.scalars(query))
    sent = 0
    for message_id in candidates:
        try:
            if is_eager():
                with promised_work():
                    sent += _relay_in_process(engine, message_id)
            else:
                sent += _relay_to_broker(engine, message_id)
        except Exception as exc:
            log.warning("outbox message %s not delivered: %s", message_id, type(exc).__name__)
            _record_failure(engine, message_id, exc)
    return sent


def _relay_to_broker(engine: Engine, message_id: uuid.UUID) -> int:
    # Send, then mark sent, in one transaction holding the row: a crash in between sends the
    # message again later (at least once), never not at all.
    with Session(_writing(engine)) as session, session.begin():
        query = select(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        message = session.scalars(query).one_or_none()
        if message is None:
            return 0
        _send(message)
        message.sent_at = clock.now()
        message.attempts += 1
    return 1


def _relay_in_process(engine: Engine, message_id: uuid.UUID) -> int:
    # In-process tasks open their own transactions, so no transaction of ours may stay open
    # while one runs (SQLite would refuse our later write). A message another thread of this
    # process is running now is left to it. The commit that wrote the message promised this
    # work: on SQLite its transactions go before new requests' (db.promised_work), or a busy
    # server would leave it waiting ever longer behind them.
    with _running_lock:
        if message_id in _running:
            return 0
        _running.add(message_id)
    try:
        with Session(engine) as session:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.sent_at is not None:
                return 0
            task, payload = message.task, dict(message.payload)
        _run_in_process(message_id, task, payload)
        with Session(_writing(engine)) as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(sent_at=clock.now(), attempts=OutboxMessage.attempts + 1)
            )
    finally:
        with _running_lock:
            _running.discard(message_id)
    return 1


_local = threading.local()


class _Background:
    """The embedded default's worker: one thread running long in-process work after its commit."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Engine, list[uuid.UUID]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unfinished = 0
        self._thread: threading.Thread | None = None

    def is_current(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, engine: Engine, message_ids: list[uuid.UUID]) -> None:
        with self._lock:
            self._unfinished += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hdab-background", daemon=True)
                self._thread.start()
        self._queue.put((engine, message_ids))

    def _run(self) -> None:
        while True:
            engine, message_ids = self._queue.get()
            try:
                _relay_in_order(engine, message_ids)  # and the work these tasks enqueue, in turn
            finally:
                with self._lock:
                    self._unfinished -= 1
                    self._idle.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the work handed to the thread so far has run; False if ``timeout`` passed first."""
        with self._lock:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)


_background = _Background()
# True while an HTTP request is handled (its worker threads copy the request's context)
_in_request: ContextVar[bool] = ContextVar("hdab_outbox_in_request", default=False)


class DeferLongWork:
    """ASGI middleware: long in-process work a request asks for runs after it, in the background thread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _in_request.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            _in_request.reset(token)


def wait_for_background(timeout: float | None = None) -> bool:
    """Block until the work handed to the background thread so far has run (tests use it)."""
    return _background.wait(timeout)


def _after_commit(session: Session, pending: list[tuple[uuid.UUID, bool]]) -> None:
    """Send what the committed transaction enqueued: (message id, long work) in order."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if is_eager():
        # Long work a request asked for leaves the request, which answers at once. Anywhere else
        # (the background thread, the scheduler's, a command) it runs here, behind what is running.
        defer = _in_request.get() and not _background.is_current()
        inline = [message_id for message_id, long in pending if not (long and defer)]
        if inline:
            _relay_in_order(engine, inline)
        later = [message_id for message_id, long in pending if long and defer]
        if later:
            _background.submit(engine, later)
        return
    try:
        relay(engine, [message_id for message_id, _long in pending])
    except Exception:  # the commit stands; the periodic relay sends what is left
        log.exception("outbox relay after commit failed")


def _relay_in_order(engine: Engine, pending: list[uuid.UUID]) -> None:
    """Run in-process work one message after another, never nested.

    Work that a task enqueues is queued behind it and run when it returns, by the outermost relay
    of this thread, so a long chain of tasks (an extract's steps, one after another) needs no
    deeper stack than one task.
    """
    queue: deque[tuple[Engine, uuid.UUID]] | None = getattr(_local, "queue", None)
    if queue is not None:
        queue.extend((engine, message_id) for message_id in pending)
        return
    queue = _local.queue = deque((engine, message_id) for message_id in pending)
    try:
        while queue:
            target, message_id = queue.popleft()
            try:
                relay(target, [message_id])
            except Exception:  # the commit stands; the periodic relay sends what is left
                log.exception("outbox relay after commit failed")
    finally:
        _local.queue = None
