"""The API documentation (/docs, /redoc): served by the app, no CDN, no inline code, the CSP kept.

The browser half (the pages really render under their policies) is tests/e2e/test_api_docs.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Route

from hdab.app import create_app
from hdab.core import apidocs, security
from hdab.core.security import CSP, SecurityHeaders, acceptable, new_nonce, with_style_nonce
from hdab.core.settings import Settings

PAGES = ("/docs", "/redoc")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
LOOSE = "default-src *; script-src * 'unsafe-inline' 'unsafe-eval'; style-src * 'unsafe-inline'"


def loose_router() -> APIRouter:
    """Handlers that try to answer with a policy of their own."""
    router = APIRouter()

    @router.get("/probe/loose")
    def loose() -> Response:
        return HTMLResponse("<p>hi</p>", headers={"Content-Security-Policy": LOOSE})

    @router.get("/probe/nonce")
    def nonce() -> Response:  # even a policy that would pass on /redoc
        policy = with_style_nonce(new_nonce())
        return HTMLResponse("<p>hi</p>", headers={"Content-Security-Policy": policy})

    return router


@pytest.fixture
def app(sqlite_settings: Settings) -> FastAPI:
    app = create_app(sqlite_settings)
    app.include_router(loose_router())
    return app


class Page(HTMLParser):
    """What a page is made of: its scripts, stylesheets and other assets, inline code, lang, title."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.lang: str | None = None
        self.title = ""
        self.data: dict[str, str] = {}
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if "style" in attributes:
            self.style_attributes.append(tag)
        self.data.update({k: v for k, v in attributes.items() if k.startswith("data-")})
        if tag == "html":
            self.lang = attributes.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag == "style":
            self.style_elements += 1
        elif tag == "script":
            if attributes.get("src"):
                self.assets.append(attributes["src"])
            else:
                self.inline_scripts += 1
        elif tag == "link" and attributes.get("href"):
            self.assets.append(attributes["href"])
        elif tag in ("img", "iframe", "source") and attributes.get("src"):
            self.assets.append(attributes["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


@pytest.mark.parametrize("path", PAGES)
def test_the_pages_load_their_code_from_the_app_and_none_inline(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = Page(response.text)
    assert page.lang == "en" and "API documentation" in page.title
    assert page.inline_scripts == 0 and page.style_elements == 0 and page.style_attributes == []
    assert not re.search(r"https?://|//[a-z]", response.text, re.IGNORECASE)  # nothing from elsewhere
    assert page.data["data-openapi-url"] == "/openapi.json"
    scripts = [a for a in page.assets if a.endswith(".js")]
    assert len(scripts) == 2 and any(a.startswith(apidocs.ASSETS_URL + "/") for a in scripts)
    for asset in page.assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        suffix = asset[asset.rfind(".") :]
        assert served.headers["content-type"].startswith(CONTENT_TYPES[suffix]), asset
        assert served.headers["x-content-type-options"] == "nosniff"


def test_swagger_ui_and_redoc_come_from_the_installed_package(client: TestClient) -> None:
    """Not copied into the repository: the bytes served are the fastapi-offline package's files."""
    assert "fastapi_offline" in apidocs.ASSETS_DIR.parts
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        served = client.get(f"{apidocs.ASSETS_URL}/{name}")
        assert served.content == (apidocs.ASSETS_DIR / name).read_bytes(), name
    assert client.get(f"{apidocs.ASSETS_URL}/../core.py").status_code == 404
    assert client.get("/static/search.js").status_code == 200  # the site's own files are still there


def test_the_openapi_description_is_unchanged(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/search" in spec["paths"]
    assert not any(p in spec["paths"] for p in PAGES)  # the pages are not operations


def test_swagger_ui_runs_under_exactly_the_site_policy(client: TestClient) -> None:
    assert client.get("/docs").headers["content-security-policy"] == CSP
    assert client.get("/static/swagger-init.js").headers["content-security-policy"] == CSP
    assert client.get(f"{apidocs.ASSETS_URL}/swagger-ui-bundle.js").headers["content-security-policy"] == CSP


def test_the_site_policy_is_as_strict_as_ever() -> None:
    assert CSP == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    assert sorted(security.OWN_POLICY_PATHS) == ["/redoc"]  # the one exception


def test_redoc_gets_a_fresh_style_nonce_and_nothing_looser(client: TestClient) -> None:
    nonces = set()
    for _ in range(3):
        response = client.get("/redoc")
        policy = response.headers["content-security-policy"]
        assert policy != CSP and acceptable(policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
        nonce = Page(response.text).data["data-style-nonce"]
        assert directives.pop("style-src") == ["'self'", f"'nonce-{nonce}'"]
        assert directives.pop("worker-src") == ["'self'", "blob:"]  # ReDoc's search index
        site = {d.split()[0]: d.split()[1:] for d in CSP.split("; ")}
        site.pop("style-src")
        assert directives == site  # scripts, images, framing...: as the site's
        assert len(nonce) >= 22
        nonces.add(nonce)
    assert len(nonces) == 3
    # the page's own files carry the site policy
    assert client.get("/static/redoc-init.js").headers["content-security-policy"] == CSP


@pytest.mark.parametrize("path", ["/probe/loose", "/probe/nonce"])
def test_no_other_path_may_set_its_own_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers.get_list("content-security-policy") == [CSP]


@pytest.mark.parametrize(
    "given",
    [
        [LOOSE],
        [with_style_nonce(new_nonce()).replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")],
        [with_style_nonce(new_nonce()), LOOSE],  # two policies: not taken
        [],  # none: the site's
    ],
)
def test_even_redoc_keeps_the_site_policy_unless_its_own_is_acceptable(given: list[str]) -> None:
    def page(_request: object) -> Response:
        response = HTMLResponse("<p>hi</p>")
        for policy in given:
            response.headers.append("content-security-policy", policy)
        return response

    app = SecurityHeaders(
        Starlette(routes=[Route("/redoc", page)]),
        hsts=False,
        max_body=1024,
        upload_paths=frozenset(),
        max_upload=1024,
    )
    with TestClient(app) as client:
        assert client.get("/redoc").headers.get_list("content-security-policy") == [CSP]


NONCE = "'nonce-" + "a" * 24 + "'"


@pytest.mark.parametrize(
    "policy",
    [
        CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
        CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'"),
        CSP.replace("script-src 'self'", f"script-src 'self' {NONCE}"),  # nonces for styles only
        CSP.replace(
            "style-src 'self'", "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        ),
        CSP.replace("style-src 'self'", "style-src 'self' 'nonce-short'"),
        CSP.replace("img-src 'self' data:", "img-src *"),
        CSP.replace("; frame-ancestors 'none'", ""),  # a directive missing falls back to nothing
        CSP.replace("object-src 'none'", "object-src 'self'"),
        CSP + "; connect-src *",  # a directive the site does not name
        CSP + "; worker-src *",
        CSP + "; style-src *",  # named twice
        CSP + ", default-src *",  # a second policy in the same header
        "",
    ],
)
def test_a_looser_policy_is_not_acceptable(policy: str) -> None:
    assert not acceptable(policy)


def test_acceptable_policies() -> None:
    assert acceptable(CSP)
    assert acceptable(with_style_nonce(new_nonce()))
    assert acceptable(with_style_nonce(new_nonce(), {"worker-src": "blob:"}))
    assert acceptable(CSP.replace("img-src 'self' data:", "img-src 'self'"))  # stricter is fine
    with pytest.raises(ValueError, match="not an acceptable"):
        with_style_nonce(new_nonce(), {"script-src": "'self' 'unsafe-inline'"})
    assert new_nonce() != new_nonce()
