"""Machines: client credentials with private_key_jwt (RFC 7523) at a real local provider; the API maps
scopes to roles and verifies DPoP-bound tokens (RFC 9449), refusing replays and bearer use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from hdab.app import create_app
from hdab.core import clock, runtime
from hdab.core.dpop import token_hash
from hdab.core.oidc import RemoteKeys
from hdab.core.settings import Settings
from tests.support import backends
from tests.support.oidc_provider import Provider, machine_client

BASE = "http://testserver"
SSB = "971526920"
SCOPE = "hdab:deliveries"


@pytest.fixture
def client_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True, auto_kid=True)


@pytest.fixture
def provider(client_key: ECKey) -> Iterator[Provider]:
    provider = Provider()
    provider.add_client(machine_client("ssb-deliveries", client_key, f"{SCOPE} hdab:other", f"0192:{SSB}"))
    yield provider
    provider.stop()


def make_settings(tmp_path: Path, template: Path, provider: Provider, **extra: Any) -> Settings:
    database = tmp_path / "hdab.db"
    database.write_bytes(template.read_bytes())
    return backends.make_settings(
        tmp_path / "data",
        f"sqlite:///{database}",
        base_url=BASE,
        api_issuers=[{"issuer": provider.issuer, "scope_roles": {SCOPE: "recipient"}}],
        **extra,
    )


@pytest.fixture
def api(tmp_path: Path, sqlite_template: Path, provider: Provider) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, sqlite_template, provider)
    runtime.configure(settings)
    with TestClient(create_app(settings), base_url=BASE) as client:
        yield client
    runtime.database().dispose()


def fetch_token(provider: Provider, key: ECKey, scope: str = SCOPE, dpop_key: ECKey | None = None) -> str:
    """What a machine client does: client credentials, authenticated by a JWT signed with its key."""
    with OAuth2Client(
        "ssb-deliveries", key, token_endpoint_auth_method="private_key_jwt", scope=scope
    ) as oauth:
        oauth.register_client_auth_method(
            PrivateKeyJWT(provider.token_endpoint, alg="ES256", headers={"kid": key.kid})
        )
        headers = {"DPoP": proof(dpop_key, "POST", provider.token_endpoint)} if dpop_key else None
        token = oauth.fetch_token(provider.token_endpoint, grant_type="client_credentials", headers=headers)
    assert token["token_type"] == ("DPoP" if dpop_key else "Bearer")
    return str(token["access_token"])


def proof(
    key: ECKey,
    method: str,
    url: str,
    access_token: str | None = None,
    *,
    iat: float | None = None,
    typ: str = "dpop+jwt",
) -> str:
    header = {"typ": typ, "alg": "ES256", "jwk": key.as_dict(private=False)}
    claims: dict[str, Any] = {
        "htm": method,
        "htu": url,
        "iat": int(iat if iat is not None else clock.now().timestamp()),
        "jti": str(uuid.uuid4()),
    }
    if access_token is not None:
        claims["ath"] = token_hash(access_token)
    return jwt.encode(header, claims, key)


def dpop(token: str, proof_jwt: str) -> dict[str, str]:
    return {"Authorization": f"DPoP {token}", "DPoP": proof_jwt}


def test_client_credentials_with_private_key_jwt_give_a_recipient(
    api: TestClient, provider: Provider, client_key: ECKey
) -> None:
    token = fetch_token(provider, client_key)
    me = api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {
        "subject": "ssb-deliveries",
        "issuer": provider.issuer,
        "roles": ["recipient"],
        "organisation": SSB,
        "has_national_id": False,
    }
    deliveries = api.get("/api/deliveries", headers={"Authorization": f"Bearer {token}"})
    assert deliveries.status_code == 200 and deliveries.json()["items"] == []


def test_a_client_authenticating_with_another_key_gets_no_token(provider: Provider) -> None:
    from authlib.integrations.base_client import OAuthError

    stranger = ECKey.generate_key("P-256", private=True, auto_kid=True)
    with pytest.raises(OAuthError, match="invalid_client"):
        fetch_token(provider, stranger)


def test_scopes_map_to_roles_and_nothing_else(api: TestClient, provider: Provider, client_key: ECKey) -> None:
    token = fetch_token(provider, client_key, scope="hdab:other")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/me", headers=headers).json()["roles"] == []
    assert api.get("/api/deliveries", headers=headers).status_code == 403


def test_a_dpop_bound_token_works_with_a_fresh_proof_for_each_request(
    api: TestClient, provider: Provider, client_key: ECKey
) -> None:
    holder = ECKey.generate_key("P-256", private=True, auto_kid=True)
    token = fetch_token(provider, client_key, dpop_key=holder)
    for _ in range(2):
        response = api.get(
            "/api/deliveries", headers=dpop(token, proof(holder, "GET", f"{BASE}/api/deliveries", token))
        )
        assert response.status_code == 200, response.text


def refused(response: Any, words: str) -> None:
    assert response.status_code == 401, response.text
    assert words in response.json()["detail"], response.json()["detail"]


def test_dpop_proofs_are_checked(api: TestClient, provider: Provider, client_key: ECKey) -> None:
    holder = ECKey.generate_key("P-256", private=True, auto_kid=True)
    token = fetch_token(provider, client_key, dpop_key=holder)
    url = f"{BASE}/api/me"

    used = proof(holder, "GET", url, token)
    assert api.get("/api/me", headers=dpop(token, used)).status_code == 200
    refused(api.get("/api/me", headers=dpop(token, used)), "replay")

    thief = ECKey.generate_key("P-256", private=True, auto_kid=True)
    refused(api.get("/api/me", headers=dpop(token, proof(thief, "GET", url, token))), "another key")
    refused(api.get("/api/me", headers=dpop(token, proof(holder, "POST", url, token))), "htm")
    refused(
        api.get("/api/me", headers=dpop(token, proof(holder, "GET", f"{BASE}/api/deliveries", token))), "htu"
    )
    refused(api.get("/api/me", headers=dpop(token, proof(holder, "GET", url))), "ath")
    refused(api.get("/api/me", headers=dpop(token, proof(holder, "GET", url, "other-token"))), "ath")
    stale = proof(holder, "GET", url, token, iat=clock.now().timestamp() - 3600)
    refused(api.get("/api/me", headers=dpop(token, stale)), "iat")
    refused(api.get("/api/me", headers=dpop(token, proof(holder, "GET", url, token, typ="JWT"))), "typ")
    refused(api.get("/api/me", headers={"Authorization": f"DPoP {token}"}), "exactly one DPoP header")
    response = api.get("/api/me", headers=dpop(token, "not-a-jwt"))
    refused(response, "compact JWS")
    assert response.headers["www-authenticate"].startswith("DPoP ")


def test_a_dpop_bound_token_is_refused_as_a_bearer_token(
    api: TestClient, provider: Provider, client_key: ECKey
) -> None:
    holder = ECKey.generate_key("P-256", private=True, auto_kid=True)
    token = fetch_token(provider, client_key, dpop_key=holder)
    refused(api.get("/api/me", headers={"Authorization": f"Bearer {token}"}), "bound to a key")


def test_an_unbound_token_cannot_pose_as_dpop(api: TestClient, provider: Provider, client_key: ECKey) -> None:
    token = fetch_token(provider, client_key)
    holder = ECKey.generate_key("P-256", private=True, auto_kid=True)
    refused(
        api.get("/api/me", headers=dpop(token, proof(holder, "GET", f"{BASE}/api/me", token))), "not bound"
    )


def test_an_issuer_may_require_dpop(
    tmp_path: Path, sqlite_template: Path, provider: Provider, client_key: ECKey
) -> None:
    settings = make_settings(tmp_path, sqlite_template, provider)
    settings = settings.model_copy(
        update={"api_issuers": [settings.api_issuers[0].model_copy(update={"require_dpop": True})]}
    )
    runtime.configure(settings)
    with TestClient(create_app(settings), base_url=BASE) as client:
        token = fetch_token(provider, client_key)
        refused(client.get("/api/me", headers={"Authorization": f"Bearer {token}"}), "must be DPoP-bound")


def test_rotated_issuer_keys_are_fetched_again(
    api: TestClient, provider: Provider, client_key: ECKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = fetch_token(provider, client_key)
    assert api.get("/api/me", headers={"Authorization": f"Bearer {first}"}).status_code == 200
    provider.rotate()
    second = fetch_token(provider, client_key)
    fetches = provider.jwks_fetches
    # within the minimum interval an unknown key does not make us fetch again (no fetch storms)
    assert api.get("/api/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert provider.jwks_fetches == fetches
    monkeypatch.setattr(RemoteKeys, "MIN_INTERVAL", 0.0)  # as if the interval had passed
    assert api.get("/api/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert provider.jwks_fetches == fetches + 1


def test_expired_and_foreign_audience_tokens_are_refused(
    api: TestClient, provider: Provider, client_key: ECKey
) -> None:
    provider.access_token_seconds = -120
    refused(
        api.get("/api/me", headers={"Authorization": f"Bearer {fetch_token(provider, client_key)}"}),
        "expired",
    )
    provider.access_token_seconds = 300
    provider.clients["ssb-deliveries"].claims["aud"] = "another-api"
    refused(
        api.get("/api/me", headers={"Authorization": f"Bearer {fetch_token(provider, client_key)}"}), "aud"
    )
