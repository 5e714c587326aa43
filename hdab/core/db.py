"""Database: the declarative base, column types shared by every domain, engine and session scopes.

The edge owns the transaction: a request dependency or a task's :meth:`Database.session` scope
commits on success and rolls back on error. Services and repositories never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the one writer, and
    # the busy timeout makes a second writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# SQLite's one writer at a time: a transaction that reads first and writes later cannot take the
# write lock once another transaction has written since its first read ("database is locked" at
# once, whatever the busy timeout). A transaction that may write therefore takes the write lock at
# BEGIN (IMMEDIATE), waiting its turn behind the busy timeout, and then reads what is current.
# Read-only units of work say so (``write=False``) and begin DEFERRED: they never wait for writers.
SQLITE_BEGIN = "hdab_sqlite_begin"


def _sqlite_begin(connection: Any) -> None:
    # pysqlite starts transactions lazily and in its own way; emitting BEGIN ourselves makes
    # SQLAlchemy's transaction the database's transaction (SQLAlchemy's documented recipe).
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, pool: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets the pragmas and transaction handling it needs."""
    if url.startswith("sqlite"):
        # A pool of connections (each set up once by the connect hook) rather than one per session.
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=8, max_overflow=16, pool_pre_ping=False
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None
            _sqlite_pragmas(dbapi_connection, record)

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if not pool:
        kwargs = {"poolclass": NullPool}
    return create_engine(url, **kwargs)


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
    the order they were first named in the transaction.
    """
    session.info.setdefault(_AFTER_COMMIT, {}).setdefault(handler, []).append(item)


def _run_after_commit(session: Session) -> None:
    pending: dict[AfterCommit, list[Any]] = session.info.pop(_AFTER_COMMIT, {})
    for handler, items in pending.items():
        handler(session, items)


def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


if not event.contains(Session, "after_commit", _run_after_commit):
    event.listen(Session, "after_commit", _run_after_commit)
    event.listen(Session, "after_rollback", _drop_after_rollback)
