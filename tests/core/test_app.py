"""The web app's conventions: health, problem details, error pages, tokens and roles."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from hdab.app import create_app
from hdab.core import clock
from hdab.core.access import require_roles
from hdab.core.auth import SESSION_COOKIE, Principal, Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.errors import Conflict, NotFound
from hdab.core.settings import Settings
from hdab.reception.keys import rotate
from tests.support import backends
from tests.support.forms import post_form


class Thing(BaseModel):
    name: str = Field(min_length=1)
    count: int = Field(ge=0)


def probe_router() -> APIRouter:
    """Routes exercising each status of the convention (401, 403, 404, 409, 422, 500)."""
    router = APIRouter(prefix="/api/probe")

    @router.get("/caseworkers")
    def caseworkers(p: Principal = Depends(require_roles(Role.CASEWORKER))) -> dict[str, str]:
        return {"subject": p.subject}

    @router.get("/missing")
    def missing() -> None:
        raise NotFound("no application app-7 for you")

    @router.post("/conflict")
    def conflict() -> None:
        raise Conflict("the application is already submitted")

    @router.post("/things")
    def things(thing: Thing) -> Thing:
        return thing

    @router.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    return router


@pytest.fixture
def app(sqlite_settings: Settings) -> FastAPI:
    app = create_app(sqlite_settings)
    app.include_router(probe_router())
    return app


@pytest.fixture
def idp(sqlite_settings: Settings) -> DevIdentityProvider:
    return DevIdentityProvider(sqlite_settings)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_each_component(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert {k: checks[k] for k in ("database", "broker", "search")} == {
        "database": "ok",
        "broker": "in-process",
        "search": "database",
    }
    assert set(checks) == {"database", "broker", "search", "shapes", "registry"}


def test_readyz_is_503_naming_what_is_down(tmp_path: Path) -> None:
    settings = backends.make_settings(
        tmp_path,
        f"sqlite:///{tmp_path}/hdab.db",
        broker_url="redis://127.0.0.1:1/0",
        search_url="http://127.0.0.1:1",
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "not ready: broker, search unreachable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down")


def test_readyz_names_the_database_when_it_is_down(tmp_path: Path) -> None:
    settings = backends.make_settings(tmp_path, "postgresql://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "not ready: database unreachable"
    assert "nobody" not in response.text


def test_no_token_is_401_problem(client: TestClient) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == 401


def test_dev_token_is_accepted(client: TestClient, idp: DevIdentityProvider) -> None:
    token = idp.issue("kari", [Role.CASEWORKER], organisation="983744516")
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["roles"] == ["caseworker"]
    assert response.json()["organisation"] == "983744516"


def test_expired_token_is_401(client: TestClient, idp: DevIdentityProvider) -> None:
    token = idp.issue("kari", [Role.CASEWORKER], lifetime=timedelta(minutes=5))
    clock.advance(timedelta(minutes=6))
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_token_accepted_moments_ago_still_expires_on_time(
    client: TestClient, idp: DevIdentityProvider
) -> None:
    token = idp.issue("kari", [Role.CASEWORKER], lifetime=timedelta(minutes=5))
    assert client.get("/api/me", headers=bearer(token)).status_code == 200  # verified and remembered
    clock.advance(timedelta(minutes=4))
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    clock.advance(timedelta(minutes=2))
    assert client.get("/api/me", headers=bearer(token)).status_code == 401


def test_token_signed_by_another_key_is_401(
    client: TestClient, tmp_path: Path, sqlite_settings: Settings
) -> None:
    other = DevIdentityProvider(sqlite_settings.model_copy(update={"data_dir": tmp_path / "elsewhere"}))
    response = client.get("/api/me", headers=bearer(other.issue("mallory", [Role.ADMIN])))
    assert response.status_code == 401


def test_tampered_token_is_401(client: TestClient, idp: DevIdentityProvider) -> None:
    header, _payload, signature = idp.issue("kari", [Role.APPLICANT]).split(".")
    forged = idp.issue("kari", [Role.ADMIN]).split(".")[1]
    response = client.get("/api/me", headers=bearer(f"{header}.{forged}.{signature}"))
    assert response.status_code == 401


def test_untrusted_issuer_and_garbage_are_401(client: TestClient) -> None:
    for value in ("Bearer not-a-jwt", "Basic a2FyaTpwdw==", "Bearer "):
        assert client.get("/api/me", headers={"Authorization": value}).status_code == 401


def test_wrong_role_is_403(client: TestClient, idp: DevIdentityProvider) -> None:
    token = idp.issue("ola", [Role.APPLICANT])
    response = client.get("/api/probe/caseworkers", headers=bearer(token))
    assert response.status_code == 403
    assert "caseworker" in response.json()["detail"]
    ok = client.get("/api/probe/caseworkers", headers=bearer(idp.issue("kari", [Role.CASEWORKER])))
    assert ok.json() == {"subject": "kari"}


def test_not_found_and_conflict_are_problems(client: TestClient) -> None:
    missing = client.get("/api/probe/missing")
    assert (missing.status_code, missing.json()["type"]) == (
        404,
        "https://hdab.no/problems/not-found",
    )
    conflict = client.post("/api/probe/conflict")
    assert (conflict.status_code, conflict.json()["detail"]) == (
        409,
        "the application is already submitted",
    )


def test_validation_errors_name_each_field(client: TestClient) -> None:
    response = client.post("/api/probe/things", json={"name": "", "count": -1})
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(fields) == {"name", "count"}
    assert "greater than or equal to 0" in fields["count"]


def test_unexpected_error_is_500_without_a_trace(client: TestClient) -> None:
    response = client.get("/api/probe/crash")
    assert response.status_code == 500
    assert response.json()["detail"] == "an internal error occurred; it has been logged"
    assert "hunter2" not in response.text and "Traceback" not in response.text


def test_pages_get_a_readable_error_page(client: TestClient) -> None:
    response = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert ">Fant ikke siden</h1>" in response.text and 'lang="nb"' in response.text
    english = client.get("/no/such/page", headers={"Accept": "text/html", "Accept-Language": "en"})
    assert ">Page not found</h1>" in english.text and '<html lang="en"' in english.text
    api = client.get("/api/no/such", headers={"Accept": "text/html"})
    assert api.headers["content-type"] == "application/problem+json"


def test_dev_sign_in_sets_an_http_only_session_cookie(client: TestClient) -> None:
    form = client.get("/dev/signin")
    assert form.status_code == 200 and 'name="roles"' in form.text
    response = post_form(
        client,
        "/dev/signin",
        {"subject": "kari", "roles": ["caseworker", "decision_maker"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = client.get("/api/me")
    assert me.json()["roles"] == ["caseworker", "decision_maker"]


def test_dev_sign_in_refuses_an_invalid_identifier(client: TestClient) -> None:
    response = post_form(
        client,
        "/dev/signin",
        {"subject": "x", "roles": ["citizen"], "pid": "01010012357"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "pid"


def test_citizen_token_carries_the_pid_but_never_shows_it(
    client: TestClient, idp: DevIdentityProvider
) -> None:
    token = idp.issue("citizen-1", [Role.CITIZEN], national_id="01010012356")
    response = client.get("/api/me", headers=bearer(token))
    assert response.json()["has_national_id"] is True
    assert "01010012356" not in response.text


def test_production_app_trusts_no_dev_token(idp: DevIdentityProvider, tmp_path: Path) -> None:
    rotate(tmp_path / "reception-keys.json")  # production makes no receiver key itself
    production = Settings(
        env="production",
        data_dir=tmp_path,
        database_url="postgresql://hdab@127.0.0.1:1/hdab",
        secret_key="s" * 40,
        pseudonym_master_key="p" * 40,
        optout_hash_key="o" * 40,
        audit_mac_key="a" * 40,
        reception_storage_key="r" * 40,
        reception_key_file=tmp_path / "reception-keys.json",
        base_url="https://hdab.example.no",
    )
    with TestClient(create_app(production)) as client:
        response = client.get("/api/me", headers=bearer(idp.issue("kari", [Role.ADMIN])))
        assert response.status_code == 401
        assert client.get("/dev/signin").status_code == 404


def test_openapi_is_served(client: TestClient) -> None:
    assert "/api/me" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("path", ["/api/register", "/api/datasets"])
def test_the_database_down_is_503_with_retry_after_on_the_api(tmp_path: Path, path: str) -> None:
    settings = backends.make_settings(tmp_path, "postgresql://nobody:s3cret@127.0.0.1:1/none")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get(path)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "30"
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503 and body["type"].endswith("/service-unavailable")
    assert (
        "nobody" not in response.text and "s3cret" not in response.text and "127.0.0.1" not in response.text
    )


@pytest.mark.parametrize("path", ["/register", "/datasets"])
def test_the_database_down_is_a_readable_503_page(tmp_path: Path, path: str) -> None:
    settings = backends.make_settings(tmp_path, "postgresql://nobody:s3cret@127.0.0.1:1/none")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get(path, headers={"accept": "text/html"})
    assert response.status_code == 503, response.text[:500]
    assert response.headers["retry-after"] == "30"
    assert response.headers["content-type"].startswith("text/html")
    assert "nobody" not in response.text and "s3cret" not in response.text
