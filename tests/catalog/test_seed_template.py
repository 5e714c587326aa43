"""The tests' copy of the catalogue seed (tests/support/seeding.py) is what a fresh seed leaves."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hdab.catalog import service
from hdab.core import audit, runtime
from hdab.core.db import Database
from hdab.core.settings import Settings
from tests.conftest import _truncate_postgres
from tests.support import seeding

# Columns that differ between any two seeds: when they ran, and the audit MACs over those times.
_TIMED = {"hash", "prev_hash"}
_SQLITE_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")  # SQLite hands times back as text


def _contents(database: Database) -> dict[str, Any]:
    """Every table's rows, with times and generated identifiers blanked; PostgreSQL's sequences."""

    def plain(name: str, value: object) -> object:
        if isinstance(value, datetime | date) or name in _TIMED:
            return "<time>"
        if isinstance(value, str) and _SQLITE_TIME.fullmatch(value[:19]):
            return "<time>"
        if isinstance(value, uuid.UUID) or (name == "id" and isinstance(value, str) and len(value) == 32):
            return "<uuid>"
        return value

    contents: dict[str, Any] = {}
    with database.engine.connect() as connection:
        for table in seeding.tables(connection):
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).mappings()
            contents[table] = sorted(repr(sorted((k, plain(k, v)) for k, v in row.items())) for row in rows)
        if connection.dialect.name == "postgresql":
            query = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
            contents["sequences"] = sorted(map(tuple, connection.execute(text(query))))
    return contents


def _empty(database: Database, request: pytest.FixtureRequest) -> None:
    """Back to the migrated, empty database the test began with."""
    if database.dialect == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, seeding.sqlite_file(database))
    else:
        _truncate_postgres(database)


def test_a_copy_of_the_seed_equals_a_fresh_seed_and_its_audit_chain_verifies(
    seeded: Settings, request: pytest.FixtureRequest
) -> None:
    database = runtime.database()
    _empty(database, request)
    seeding.seed_catalogue(seeded)  # the fixture's seed left a template: this is a copy of it
    assert seeding.has_template(seeded)
    with database.session() as session:
        assert audit.verify(session).ok
    copied = _contents(database)

    _empty(database, request)
    with database.session() as session:
        service.seed(session, seeded, audit.SYSTEM_ACTOR)

    assert copied == _contents(database)
