"""The whole journey in a real browser: search, cart, application, casework, fee, decision, extract,
public register. Every page it visits is checked with axe-core (CSP on) and for reflow at 320 px,
in both languages; screenshots at 1280 and 320 px are kept in ``test-artifacts/journey/`` with
``accessibility.json``, the pages and what was found on each. Any finding fails the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from hdab.registry import synth
from tests.e2e.accessibility import Inspector
from tests.support import backends
from tests.support.backends import REPOSITORY_ROOT
from tests.support.cli import hdab_run

pytestmark = pytest.mark.browser
ARTIFACTS = REPOSITORY_ROOT / "test-artifacts" / "journey"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("journey")
    synth.generate(workdir / "var" / "registry", 2_000, 2025, 4)  # the registry the extract reads
    with hdab_run(workdir, **backends.reference_env()) as (base, _env):
        yield base


class Journey:
    def __init__(self, browser: Any, site: str) -> None:
        self.context = browser.new_context(locale="nb-NO")  # a Norwegian researcher: pages in Bokmål
        self.page = self.context.new_page()
        self.site = site
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()
        self.inspector = Inspector(self.context, self.page, site, ARTIFACTS)

    def shot(self, name: str, *, both_languages: bool = True) -> None:
        """Check the page shown (axe, reflow) and keep its screenshots, in both languages."""
        self.inspector.inspect(name, both_languages=both_languages)

    def sign_in(self, subject: str, roles: list[str], email: str = "") -> None:
        page = self.page
        self.context.clear_cookies()
        page.goto(f"{self.site}/dev/signin")
        page.fill('input[name="subject"]', subject)
        page.fill('input[name="name"]', subject)
        if email:
            page.fill('input[name="email"]', email)
        for role in roles:
            page.check(f'input[name="roles"][value="{role}"]')
        page.click('button[type="submit"]')

    def command(
        self, case_url: str, name: str, fields: dict[str, str] | None = None, checks: list[str] = ()
    ) -> None:
        page = self.page
        page.goto(case_url)
        form = page.locator(f"#command-{name}")
        for field, value in (fields or {}).items():
            form.locator(f'[name="{field}"]').fill(value)
        for field in checks:
            form.locator(f'[name="{field}"]').check()
        form.locator('button[type="submit"]').click()
        page.wait_for_load_state()
        assert page.url.startswith(case_url), page.url
        self.shot(name)


def test_from_search_to_delivered_extract_and_published_decision(browser: Any, site: str) -> None:
    from playwright.sync_api import expect

    journey = Journey(browser, site)
    page = journey.page
    page.goto(f"{site}/")
    journey.shot("home")
    page.goto(f"{site}/signin")
    journey.shot("signin")
    page.goto(f"{site}/dev/signin")
    journey.shot("dev-signin")
    journey.sign_in("forsker", ["applicant"], email="forsker@uio.no")
    page.goto(f"{site}/applications")
    journey.shot("my-applications")
    page.goto(f"{site}/applications/new?type=access")
    journey.shot("new-application")
    # a researcher searches, opens NPR somatic care and puts it and two variables in the cart
    page.goto(f"{site}/datasets?lang=nb")
    page.locator("#q").press_sequentially("somatikk", delay=20)
    expect(page).to_have_url(re.compile(r"[?&]q=somatikk"))
    journey.shot("search")
    page.locator('a[href="/datasets/npr-somatikk"]').first.click()
    page.wait_for_load_state()
    journey.shot("dataset")
    page.check('input[name="variables"][value="hovedtilstand"]')
    page.check('input[name="variables"][value="kjonn"]')
    page.click("#add-to-cart")
    page.wait_for_load_state()
    assert re.search(r"/applications/[0-9a-f-]{36}/edit/data$", page.url), page.url
    case_url = page.url.rsplit("/edit/", 1)[0]
    journey.shot("cart")
    # the form, section by section
    page.goto(f"{case_url}/edit/applicant")
    journey.shot("applicant-section")
    # by keyboard: the first Tab reaches the skip link, which takes focus past the menus
    page.keyboard.press("Tab")
    expect(page.locator(".ds-skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    # a section that fails comes back with what was typed, the error at its field and in a summary
    page.fill('input[name="organisation_name"]', "Universitetet i Oslo")
    page.fill('input[name="organisation"]', "97475")
    page.click("#save")
    page.wait_for_load_state()
    expect(page.locator("#error-summary a[href='#f-organisation']")).to_have_count(1)
    expect(page.locator("#f-organisation")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-organisation_name")).to_have_value("Universitetet i Oslo")
    journey.shot("applicant-error", both_languages=False)
    page.click("#error-summary a[href='#f-organisation']")
    expect(page.locator("#f-organisation")).to_be_focused()
    page.fill('input[name="organisation_name"]', "Universitetet i Oslo")
    page.fill('input[name="organisation"]', "974757486")
    page.fill('textarea[name="persons"]', "forsker@uio.no, Kari Forsker\nanalytiker@uio.no, Ola Analytiker")
    page.click("#save")
    page.wait_for_load_state()
    journey.shot("purpose-section")
    page.fill('input[name="title"]', "Hoftebrudd og ventetid")
    page.check('input[name="purpose"][value="e"]')
    page.fill('textarea[name="use_description"]', "Overlevelse etter hoftebrudd etter ventetid.")
    page.fill('textarea[name="expected_benefit"]', "Bedre prioritering.")
    page.fill('input[name="legal_basis"]', "GDPR art. 6 nr. 1 bokstav e")
    page.click("#save")
    page.wait_for_load_state()
    journey.shot("data-section")
    page.click("#save")
    page.wait_for_load_state()
    journey.shot("conditions-section")
    page.fill('textarea[name="safeguards"]', "Kun i det sikre analyserommet.")
    page.fill('input[name="access_start"]', "2027-01-01")
    page.fill('input[name="access_end"]', "2029-12-31")
    page.fill('input[name="tools"]', "R")
    page.fill('input[name="ethics"]', "REK 2026/4242")
    page.click("#save")
    page.wait_for_load_state()
    journey.shot("declaration")
    page.check('input[name="art54_declaration"]')
    page.click("#submit-application")
    page.wait_for_load_state()
    assert page.url == case_url, page.url
    expect(page.locator("#status")).to_contain_text("Mottatt")
    journey.shot("submitted")
    # casework: information requested and provided, processing, fee, assessment, decision
    journey.sign_in("saksbehandler", ["caseworker"])
    page.goto(f"{site}/inbox")
    expect(page.locator(f'a[href="{case_url.removeprefix(site)}"]')).to_have_count(1)
    journey.shot("inbox")
    journey.command(case_url, "start-pre-screening")
    journey.command(case_url, "request-information", {"message": "Send REK-vedtaket."})
    journey.sign_in("forsker", ["applicant"], email="forsker@uio.no")
    journey.command(case_url, "provide-information", {"message": "REK-vedtaket er vedlagt."})
    journey.sign_in("saksbehandler", ["caseworker"])
    journey.command(case_url, "start-processing")
    journey.command(case_url, "estimate-fee", {"amount": "12000"})
    journey.sign_in("forsker", ["applicant"], email="forsker@uio.no")
    journey.command(case_url, "accept-fee")
    journey.sign_in("saksbehandler", ["caseworker"])
    journey.command(
        case_url,
        "record-assessment",
        {"risks": "Lav risiko."},
        checks=[f"criteria_{k}_met" for k in "abcdefgh"],
    )
    journey.sign_in("leder", ["decision_maker"])
    journey.command(case_url, "approve", {"valid_until": "2029-12-31", "conditions": "Ingen kobling."})
    expect(page.locator("#permit-link")).to_have_count(1)
    permit_id = page.locator("#permit-link").inner_text().strip()
    # the extract, run after the approval answered, was delivered into the secure analysis room
    journey.sign_in("saksbehandler", ["caseworker"])
    first_delivery = page.locator("#deliveries tbody tr td").first
    for _ in range(60):
        page.goto(f"{site}/extracts/permits/{permit_id}")
        if first_delivery.inner_text().strip() == "1":
            break
        page.wait_for_timeout(1000)
    expect(first_delivery).to_have_text("1")
    journey.shot("delivered")
    page.locator("#deliveries tbody tr td a").first.click()
    page.wait_for_load_state()
    journey.shot("extract")
    page.goto(f"{site}/permits/{permit_id}")
    journey.shot("permit")
    page.goto(f"{site}/no/such/page")
    journey.shot("not-found")
    # the public register shows the decision, without the team's names
    journey.context.clear_cookies()
    page.goto(f"{site}/register?dataset=npr-somatikk&lang=nb")
    expect(page.locator("#register")).to_contain_text("Hoftebrudd og ventetid")
    expect(page.locator("#register")).to_contain_text("Universitetet i Oslo")
    assert "Kari Forsker" not in page.content()
    journey.shot("register")
    page.goto(f"{site}/datasets/npr-somatikk")
    journey.shot("dataset-signed-out")
    findings = journey.inspector.report()
    journey.context.close()
    pages = journey.inspector.counts
    assert len(pages) >= 25 and len(list(ARTIFACTS.glob("*-nb-320.png"))) == len(pages)
    assert not findings, f"axe-core or reflow found problems:\n{findings}"
