"""``email_verified`` is a JSON boolean: only true (or the string "true" some providers send) binds."""

from __future__ import annotations

from typing import Any

import pytest

from hdab.core.auth import verified_email


@pytest.mark.parametrize("value", [True, "true"])
def test_a_verified_email_counts(value: Any) -> None:
    assert verified_email({"email": "Kari@Example.no", "email_verified": value}) == "kari@example.no"


@pytest.mark.parametrize("value", [1, 1.0, "True", "yes", "1", None, [True], {}, False, "false"])
def test_anything_else_is_not_verified(value: Any) -> None:
    assert verified_email({"email": "kari@example.no", "email_verified": value}) is None
    assert verified_email({"email": "kari@example.no"}) is None
