"""Test fixtures: the same tests run on SQLite always and on PostgreSQL and Redis when configured.

``HDAB_TEST_DATABASE_URL`` (PostgreSQL) and ``HDAB_TEST_BROKER_URL`` (Redis, a database number of
its own: the tests flush it) add the real services; ``HDAB_REQUIRE_SERVICES=1`` turns a missing
service or reference folder into a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from hdab.app import create_app
from hdab.core import clock, migrate, outbox, runtime
from hdab.core.db import Database
from hdab.core.settings import Settings
from hdab.models import metadata
from tests.support import backends, seeding

# A property test's examples are timed against Hypothesis's deadline (200 ms by default), which
# measures the machine's load as much as the code: on a loaded 2-core runner an example that is slow
# once (the holiday calendar of a year built on first use, a first import) fails at random. No
# property test here has a deadline, nor a too-slow check on generating its data; each bounds its
# work by its number of examples.
hypothesis_settings.register_profile("hdab", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("hdab")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [_backend_line()]


def _backend_line() -> str:
    databases = "sqlite" + (
        f" + postgresql ({backends.redacted(backends.TEST_DATABASE_URL)})"
        if backends.TEST_DATABASE_URL
        else ""
    )
    broker = (
        f"redis ({backends.redacted(backends.TEST_BROKER_URL)}) + in-process"
        if backends.TEST_BROKER_URL
        else "in-process only"
    )
    reference = str(backends.REFERENCE_DIR) if backends.REFERENCE_DIR is not None else "missing"
    required = "required" if backends.REQUIRE_SERVICES else "optional"
    return f"hdab backends: database={databases}; broker={broker}; reference={reference}; services {required}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(_backend_line())


def pytest_sessionstart(session: pytest.Session) -> None:
    if backends.REQUIRE_SERVICES and backends.REFERENCE_DIR is None:
        raise pytest.UsageError(
            "HDAB_REQUIRE_SERVICES=1 but the official shapes and vocabularies are missing: "
            + backends.HOW_TO_GET_SHAPES
        )


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def shapes() -> Path:
    """For tests whose outcome depends on validation with the official shapes (the service's
    settings name the same folder): skip saying how to get them, or fail under HDAB_REQUIRE_SERVICES=1."""
    return backends.reference()


# --- databases ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "hdab.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not backends.TEST_DATABASE_URL:
        backends.missing("PostgreSQL (HDAB_TEST_DATABASE_URL)")
    url = backends.create_postgres_database()
    migrate.upgrade(url)
    yield url
    backends.drop_postgres_database(url)


def _truncate_postgres(database: Database) -> None:
    tables = ", ".join(t.name for t in metadata.sorted_tables if t.name != "audit_head")
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text(f"UPDATE audit_head SET seq = 0, hash = '{'0' * 64}'"))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "hdab.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    """Test settings on the parametrised database, tasks in-process; installed for the process."""
    current = backends.make_settings(tmp_path / "data", database_url)
    runtime.configure(current)
    yield current
    assert outbox.wait_for_background(120), "in-process background work still running after 120 s"
    if not current.uses_sqlite:
        _truncate_postgres(runtime.database())
    runtime.database().dispose()


@pytest.fixture
def database(settings: Settings) -> Database:
    return runtime.database()


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_template: Path) -> Iterator[Settings]:
    """For tests that need a database but no backend parametrisation."""
    target = tmp_path / "hdab.db"
    shutil.copy(sqlite_template, target)
    current = backends.make_settings(tmp_path / "data", f"sqlite:///{target}")
    runtime.configure(current)
    yield current
    assert outbox.wait_for_background(120), "in-process background work still running after 120 s"
    runtime.database().dispose()


# --- the catalogue seed and the app -------------------------------------------------------------


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    """The parametrised database with the catalogue seed loaded (a copy of this run's seeded
    template, see tests/support/seeding.py)."""
    seeding.seed_catalogue(settings)
    return settings


@pytest.fixture
def client_settings(seeded: Settings) -> Settings:
    """What the ``client`` fixture's app runs on: the seeded catalogue, unless a folder's conftest
    says otherwise."""
    return seeded


@pytest.fixture
def client(client_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(client_settings), raise_server_exceptions=False) as client:
        yield client
