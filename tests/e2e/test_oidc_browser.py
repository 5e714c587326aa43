"""OpenID Connect sign-in and sign-out in a real browser, against the local provider, on `hdab run`.

Chromium follows the real redirects: our sign-in page, the provider's authorization endpoint, our
callback, the page it started from; then the sign-out form (with its CSRF token) to the provider's
end-session endpoint and back. Screenshots go to ``test-artifacts/oidc/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.backends import REPOSITORY_ROOT
from tests.support.cli import hdab_run
from tests.support.oidc_provider import Provider, web_client

pytestmark = pytest.mark.browser
ARTIFACTS = REPOSITORY_ROOT / "test-artifacts" / "oidc"


@pytest.fixture
def provider() -> Iterator[Provider]:
    provider = Provider()
    provider.add_user("kari", name="Kari Saksbehandler", groups=["hdab-caseworkers"], email="kari@hdab.no")
    provider.login_as = "kari"
    yield provider
    provider.stop()


def test_a_caseworker_signs_in_and_out_through_the_provider_in_a_browser(
    browser: Any, provider: Provider, tmp_path_factory: pytest.TempPathFactory
) -> None:
    providers = [
        {
            "name": "helseid",
            "title": "HelseID (lokal)",
            "issuer": provider.issuer,
            "client_id": "hdab-web",
            "client_secret": "browser-test-secret",
            "mapping": {"roles_claim": "groups", "role_values": {"hdab-caseworkers": "caseworker"}},
        }
    ]
    workdir = tmp_path_factory.mktemp("oidc-browser")
    with hdab_run(workdir, HDAB_OIDC_PROVIDERS=json.dumps(providers)) as (base, _env):
        provider.add_client(
            web_client("hdab-web", f"{base}/auth/helseid/callback", secret="browser-test-secret")
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        context = browser.new_context(locale="nb-NO")
        page = context.new_page()

        page.goto(f"{base}/inbox")  # a page that needs sign-in
        assert page.url.startswith(f"{base}/signin?next="), page.url
        page.screenshot(path=str(ARTIFACTS / "01-signin.png"), full_page=True)
        page.click("text=HelseID (lokal)")
        page.wait_for_url(f"{base}/inbox")  # provider, callback, back where we started
        assert "Kari Saksbehandler (Saksbehandler)" in page.content()  # the role in words, in bokmål
        page.screenshot(path=str(ARTIFACTS / "02-inbox.png"), full_page=True)
        session = next(c for c in context.cookies() if c["name"] == "hdab_sid")
        assert session["httpOnly"] and session["sameSite"] == "Lax"

        page.click("form.signout button")
        page.wait_for_url(f"{base}/")
        assert provider.logouts, "the provider's end-session endpoint was visited"
        assert not [c for c in context.cookies() if c["name"] == "hdab_sid"]
        page.goto(f"{base}/api/me")
        assert '"status":401' in page.content().replace(" ", "")
        page.screenshot(path=str(ARTIFACTS / "03-signed-out.png"), full_page=True)
        context.close()
