"""The search page in a real browser (Debian's Chromium driven by Playwright): search as you type,
facets in place, the state in the URL, and the plain form without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support import backends
from tests.support.cli import hdab_run

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("e2e")
    with hdab_run(workdir, **backends.reference_env()) as (base, _env):
        yield base


def test_search_as_you_type_keeps_the_state_in_the_url(site: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{site}/datasets?lang=nb")
    assert page.locator("#total").inner_text() == "8"
    page.evaluate("window.__sameDocument = true")
    page.locator("#q").press_sequentially("rusbehandling", delay=30)
    # expect() polls from Playwright's own script: the page's CSP (no eval) stays in force
    expect(page).to_have_url(re.compile(r"[?&]q=rusbehandling(&|$)"))
    expect(page.locator("#total")).not_to_have_text("8")
    assert page.locator('a[href="/datasets/npr-tsb"]').count() == 1
    assert page.locator("mark").count() >= 1
    # Facets narrow in place (no reload) and land in the URL, so the search can be shared.
    page.locator('a[data-facet="coding_system"]', has_text="ICD-10").first.click()
    expect(page).to_have_url(re.compile(r"coding_system=ICD-10"))
    assert page.evaluate("window.__sameDocument") is True
    # Typing again keeps the facet the user chose.
    page.locator("#q").fill("")
    page.locator("#q").press_sequentially("rusbehandlng", delay=30)
    expect(page).to_have_url(re.compile(r"[?&]q=rusbehandlng(&|$)"))
    assert "coding_system=ICD-10" in page.url
    assert page.locator('a[href="/datasets/npr-tsb"]').count() == 1
    shared = page.url
    other = browser.new_page()  # type: ignore[attr-defined]
    other.goto(shared)
    assert other.locator('a[href="/datasets/npr-tsb"]').count() == 1
    assert other.locator("#q").input_value() == "rusbehandlng"


def test_the_plain_form_works_without_javascript(site: str, browser: object) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{site}/datasets?lang=nb")
    page.locator("#q").fill("hjemmet")
    page.locator("#search button[type=submit]").click()
    page.wait_for_url("**/datasets?q=hjemmet*")
    assert page.locator('a[href="/datasets/kpr-helse-og-omsorg"]').count() == 1
    context.close()
