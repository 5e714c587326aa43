"""The transactional outbox: work for Celery is written in the caller's transaction, sent after commit.

A rollback removes the message with the change, so nothing is sent; a commit keeps it, and it is
sent right after the commit and, should that fail (broker down, process killed), by the periodic
``core.outbox_relay`` task. Delivery is at least once: every task must be idempotent, and gets
the message id as its Celery task id to make that easy.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from hdab.core import clock
from hdab.core.audit import canonical_json
from hdab.core.celery_app import celery_app, is_eager
from hdab.core.models import OutboxMessage

log = logging.getLogger(__name__)

_PENDING = "hdab.outbox.pending"
MAX_ATTEMPTS = 20
_eager_lock = threading.RLock()  # a task run in-process may enqueue and relay more work


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
    session.info.setdefault(_PENDING, []).append(message.id)
    return message


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


def _record_failure(engine: Engine, message_id: uuid.UUID, exc: BaseException) -> None:
    with Session(engine) as session, session.begin():
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
    with Session(engine) as session, session.begin():
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
    # while one runs (SQLite would refuse our later write); a process lock keeps two relays of
    # this process from running the same message.
    with _eager_lock:
        with Session(engine) as session:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.sent_at is not None:
                return 0
            task, payload = message.task, dict(message.payload)
        _run_in_process(message_id, task, payload)
        with Session(engine) as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(sent_at=clock.now(), attempts=OutboxMessage.attempts + 1)
            )
    return 1


_local = threading.local()


def _after_commit(session: Session) -> None:
    pending: list[uuid.UUID] = session.info.pop(_PENDING, [])
    if not pending:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if is_eager():
        _relay_in_order(engine, pending)
        return
    try:
        relay(engine, pending)
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


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Hook the relay into every SQLAlchemy session (idempotent)."""
    from sqlalchemy import event

    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


install()
