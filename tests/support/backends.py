"""Which real services the test run may use, from HDAB_TEST_* variables."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hdab.core.settings import REPOSITORY_ROOT, Settings

TEST_DATABASE_URL = os.environ.get("HDAB_TEST_DATABASE_URL", "")
TEST_BROKER_URL = os.environ.get("HDAB_TEST_BROKER_URL", "")
REQUIRE_SERVICES = os.environ.get("HDAB_REQUIRE_SERVICES", "") == "1"
REFERENCE_DIR = Path(
    os.environ.get("HDAB_REFERENCE_DIR", str(REPOSITORY_ROOT.parent / "shared" / "reference"))
)


def missing(what: str) -> None:
    """Skip, or fail when HDAB_REQUIRE_SERVICES=1 says every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (HDAB_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not configured")


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True) if url else "-"


def _psycopg(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def create_postgres_database() -> str:
    """A fresh database beside HDAB_TEST_DATABASE_URL for this run; returns its URL."""
    server = make_url(TEST_DATABASE_URL)
    name = f"hdab_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(_psycopg(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(_psycopg(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def make_settings(data_dir: Path, database_url: str, broker_url: str = "", **extra: object) -> Settings:
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        broker_url=broker_url,
        reference_dir=REFERENCE_DIR,
        **extra,  # type: ignore[arg-type]
    )
