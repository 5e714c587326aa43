"""The receiver's key set: rotation, expiry, and what production refuses."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from hdab.core import clock
from hdab.reception import keys


def test_rotation_publishes_the_new_key_first_and_the_old_one_decrypts_until_it_expires(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.json"
    first = keys.rotate(path, days=30, bits=2048)
    second = keys.rotate(path, days=365, bits=2048)
    keyset = keys.ReceiverKeys(path, create=False)
    assert [k.id for k in keyset.published()] == [second.id, first.id]
    assert keyset.private(first.id) is not None
    clock.set(clock.now() + timedelta(days=31))
    with pytest.raises(keys.ExpiredKey):
        keyset.private(first.id)
    assert [k.id for k in keyset.published()] == [second.id]
    keys.rotate(path, days=365, bits=2048)  # drops the expired key for good
    with pytest.raises(keys.UnknownKey):
        keys.ReceiverKeys(path, create=False).private(first.id)
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_outside_production_a_first_key_is_made_in_production_none(tmp_path: Path) -> None:
    assert keys.ReceiverKeys(tmp_path / "dev" / "keys.json", create=True).published()
    assert keys.ReceiverKeys(tmp_path / "prod" / "keys.json", create=False).published() == []


def test_production_refuses_a_missing_open_short_or_expiring_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    assert "does not exist" in keys.production_problems(path)[0]
    keys.rotate(path, days=7, bits=2048)
    os.chmod(path, 0o644)
    problems = " ".join(keys.production_problems(path))
    assert "readable by others" in problems
    assert "shorter than 3072" in problems
    assert "no key valid for two more weeks" in problems
    good = tmp_path / "good.json"
    keys.rotate(good, days=365)
    assert keys.production_problems(good) == []
