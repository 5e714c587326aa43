"""The API documentation in a real browser (Debian's Chromium driven by Playwright), served by a real
`hdab run` with its Content-Security-Policy on: Swagger UI at /docs and ReDoc at /redoc render the
operations, with no request refused by the policy and none failed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hdab.core.security import CSP
from tests.support.backends import REPOSITORY_ROOT
from tests.support.cli import hdab_run

pytestmark = pytest.mark.browser

ARTIFACTS = REPOSITORY_ROOT / "test-artifacts" / "apidocs"
# ReDoc always shows Redocly's logo from their CDN in its menu; the policy refuses it (no visitor's
# address reaches Redocly) and ReDoc then leaves the image out. That, and only that, is expected.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with hdab_run(tmp_path_factory.mktemp("e2e-apidocs")) as (base, _env):
        yield base


@dataclass
class Console:
    """What a page told the console, and the requests that failed."""

    messages: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @classmethod
    def watch(cls, page: Any) -> Console:
        console = cls()
        page.on("console", lambda m: console.messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.messages.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: console.failed.append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and console.failed.append(f"{r.url} ({r.status})"))
        return console

    def refused(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m or "Refused to" in m]

    def errors(self) -> list[str]:
        return [m for m in self.messages if m.startswith(("error:", "pageerror:"))]


def open_page(browser: Any, url: str) -> tuple[Any, Console, Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console.watch(page)
    response = page.goto(url)
    return page, console, response


def test_swagger_ui_renders_every_operation_under_the_site_policy(site: str, browser: object) -> None:
    from playwright.sync_api import expect

    page, console, response = open_page(browser, f"{site}/docs")
    assert response.headers["content-security-policy"] == CSP
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    assert page.locator(".opblock").count() >= 40
    for path in ("/api/search", "/healthz", "/api/applications"):
        assert page.locator(f'.opblock-summary-path[data-path="{path}"]').count() >= 1, path
    # an operation opens, and "Try it out" calls the API from the page (connect-src 'self')
    page.locator('.opblock-summary-path[data-path="/healthz"]').first.click()
    opened = page.locator(".opblock.is-open")
    opened.get_by_role("button", name="Try it out").click()
    opened.get_by_role("button", name="Execute").click()
    expect(opened.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    page.locator('.opblock-summary-path[data-path="/api/search"]').first.click()
    expect(page.locator(".opblock.is-open .parameters-container").last).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=False)
    assert console.refused() == [] and console.errors() == []
    assert console.failed == []
    page.close()


def test_redoc_renders_and_searches_under_its_nonce_policy(site: str, browser: object) -> None:
    from playwright.sync_api import expect

    page, console, response = open_page(browser, f"{site}/redoc")
    policy = response.headers["content-security-policy"]
    assert "'nonce-" in policy and "unsafe-inline" not in policy
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached(timeout=30_000)
    assert page.locator("[data-section-id^='operation/']").count() >= 40
    assert page.locator("[data-section-id$='search_api_search_get']").count() >= 1
    # every <style> ReDoc inserted carries the nonce (perfect-scrollbar's too), so its styles apply
    styles = page.evaluate("[...document.querySelectorAll('style')].map(s => s.nonce !== '')")
    assert styles and all(styles)
    assert page.locator(".menu-content").evaluate("e => getComputedStyle(e).position") == "sticky"
    # the search runs in a worker made from a blob: URL, which the policy allows
    page.locator("[role=search] input").fill("search")
    results = page.locator("[data-role='search:results'] li[data-item-id$='search_api_search_get']")
    expect(results).to_have_count(1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "redoc.png"), full_page=False)
    refused = console.refused()
    assert all(REDOCLY_LOGO in m and "img-src" in m for m in refused), refused
    assert all(REDOCLY_LOGO in m for m in console.errors()), console.errors()
    assert all(f.startswith(REDOCLY_LOGO) for f in console.failed), console.failed
    assert page.locator(f"img[src='{REDOCLY_LOGO}']").count() == 0  # left out once refused
    page.close()
