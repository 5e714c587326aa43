"""The catalogue seed, made once per test session and copied into each test's database.

``service.seed`` checks the whole seed against the official SHACL shapes: seconds of setup in every
test that wants the datasets. Here the first test that asks for the seed on a configuration runs it
for real, on its fresh database, and that database is kept as the template: on SQLite a copy of the
file, on PostgreSQL a copy of the seeded tables in a schema of their own beside them (plus where
their sequences stood). Later tests on the same configuration get a copy of the template instead of
a new seed. Restoring rows after the TRUNCATE measured faster than ``CREATE DATABASE ... TEMPLATE``
per test, and keeps one database URL for the whole run.

Everything the seed writes lives in the database: the datasets and their versions, the audit
entries with the chain's head, the outbox messages (already sent: their index tasks ran in-process
at commit), and the embedded search index with its state. An OpenSearch index lives outside: after
a copy it is filled again from the copied datasets, one dataset at a time as the seed's outbox does.

A copy is as a fresh seed would leave the database, except that its timestamps are those of the
first seed in this run. The template is therefore used only under the system clock, and a new one
is made when the day in Oslo changes (the search documents depend on the date).
"""

from __future__ import annotations

import graphlib
import itertools
import sqlite3
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from hdab.catalog import repository, service
from hdab.catalog.search import sync
from hdab.catalog.validation import shapes_root
from hdab.core import audit, clock, outbox, runtime
from hdab.core.db import Database
from hdab.core.models import GENESIS_HASH
from hdab.core.settings import Settings

# The rows a database holds as migrated (a TRUNCATE between tests may also have emptied the last
# two): per table, what each of its rows satisfies then.
_AS_MIGRATED = {
    "alembic_version": "true",
    "audit_head": f"seq = 0 AND hash = '{GENESIS_HASH}'",
    "search_generation": "generation = 0",
}


@dataclass(frozen=True)
class _Configuration:
    """What the seed's result depends on besides the clock."""

    database: str  # "sqlite" (one template for every test's file), or the PostgreSQL URL
    env: str
    base_url: str
    secret_key: str
    audit_mac_key: str
    shapes: str
    opensearch: bool
    day: date


@dataclass(frozen=True)
class _SqliteTemplate:
    path: Path

    def restore(self, database: Database) -> None:
        _copy_sqlite(self.path, sqlite_file(database))


@dataclass(frozen=True)
class _PostgresTemplate:
    schema: str
    tables: tuple[str, ...]  # in an order that inserts parents before children
    sequences: tuple[tuple[str, int], ...]

    def restore(self, database: Database) -> None:
        with database.engine.begin() as connection:
            for table in reversed(self.tables):  # the migration's rows (the database is fresh)
                connection.execute(text(f'DELETE FROM "{table}"'))
            for table in self.tables:
                connection.execute(text(f'INSERT INTO "{table}" SELECT * FROM "{self.schema}"."{table}"'))
            for sequence, value in self.sequences:
                connection.execute(
                    text("SELECT setval(CAST(:s AS regclass), :v, true)"), {"s": f'"{sequence}"', "v": value}
                )


_Template = _SqliteTemplate | _PostgresTemplate


@dataclass
class _Templates:
    made: dict[_Configuration, _Template] = field(default_factory=dict)
    folder: tempfile.TemporaryDirectory[str] | None = None  # removed when the test process ends
    names: itertools.count[int] = field(default_factory=itertools.count)

    def sqlite_file(self) -> Path:
        if self.folder is None:
            self.folder = tempfile.TemporaryDirectory(prefix="hdab-seed-")
        return Path(self.folder.name) / f"seeded-{next(self.names)}.db"


_templates = _Templates()


def seed_catalogue(settings: Settings) -> None:
    """Load the catalogue seed into the configured database (``settings`` installed in ``runtime``),
    as ``service.seed`` would: by copying this run's template when there is one for the settings."""
    database = runtime.database()
    configuration = _configuration(settings)
    fresh = configuration is not None and _is_fresh(database)
    template = _templates.made.get(configuration) if fresh and configuration is not None else None
    if template is not None:
        template.restore(database)
        if settings.search_url:
            _fill_search_index(database)
        return
    with database.session() as session:
        service.seed(session, settings, audit.SYSTEM_ACTOR)
    assert outbox.wait_for_background(120), "in-process background work still running after 120 s"
    if fresh and configuration is not None:
        _templates.made[configuration] = _keep(database)


def has_template(settings: Settings) -> bool:
    """Whether ``seed_catalogue`` would copy a template for ``settings`` (on a fresh database)."""
    configuration = _configuration(settings)
    return configuration is not None and configuration in _templates.made


def _configuration(settings: Settings) -> _Configuration | None:
    """The settings' configuration, or None when a copy could differ from a fresh seed."""
    if settings.broker_url:
        return None  # the seed's index tasks go to a worker, not run at commit
    system_time = time.time()  # noqa: TID251 - to tell whether a test set the clock
    if abs(clock.now().timestamp() - system_time) > 60:
        return None  # the test set the clock: its seed carries that time
    return _Configuration(
        database="sqlite" if settings.uses_sqlite else settings.database_url,
        env=str(settings.env),
        base_url=settings.base_url,
        secret_key=settings.secret_key,
        audit_mac_key=settings.audit_mac_key,
        shapes=str(shapes_root(settings)),
        opensearch=bool(settings.search_url),
        day=clock.now_oslo().date(),
    )


def _is_fresh(database: Database) -> bool:
    """Whether the database is as migrated: no rows beyond the migration's own, the chain unstarted."""
    with database.engine.connect() as connection:
        counts = " + ".join(
            f'(SELECT count(*) FROM "{t}" WHERE NOT ({_AS_MIGRATED.get(t, "false")}))'
            for t in tables(connection)
        )
        return connection.execute(text(f"SELECT {counts}")).scalar() == 0


def tables(connection: Connection) -> list[str]:
    """The database's tables (on SQLite without the shadow tables of full-text indexes)."""
    if connection.dialect.name == "sqlite":
        rows = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ).all()
        virtual = [name for name, sql in rows if sql.upper().startswith("CREATE VIRTUAL TABLE")]
        return [name for name, _ in rows if not any(name.startswith(f"{v}_") for v in virtual)]
    query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    return list(connection.execute(text(query)).scalars())


def _keep(database: Database) -> _Template:
    if database.dialect == "sqlite":
        path = _templates.sqlite_file()
        _copy_sqlite(sqlite_file(database), path)
        return _SqliteTemplate(path)
    schema = f"seed_template_{next(_templates.names)}"
    with database.engine.begin() as connection:
        filled = [
            t
            for t in tables(connection)
            if t != "alembic_version"
            and connection.execute(text(f'SELECT EXISTS (SELECT FROM "{t}")')).scalar()
        ]
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        for table in filled:
            connection.execute(text(f'CREATE TABLE "{schema}"."{table}" AS TABLE "{table}"'))
        return _PostgresTemplate(schema, _parents_first(connection, filled), _sequences(connection, filled))


def sqlite_file(database: Database) -> Path:
    """The file of a SQLite database, its pooled connections closed."""
    database.dispose()  # no pooled connection may hold pages the copy replaces
    name = make_url(database.url).database
    assert name is not None
    return Path(name)


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a whole SQLite database with its write-ahead log, by SQLite's online backup."""
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def _parents_first(connection: Connection, tables: list[str]) -> tuple[str, ...]:
    edges = connection.execute(
        text(
            "SELECT child.relname, parent.relname FROM pg_constraint f"
            " JOIN pg_class child ON child.oid = f.conrelid JOIN pg_class parent ON parent.oid = f.confrelid"
            " WHERE f.contype = 'f' AND f.connamespace = current_schema()::regnamespace"
        )
    ).all()
    graph: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in edges:
        if child in graph and parent in graph and child != parent:
            graph[child].add(parent)
    return tuple(graphlib.TopologicalSorter(graph).static_order())


def _sequences(connection: Connection, tables: list[str]) -> tuple[tuple[str, int], ...]:
    """Where the sequences owned by ``tables`` stand (a TRUNCATE ... RESTART IDENTITY resets them)."""
    rows = connection.execute(
        text(
            "SELECT s.relname, t.relname, q.last_value FROM pg_class s"
            " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
            " JOIN pg_class t ON t.oid = d.refobjid"
            " JOIN pg_sequences q ON q.schemaname = current_schema() AND q.sequencename = s.relname"
            " WHERE s.relkind = 'S' AND s.relnamespace = current_schema()::regnamespace"
        )
    ).all()
    return tuple(
        (sequence, value) for sequence, table, value in rows if table in tables and value is not None
    )


def _fill_search_index(database: Database) -> None:
    """Index each copied dataset in the configured (OpenSearch) backend, as the seed's outbox does."""
    with database.session() as session:
        identifiers = [row.identifier for row in session.scalars(repository.published())]
    for identifier in identifiers:
        sync.index_dataset(database, identifier)
