"""Extracts fixtures: an app on the parametrised database, and tokens for citizens and staff."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings
from tests.applications.factories import People
from tests.extracts.apps import running


@pytest.fixture
def client_settings(settings: Settings) -> Settings:
    """The ``client`` fixture's app runs on an empty catalogue here (the opt-out tests need none)."""
    return settings


@pytest.fixture
def app(tmp_path: Path, database_url: str, registry: Path) -> Iterator[tuple[TestClient, People]]:
    """The seeded service over the test module's ``registry`` fixture, and its people."""
    with running(tmp_path, database_url, registry) as pair:
        yield pair


@pytest.fixture
def idp(settings: Settings) -> DevIdentityProvider:
    return DevIdentityProvider(settings)


def bearer(idp: DevIdentityProvider, subject: str, *roles: Role, pid: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {idp.issue(subject, list(roles), national_id=pid)}"}
