"""Applications fixtures: an app on the parametrised database with the catalogue seeded, and people."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hdab.app import create_app
from hdab.catalog import service as catalog
from hdab.core import audit, runtime
from hdab.core.settings import Settings
from tests.applications.factories import People


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    with runtime.database().session() as session:
        catalog.seed(session, settings, audit.SYSTEM_ACTOR)
    return settings


@pytest.fixture
def client(seeded: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(seeded), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def people(seeded: Settings) -> People:
    return People(seeded)
