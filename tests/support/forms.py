"""Posting forms as a browser does: with the CSRF token the page embeds."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def csrf_token(client: TestClient, page: str = "/dev/signin") -> str:
    """The token of ``page``'s forms (fetching it also gives the client its CSRF cookie)."""
    match = TOKEN.search(client.get(page).text)
    assert match is not None, f"{page} has no CSRF field"
    return match.group(1)


def post_form(client: TestClient, url: str, data: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return client.post(url, data={**data, "csrf_token": csrf_token(client)}, **kwargs)
