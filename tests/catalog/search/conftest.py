"""Search fixtures: the seeded catalogue behind each backend: SQLite, PostgreSQL and OpenSearch.

OpenSearch is the OpenSearch-compatible test server from PyPI (osmem-server), started once per
run; each test gets its own copy-on-write clone of it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hdab.app import create_app
from hdab.catalog import search as search_package
from hdab.core import runtime
from hdab.core.settings import Settings
from tests.support import backends, seeding


@pytest.fixture(scope="session")
def osmem() -> Iterator[object]:
    try:
        from osmem_server import OsmemServer
    except ImportError:
        backends.missing("OpenSearch test server (pip install osmem-server)")
    try:
        server = OsmemServer.start()
    except Exception as exc:
        backends.missing(f"OpenSearch test server ({type(exc).__name__}: {exc})")
    yield server
    server.close()


@pytest.fixture(params=["database", "opensearch"])
def search_settings(request: pytest.FixtureRequest, settings: Settings, backend: str) -> Iterator[Settings]:
    if request.param == "database":
        yield settings
        return
    assert backend == "sqlite"  # the PostgreSQL combination is deselected below
    server = request.getfixturevalue("osmem")
    with server.clone() as clone:  # type: ignore[attr-defined]
        with_search = settings.model_copy(update={"search_url": clone.url})
        runtime.configure(with_search)
        search_package.reset()
        yield with_search
        search_package.reset()


@pytest.fixture
def search_client(search_settings: Settings) -> Iterator[TestClient]:
    search_package.reset()
    seeding.seed_catalogue(search_settings)
    with TestClient(create_app(search_settings), raise_server_exceptions=False) as client:
        yield client
    search_package.reset()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """OpenSearch runs beside SQLite only: drop the PostgreSQL x OpenSearch combination up front."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec else {}
        if params.get("search_settings") == "opensearch" and params.get("backend") == "postgresql":
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
