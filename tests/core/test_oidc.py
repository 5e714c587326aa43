"""Sign-in with OpenID Connect against a real provider on a local port (authlib's server side).

Two providers are configured, as a deployment would have HelseID and ID-porten: one authenticates
our client with ``private_key_jwt`` and maps a group claim to roles; the other uses a client secret
and gives everyone the citizen role. The flow runs over real HTTP between app and provider.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from hdab.app import create_app
from hdab.core import runtime
from hdab.core.auth import SIGNIN_COOKIE
from hdab.core.settings import Settings
from tests.support import backends
from tests.support.forms import post_form
from tests.support.oidc_provider import Provider, web_client

BASE = "http://testserver"
ORG = "983744516"


@pytest.fixture
def helseid(tmp_path: Path) -> Iterator[Provider]:
    provider = Provider()
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    (tmp_path / "client-key.json").write_text(json.dumps(key.as_dict(private=True)))
    provider.add_client(web_client("hdab-web", f"{BASE}/auth/helseid/callback", key=key))
    provider.add_user(
        "helseid-kari",
        name="Kari Saksbehandler",
        email="kari@hdab.no",
        email_verified=True,
        groups=["hdab-caseworkers", "unrelated-group"],
        org=ORG,
    )
    provider.login_as = "helseid-kari"
    yield provider
    provider.stop()


@pytest.fixture
def idporten() -> Iterator[Provider]:
    provider = Provider()
    provider.add_client(
        web_client(
            "hdab-citizens",
            f"{BASE}/auth/idporten/callback",
            secret="s3cret-idporten-client",
            scope="openid profile",
        )
    )
    provider.add_user("idporten-ola", pid="01010012356", name="Ola Nordmann")
    provider.login_as = "idporten-ola"
    yield provider
    provider.stop()


@pytest.fixture
def oidc_settings(
    tmp_path: Path, sqlite_template: Path, helseid: Provider, idporten: Provider
) -> Iterator[Settings]:
    database = tmp_path / "hdab.db"
    database.write_bytes(sqlite_template.read_bytes())
    settings = backends.make_settings(
        tmp_path / "data",
        f"sqlite:///{database}",
        base_url=BASE,
        oidc_providers=[
            {
                "name": "helseid",
                "title": "HelseID",
                "issuer": helseid.issuer,
                "client_id": "hdab-web",
                "client_key_file": str(tmp_path / "client-key.json"),
                "mapping": {
                    "roles_claim": "groups",
                    "role_values": {"hdab-caseworkers": "caseworker"},
                },
            },
            {
                "name": "idporten",
                "title": "ID-porten",
                "issuer": idporten.issuer,
                "client_id": "hdab-citizens",
                "client_secret": "s3cret-idporten-client",
                "scope": "openid profile",
                "mapping": {"default_roles": ["citizen"]},
            },
        ],
    )
    runtime.configure(settings)
    yield settings
    runtime.database().dispose()


@pytest.fixture
def client(oidc_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(oidc_settings), base_url=BASE) as client:
        yield client


def start(client: TestClient, provider: str, next: str = "/") -> str:
    """Begin a sign-in; return the provider's authorization URL the browser is sent to."""
    response = client.get(f"/auth/{provider}/login", params={"next": next}, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def at_provider(authorize_url: str) -> str:
    """The provider signs the user in and sends the browser back: the callback path and query."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


def sign_in(client: TestClient, provider: str, next: str = "/") -> httpx.Response:
    return client.get(at_provider(start(client, provider, next)), follow_redirects=False)


def test_a_caseworker_signs_in_with_pkce_state_and_nonce_and_gets_mapped_roles(
    client: TestClient, helseid: Provider
) -> None:
    authorize = start(client, "helseid", next="/inbox")
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{helseid.issuer}/authorize")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0] and query["scope"] == ["openid profile email"]
    assert "code_verifier" not in authorize

    done = client.get(at_provider(authorize), follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith(f"{SIGNIN_COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    me = client.get("/api/me").json()
    assert me["roles"] == ["caseworker"]  # the unrelated group maps to nothing
    assert me["organisation"] == ORG and me["issuer"] == helseid.issuer
    assert client.get("/inbox").status_code == 200


def test_the_cookie_is_secure_over_https(
    tmp_path: Path, sqlite_template: Path, oidc_settings: Settings, helseid: Provider
) -> None:
    settings = oidc_settings.model_copy(update={"base_url": "https://testserver"})
    helseid.clients["hdab-web"].redirect_uris = ("https://testserver/auth/helseid/callback",)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        done = sign_in(client, "helseid")
        cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith(f"{SIGNIN_COOKIE}="))
        assert "Secure" in cookie and "HttpOnly" in cookie


def test_a_second_provider_with_a_client_secret_signs_in_a_citizen(client: TestClient) -> None:
    assert sign_in(client, "idporten").status_code == 303
    me = client.get("/api/me").json()
    assert me["roles"] == ["citizen"] and me["has_national_id"] is True
    assert client.get("/api/optouts/me").status_code == 200
    page = client.get("/signin")
    assert "HelseID" in page.text and "ID-porten" in page.text


def test_a_callback_with_a_state_from_elsewhere_is_refused(client: TestClient) -> None:
    callback = at_provider(start(client, "helseid"))
    forged = callback.replace("state=", "state=x")
    response = client.get(forged, follow_redirects=False)
    assert response.status_code == 400 and "sign-in failed" in response.json()["detail"]
    assert client.get("/api/me").status_code == 401


def test_a_code_from_another_browser_fails_pkce(client: TestClient, oidc_settings: Settings) -> None:
    stolen = at_provider(start(client, "helseid"))  # the victim's code
    with TestClient(create_app(oidc_settings), base_url=BASE) as attacker:
        own = at_provider(start(attacker, "helseid"))
        own_state = parse_qs(urlsplit(own).query)["state"][0]
        code = parse_qs(urlsplit(stolen).query)["code"][0]
        response = attacker.get(
            "/auth/helseid/callback", params={"code": code, "state": own_state}, follow_redirects=False
        )
        assert response.status_code == 400
        assert attacker.get("/api/me").status_code == 401


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"aud": "another-client", "azp": "another-client"}, "Invalid claim: 'a"),
        ({"iss": "https://evil.example"}, "'iss'"),
        ({"exp": 1_000_000_000}, "expired"),
        ({"nonce": "not-the-one-we-sent"}, "'nonce'"),
    ],
)
def test_an_invalid_id_token_is_refused(
    client: TestClient, helseid: Provider, override: dict[str, object], problem: str
) -> None:
    helseid.id_token_overrides = override
    response = sign_in(client, "helseid")
    assert response.status_code == 400, (problem, response.text)
    assert problem in response.json()["detail"]
    assert client.get("/api/me").status_code == 401


def test_an_id_token_signed_by_another_key_is_refused(client: TestClient, helseid: Provider) -> None:
    helseid.forged_key = ECKey.generate_key("P-256", private=True)  # same kid in the header, other key
    response = sign_in(client, "helseid")
    assert response.status_code == 400 and "ID token is not valid" in response.json()["detail"]
    assert client.get("/api/me").status_code == 401


def test_keys_rotated_at_the_provider_are_fetched_again(client: TestClient, helseid: Provider) -> None:
    assert sign_in(client, "helseid").status_code == 303
    fetched = helseid.jwks_fetches
    helseid.rotate()  # the old key is withdrawn: the cached JWKS no longer has the new kid
    client.cookies.clear()
    assert sign_in(client, "helseid").status_code == 303
    assert helseid.jwks_fetches == fetched + 1
    assert client.get("/api/me").status_code == 200


def test_signing_out_ends_the_session_here_and_at_the_provider(client: TestClient, helseid: Provider) -> None:
    sign_in(client, "helseid")
    stolen_cookie = client.cookies.get(SIGNIN_COOKIE)
    page = client.get("/inbox")
    assert 'action="/signout"' in page.text
    response = post_form(client, "/signout", {}, follow_redirects=False)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    # a page moving on to the provider (a redirect would break the CSP's form-action 'self')
    match = re.search(r'id="provider-signout" href="([^"]+)"', response.text)
    assert match is not None and 'http-equiv="refresh"' in response.text
    logout = html.unescape(match.group(1))
    assert logout.startswith(f"{helseid.issuer}/logout?") and "id_token_hint=" in logout
    assert httpx.get(logout, follow_redirects=False).headers["location"].startswith(f"{BASE}/")
    assert helseid.logouts and helseid.logouts[0]["post_logout_redirect_uri"] == f"{BASE}/"
    assert client.get("/api/me").status_code == 401
    # a copy of the cookie taken before signing out does not work either
    client.cookies.set(SIGNIN_COOKIE, str(stolen_cookie))
    replayed = client.get("/api/me")
    assert replayed.status_code == 401 and "sign in again" in replayed.json()["detail"]


def test_next_never_leads_off_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        done = sign_in(client, "helseid", next=target)
        assert done.headers["location"] == "/"


def test_an_unknown_provider_is_404(client: TestClient) -> None:
    assert client.get("/auth/nowhere/login", follow_redirects=False).status_code == 404


def test_a_provider_needs_exactly_one_client_credential() -> None:
    from pydantic import ValidationError

    from hdab.core.settings import OidcProvider

    with pytest.raises(ValidationError, match="exactly one"):
        OidcProvider(name="x", title="X", issuer="https://x", client_id="c")
    with pytest.raises(ValidationError, match="is not a file"):
        OidcProvider(
            name="x", title="X", issuer="https://x", client_id="c", client_key_file="/no/such/key.json"
        )
    with pytest.raises(ValidationError, match="unknown role"):
        OidcProvider(
            name="x",
            title="X",
            issuer="https://x",
            client_id="c",
            client_secret="s",
            mapping={"default_roles": ["king"]},
        )


def test_the_settings_know_every_role() -> None:
    from hdab.core.auth import Role
    from hdab.core.settings import ROLE_NAMES

    assert set(ROLE_NAMES) == {role.value for role in Role}
