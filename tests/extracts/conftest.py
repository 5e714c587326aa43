"""Extracts fixtures: an app on the parametrised database, and tokens for citizens and staff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hdab.app import create_app
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def idp(settings: Settings) -> DevIdentityProvider:
    return DevIdentityProvider(settings)


def bearer(idp: DevIdentityProvider, subject: str, *roles: Role, pid: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {idp.issue(subject, list(roles), national_id=pid)}"}
