"""Which real services the test run may use, from HDAB_TEST_* variables."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hdab.catalog.rdf.shacl import SHAPE_FILES, VOCABULARY_DIR
from hdab.core.settings import Settings

# The checkout the tests run from (the product never looks outside its installation; the tests may).
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

TEST_DATABASE_URL = os.environ.get("HDAB_TEST_DATABASE_URL", "")
TEST_BROKER_URL = os.environ.get("HDAB_TEST_BROKER_URL", "")
REQUIRE_SERVICES = os.environ.get("HDAB_REQUIRE_SERVICES", "") == "1"

# Where the official shapes and vocabularies come from, in this order: HDAB_REFERENCE_DIR; for the
# tests only, the team's ../shared/reference beside the checkout; else what `hdab catalog
# fetch-shapes` installed (HDAB_SHAPES_DIR, default {HDAB_DATA_DIR}/shapes of a `make run` here).
DEFAULT_REFERENCE_DIR = REPOSITORY_ROOT.parent / "shared" / "reference"
SHAPES = (*SHAPE_FILES, VOCABULARY_DIR)
HOW_TO_GET_SHAPES = (
    "set HDAB_REFERENCE_DIR to a folder laid out like the official reference, or run"
    " `.venv/bin/hdab catalog fetch-shapes` (needs the internet) to install them into var/shapes"
)

# The official example records come with a reference folder only (fetch-shapes installs no examples).
EXAMPLES = "dcat/examples/"
HOW_TO_GET_EXAMPLES = (
    "the official example records come with a reference folder only: set HDAB_REFERENCE_DIR to one"
    " laid out like the official reference (dcat/examples/...)"
)


def _holds(root: Path, needed: tuple[str, ...]) -> bool:
    return all((root / name).exists() for name in needed)


def _reference_candidates() -> list[tuple[str, Path]]:
    named = os.environ.get("HDAB_REFERENCE_DIR", "")
    if named:
        return [("HDAB_REFERENCE_DIR", Path(named))]
    data_dir = Path(os.environ.get("HDAB_DATA_DIR", "") or REPOSITORY_ROOT / "var")
    shapes_dir = Path(os.environ.get("HDAB_SHAPES_DIR", "") or data_dir / "shapes")
    return [("../shared/reference", DEFAULT_REFERENCE_DIR), ("HDAB_SHAPES_DIR", shapes_dir)]


def find_reference(*needed: str) -> Path | None:
    """The first reference folder that holds every ``needed`` path (default: the shapes and vocabularies)."""
    wanted = needed or SHAPES
    for _source, root in _reference_candidates():
        if _holds(root, wanted):
            return root
    return None


REFERENCE_DIR: Path | None = find_reference()


def reference(*needed: str) -> Path:
    """The reference folder holding ``needed`` (default: shapes and vocabularies), or skip saying how
    to get it. With HDAB_REQUIRE_SERVICES=1 a missing reference fails the test instead.
    """
    root = find_reference(*needed)
    if root is None:
        installable = not needed or all(not name.startswith(EXAMPLES) for name in needed)
        if not needed:
            what = "the official SHACL shapes and vocabularies"
        elif len(needed) > 3:
            what = f"{len(needed)} files of the official shapes and vocabularies"
        else:
            what = ", ".join(needed)
        tried = ", ".join(f"{source}={path}" for source, path in _reference_candidates())
        missing(f"{what} (looked in {tried})", HOW_TO_GET_SHAPES if installable else HOW_TO_GET_EXAMPLES)
    assert root is not None
    return root


def missing(what: str, how: str = "") -> None:
    """Skip (one line: what is missing and how to get it), or fail when HDAB_REQUIRE_SERVICES=1."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (HDAB_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available" + (f": {how}" if how else ""))


def reference_env() -> dict[str, str]:
    """HDAB_REFERENCE_DIR for a child process: the tests' reference folder, when there is one."""
    return {"HDAB_REFERENCE_DIR": str(REFERENCE_DIR)} if REFERENCE_DIR is not None else {}


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
