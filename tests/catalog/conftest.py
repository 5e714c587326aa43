"""Catalogue fixtures: tokens of a data holder and an applicant (the seeded app is tests/conftest.py's)."""

from __future__ import annotations

import pytest

from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings


@pytest.fixture
def holder(seeded: Settings) -> dict[str, str]:
    token = DevIdentityProvider(seeded).issue("fhi-editor", [Role.DATA_HOLDER], organisation="983744516")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def applicant(seeded: Settings) -> dict[str, str]:
    token = DevIdentityProvider(seeded).issue("researcher", [Role.APPLICANT])
    return {"Authorization": f"Bearer {token}"}
