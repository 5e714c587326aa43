"""Applications fixtures: the people of a case (the seeded app is tests/conftest.py's)."""

from __future__ import annotations

import pytest

from hdab.core.settings import Settings
from tests.applications.factories import People


@pytest.fixture
def people(seeded: Settings) -> People:
    return People(seeded)
