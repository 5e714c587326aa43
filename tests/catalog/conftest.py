"""Catalogue fixtures: an app on the parametrised database with the seed loaded, and tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hdab.app import create_app
from hdab.catalog import service
from hdab.core import audit, runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    with runtime.database().session() as session:
        service.seed(session, settings, audit.SYSTEM_ACTOR)
    return settings


@pytest.fixture
def client(seeded: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(seeded), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def holder(seeded: Settings) -> dict[str, str]:
    token = DevIdentityProvider(seeded).issue("fhi-editor", [Role.DATA_HOLDER], organisation="983744516")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def applicant(seeded: Settings) -> dict[str, str]:
    token = DevIdentityProvider(seeded).issue("researcher", [Role.APPLICANT])
    return {"Authorization": f"Bearer {token}"}
