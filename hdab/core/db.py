"""Database: the declarative base, column types shared by every domain, engine and session scopes.

The edge owns the transaction: a request dependency or a task's :meth:`Database.session` scope
commits on success and rolls back on error. Services and repositories never commit.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every ORM table; every domain's models share this metadata and its migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant stored in UTC; SQLite (which keeps no zone) gives it back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


BUSY_TIMEOUT_SECONDS = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the one writer, and
    # the busy timeout makes a second writer wait for the lock instead of failing at once.
    # synchronous=NORMAL (SQLite's advice for WAL): a commit no longer waits for the disk (fsync)
    # while holding the one write lock; a committed transaction survives a crash of the process,
    # and a power cut can lose the last transactions but never corrupt the file. What must
    # survive a power cut calls sync_to_disk() first (the audit checkpoint does).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    cursor.close()


# SQLite's one writer at a time: a transaction that reads first and writes later cannot take the
# write lock once another transaction has written since its first read ("database is locked" at
# once, whatever the busy timeout). A transaction that may write therefore takes the write lock at
# BEGIN (IMMEDIATE), waiting its turn, and then reads what is current. Read-only units of work say
# so (``write=False``) and begin DEFERRED: they never wait for writers.
SQLITE_BEGIN = "hdab_sqlite_begin"


class WriterQueue:
    """The writers of one SQLite file in this process, served one at a time in the order they came.

    SQLite's own wait for the write lock (the busy timeout) is a poll: a waiting writer sleeps
    1, 2, 5 ... up to 100 ms between tries, and whoever tries at the right moment wins. Under load
    that makes some writers wait for seconds while later ones pass them, and a writer that waited
    the whole busy timeout fails (what left outbox messages undelivered). Writers of this process
    queue here instead, before their ``BEGIN IMMEDIATE``: first come, first served, and the next
    one starts the moment the last one commits. Work already promised by a commit (the outbox's
    in-process tasks, see :func:`promised_work`) goes before new requests, in its own order, so
    that it keeps up with them under load. Other processes (a CLI command) still meet the busy
    timeout.
    """

    def __init__(self) -> None:
        self.empty()

    def empty(self) -> None:
        """No writer and none waiting (a forked child's state; the parent's threads are not its own)."""
        self._mutex = threading.Lock()
        self._held = False
        self._promised: deque[threading.Lock] = deque()
        self._waiting: deque[threading.Lock] = deque()

    def acquire(self, timeout: float, *, promised: bool = False) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            (self._promised if promised else self._waiting).append(turn)
        if turn.acquire(timeout=timeout):
            return True  # the writer before handed its place over
        with self._mutex:
            for line in (self._promised, self._waiting):
                if turn in line:
                    line.remove(turn)
                    return False
            return True  # handed over just as the wait ended

    def release(self) -> None:
        with self._mutex:
            if self._promised:
                self._promised.popleft().release()  # the place passes on; it stays held
            elif self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False

    def waiting(self) -> int:
        with self._mutex:
            return len(self._promised) + len(self._waiting)


_promised: ContextVar[bool] = ContextVar("hdab_promised_work", default=False)


@contextmanager
def promised_work() -> Iterator[None]:
    """SQLite transactions begun inside go before new requests' (work a commit already promised)."""
    token = _promised.set(True)
    try:
        yield
    finally:
        _promised.reset(token)


_writer_queues: dict[str, WriterQueue] = {}
_writer_queues_lock = threading.Lock()


def _empty_writer_queues() -> None:
    # a forked child starts with no writer of its own, whatever its parent's threads held
    global _writer_queues_lock
    _writer_queues_lock = threading.Lock()
    for queue in _writer_queues.values():
        queue.empty()


os.register_at_fork(after_in_child=_empty_writer_queues)


def writer_queue(database: str) -> WriterQueue:
    """The one queue of this process for the SQLite file ``database``."""
    with _writer_queues_lock:
        return _writer_queues.setdefault(database, WriterQueue())


class _QueuedConnection(sqlite3.Connection):
    """A SQLite connection that leaves the writer queue when its transaction ends, however it ends."""

    writers: WriterQueue | None = None  # the queue of this connection's file (set when it connects)
    writing = False  # this connection's transaction holds the queue's place

    def _leave(self) -> None:
        if self.writing and self.writers is not None:
            self.writing = False
            self.writers.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()


def _sqlite_begin(connection: Any) -> None:
    # pysqlite starts transactions lazily and in its own way; emitting BEGIN ourselves makes
    # SQLAlchemy's transaction the database's transaction (SQLAlchemy's documented recipe).
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    raw = connection.connection.dbapi_connection
    if mode != "DEFERRED" and isinstance(raw, _QueuedConnection) and raw.writers and not raw.writing:
        if not raw.writers.acquire(BUSY_TIMEOUT_SECONDS, promised=_promised.get()):
            raise OperationalError(
                f"BEGIN {mode}", {}, sqlite3.OperationalError("database is locked (writer queue)")
            )
        raw.writing = True
    try:
        connection.exec_driver_sql(f"BEGIN {mode}")
    except BaseException:
        if isinstance(raw, _QueuedConnection):
            raw._leave()
        raise


def make_engine(url: str, *, pool: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets the pragmas and transaction handling it needs."""
    if url.startswith("sqlite"):
        # A pool of connections (each set up once by the connect hook) rather than one per session.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "factory": _QueuedConnection},
            pool_size=8,
            max_overflow=16,
            pool_pre_ping=False,
        )
        name = engine.url.database
        writers = writer_queue(
            os.path.realpath(name) if name and name != ":memory:" else f":memory:{id(engine)}"
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None
            if isinstance(dbapi_connection, _QueuedConnection):
                dbapi_connection.writers = writers
            _sqlite_pragmas(dbapi_connection, record)

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if not pool:
        kwargs = {"poolclass": NullPool}
    return create_engine(url, **kwargs)


def sync_to_disk(engine: Engine) -> None:
    """Make every transaction committed so far survive a power cut (SQLite; PostgreSQL always does).

    With ``synchronous=NORMAL`` a SQLite commit is in the write-ahead log but not yet on the disk:
    syncing the log (and the database file, which a WAL checkpoint writes) makes it so.
    """
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:":
        return
    for path in (name, f"{name}-wal"):
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class Database:
    """An engine with its session factory."""

    def __init__(self, url: str, *, pool: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, pool=pool)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        self.write_sessionmaker = sessionmaker(writer, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: commit when the block ends normally, roll back when it raises.

        On SQLite a unit that may write (the default) holds the write lock from its start, so
        concurrent writers queue instead of failing; ``write=False`` for one that only reads.
        """
        session = (self.write_sessionmaker if write else self.sessionmaker)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


# Work that must follow a commit and never a rollback (sending the outbox, removing an ended job's
# files): gathered in the session, per handler, and handed over once the transaction commits.
_AFTER_COMMIT = "hdab.after_commit"
AfterCommit = Callable[[Session, list[Any]], None]


def after_commit(session: Session, handler: AfterCommit, item: Any) -> None:
    """Hand ``item`` to ``handler`` once ``session``'s transaction commits; a rollback drops it.

    One commit calls each handler once, with all its items in the order given; handlers run in
    the order they were first named in the transaction. An item given inside a savepoint is
    dropped when that savepoint rolls back; what was given before the savepoint stays.
    """
    savepoints: list[SessionTransaction] = []
    transaction = session.get_nested_transaction()
    while transaction is not None:
        if transaction.nested:
            savepoints.append(transaction)
        transaction = transaction.parent
    session.info.setdefault(_AFTER_COMMIT, {}).setdefault(handler, []).append((item, tuple(savepoints)))


def _run_after_commit(session: Session) -> None:
    pending: dict[AfterCommit, list[tuple[Any, tuple[SessionTransaction, ...]]]] = session.info.pop(
        _AFTER_COMMIT, {}
    )
    for handler, items in pending.items():
        if items:
            handler(session, [item for item, _savepoints in items])


def _drop_rolled_back(session: Session, transaction: SessionTransaction) -> None:
    # ``after_rollback`` fires for a savepoint's rollback too; dropping everything there would
    # leave what was enqueued before the savepoint to the periodic relay (a delayed message).
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)
        return
    pending = session.info.get(_AFTER_COMMIT, {})
    for handler, items in pending.items():
        pending[handler] = [(item, savepoints) for item, savepoints in items if transaction not in savepoints]


if not event.contains(Session, "after_commit", _run_after_commit):
    event.listen(Session, "after_commit", _run_after_commit)
    event.listen(Session, "after_soft_rollback", _drop_rolled_back)
