"""CSRF tokens on every form, and rate limits with 429 and Retry-After."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hdab.app import create_app
from hdab.core import runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.ratelimit import MemoryCounter, RateLimits, RedisCounter
from hdab.core.settings import Settings
from hdab.core.templating import TEMPLATE_DIR
from tests.support import backends
from tests.support.forms import csrf_token, post_form

SIGN_IN = {"subject": "kari", "roles": ["caseworker"]}


def app_client(tmp_path: Path, template: Path, **extra: Any) -> TestClient:
    database = tmp_path / "hdab.db"
    database.write_bytes(template.read_bytes())
    settings = backends.make_settings(tmp_path / "data", f"sqlite:///{database}", **extra)
    runtime.configure(settings)
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path: Path, sqlite_template: Path) -> Iterator[TestClient]:
    with app_client(tmp_path, sqlite_template) as client:
        yield client
    runtime.database().dispose()


def test_every_post_form_in_every_template_carries_the_csrf_field() -> None:
    forms = 0
    for template in TEMPLATE_DIR.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*>", text, flags=re.IGNORECASE):
            if 'method="post"' not in match.group(0).lower():
                continue
            forms += 1
            body = text[match.end() : text.index("</form>", match.end())]
            assert "csrf_input(request)" in body, f"{template.name}: {match.group(0)}"
    assert forms >= 7


def test_a_form_without_or_with_a_wrong_token_is_refused(client: TestClient) -> None:
    missing = client.post("/dev/signin", data=SIGN_IN)
    assert missing.status_code == 403 and missing.json()["type"].endswith("/csrf")
    assert "reload the page" in missing.json()["detail"]
    csrf_token(client)  # the browser has a cookie now, but the attacker does not know its token
    forged = client.post("/dev/signin", data={**SIGN_IN, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert post_form(client, "/dev/signin", SIGN_IN, follow_redirects=False).status_code == 303


def test_a_token_for_another_browser_is_refused(client: TestClient, tmp_path: Path) -> None:
    token = csrf_token(client)
    client.cookies.delete("hdab_csrf")
    csrf_token(client, "/dev/signin")  # a new cookie: the old token no longer matches
    assert client.post("/dev/signin", data={**SIGN_IN, "csrf_token": token}).status_code == 403


def test_cookie_signed_in_json_requests_need_the_header_and_bearer_requests_do_not(
    client: TestClient, sqlite_template: Path
) -> None:
    post_form(client, "/dev/signin", {"subject": "ola", "roles": ["applicant"]}, follow_redirects=False)
    body = {"type": "access"}
    assert client.post("/api/applications", json=body).status_code == 403
    token = csrf_token(client)
    assert client.post("/api/applications", json=body, headers={"X-CSRF-Token": token}).status_code == 201
    bearer = DevIdentityProvider(runtime.settings()).issue("ola", [Role.APPLICANT])
    other = TestClient(client.app)
    assert (
        other.post("/api/applications", json=body, headers={"Authorization": f"Bearer {bearer}"}).status_code
        == 201
    )


def test_the_csrf_cookie_is_http_only_and_strict(client: TestClient) -> None:
    page = client.get("/dev/signin")
    cookie = next(c for c in page.headers.get_list("set-cookie") if c.startswith("hdab_csrf="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def assert_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert "try again in" in response.json()["detail"]


def test_sign_in_is_rate_limited(tmp_path: Path, sqlite_template: Path) -> None:
    with app_client(tmp_path, sqlite_template, rate_limit_signin=3) as client:
        for _ in range(3):
            assert post_form(client, "/dev/signin", SIGN_IN, follow_redirects=False).status_code == 303
        assert_limited(post_form(client, "/dev/signin", SIGN_IN, follow_redirects=False))
        assert_limited(client.get("/auth/any/login", follow_redirects=False))


def test_invalid_tokens_are_rate_limited(tmp_path: Path, sqlite_template: Path) -> None:
    with app_client(tmp_path, sqlite_template, rate_limit_token_failures=3) as client:
        for _ in range(3):
            assert client.get("/api/me", headers={"Authorization": "Bearer a.b.c"}).status_code == 401
        assert_limited(client.get("/api/me", headers={"Authorization": "Bearer a.b.c"}))
        assert client.get("/healthz").status_code == 200  # no credential: not counted, not limited


def test_imports_are_rate_limited(tmp_path: Path, sqlite_template: Path) -> None:
    with app_client(tmp_path, sqlite_template, rate_limit_import=2) as client:
        admin = DevIdentityProvider(runtime.settings()).issue("admin", [Role.ADMIN])
        headers = {"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"}
        for _ in range(2):
            assert (
                client.post("/api/optouts/import", content=b"nonsense\n", headers=headers).status_code == 422
            )
        assert_limited(client.post("/api/optouts/import", content=b"nonsense\n", headers=headers))
        rdf = {"Authorization": f"Bearer {admin}", "Content-Type": "text/turtle"}
        assert (
            client.post("/api/catalog/import", content=b"", headers=rdf).status_code != 429
        )  # its own bucket


def test_memory_counter_windows() -> None:
    now = [120.0]
    counter = MemoryCounter(now=lambda: now[0])
    assert counter.hit("k", 60) == (1, 60)
    now[0] = 150.0
    assert counter.hit("k", 60) == (2, 30)
    now[0] = 180.0
    assert counter.hit("k", 60)[0] == 1  # a new window


def test_processes_share_counts_through_redis(sqlite_settings: Settings) -> None:
    if not backends.TEST_BROKER_URL:
        backends.missing("Redis (HDAB_TEST_BROKER_URL)")
    shared = sqlite_settings.model_copy(update={"rate_limit_url": backends.TEST_BROKER_URL})
    first, second = RateLimits(shared), RateLimits(shared)
    assert isinstance(first.counter, RedisCounter)
    key = f"test:{id(first)}"
    assert first.counter.hit(key, 60)[0] == 1
    assert second.counter.hit(key, 60)[0] == 2


def test_hdab_config_masks_every_secret(tmp_path: Path) -> None:
    from tests.support.cli import clean_env, run_hdab

    providers = json.dumps(
        [
            {
                "name": "x",
                "title": "X",
                "issuer": "https://x",
                "client_id": "c",
                "client_secret": "topsecret-value",
            }
        ]
    )
    shown = run_hdab(
        "config",
        env=clean_env(
            HDAB_DATA_DIR=str(tmp_path),
            HDAB_SMTP_URL="smtp://mailer:mail-password@mail:25",
            HDAB_RATE_LIMIT_URL="redis://:redis-password@cache:6379/3",
            HDAB_SECRET_KEY="k" * 40,
            HDAB_OIDC_PROVIDERS=providers,
        ),
    )
    assert shown.returncode == 0, shown.stderr
    for secret in ("topsecret-value", "mail-password", "redis-password", "k" * 40):
        assert secret not in shown.stdout
    assert "smtp://mailer:********@mail:25" in shown.stdout and "client_id" in shown.stdout


def test_a_page_needing_sign_in_sends_the_browser_to_sign_in_and_back(client: TestClient) -> None:
    page = client.get("/inbox?page=2", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/signin?next=%2Finbox%3Fpage%3D2"
    assert client.get("/inbox").status_code == 401  # an API client still gets the problem
    chooser = client.get(page.headers["location"])
    assert "/dev/signin?next=/inbox%3Fpage%3D2" in chooser.text
    form = client.get("/dev/signin?next=/inbox%3Fpage%3D2")
    assert 'name="next" value="/inbox?page=2"' in form.text
    signed_in = post_form(client, "/dev/signin", {**SIGN_IN, "next": "/inbox?page=2"}, follow_redirects=False)
    assert signed_in.headers["location"] == "/inbox?page=2"
    elsewhere = post_form(
        client, "/dev/signin", {**SIGN_IN, "next": "//evil.example"}, follow_redirects=False
    )
    assert elsewhere.headers["location"] == "/"
