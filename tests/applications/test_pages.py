"""The pages: cart from the dataset page, the form by section with inline errors, case page actions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hdab.core.auth import Role
from hdab.core.settings import Settings
from tests.support.forms import post_form


def sign_in(client: TestClient, subject: str, *roles: Role, email: str = "") -> None:
    client.cookies.clear()
    response = post_form(
        client,
        "/dev/signin",
        data={"subject": subject, "roles": [str(r) for r in roles], "email": email, "name": subject},
        follow_redirects=False,
    )
    assert response.status_code == 303


def post(client: TestClient, url: str, data: dict[str, object]) -> str:
    response = post_form(client, url, data, follow_redirects=False)
    assert response.status_code == 303, (url, response.status_code, response.text[:2000])
    return response.headers["location"]


def test_a_researcher_applies_through_the_pages_and_staff_decide(
    client: TestClient, seeded: Settings
) -> None:
    sign_in(client, "researcher", Role.APPLICANT, email="researcher@uio.no")
    page = client.get("/datasets/npr-somatikk", headers={"Accept": "text/html"})
    assert 'action="/applications/cart"' in page.text and 'value="hovedtilstand"' in page.text
    location = post(
        client, "/applications/cart", {"dataset": "npr-somatikk", "variables": ["hovedtilstand", "kjonn"]}
    )
    case_id = location.split("/")[2]
    assert location.endswith("/edit/data")
    data_page = client.get(location)
    assert 'name="d0_variables" value="hovedtilstand" checked' in data_page.text

    post(
        client,
        f"/applications/{case_id}/edit/applicant",
        {
            "organisation_name": "Universitetet i Oslo",
            "organisation": "974757486",
            "persons": "pi@uio.no, Kari Nordmann\nanalyst@uio.no, Ola Nordmann",
        },
    )
    # inline validation: a purpose open only to public bodies is refused with the article
    post(client, f"/applications/{case_id}/edit/purpose", {"title": "Hip fractures", "purpose": "a"})
    submit = post_form(
        client, f"/applications/{case_id}/edit/submit", {"art54_declaration": "on", "action": "submit"}
    )
    assert submit.status_code == 422 and "53(2)" in submit.text and "use_description" in submit.text
    post(
        client,
        f"/applications/{case_id}/edit/purpose",
        {
            "title": "Hip fractures",
            "purpose": "e",
            "use_description": "Survival after hip fracture",
            "expected_benefit": "Better triage",
            "legal_basis": "GDPR 6(1)(e)",
        },
    )
    post(
        client,
        f"/applications/{case_id}/edit/data",
        {
            "d0_variables": ["hovedtilstand", "kjonn", "fodselsar"],
            "d0_start": "2020-01-01",
            "d0_end": "2024-12-31",
            "d0_cohort_variable": "hovedtilstand",
            "d0_prefixes": "S72",
            "d0_quasi": ["kjonn", "fodselsar"],
        },
    )
    post(
        client,
        f"/applications/{case_id}/edit/conditions",
        {
            "safeguards": "Secure environment only",
            "access_start": "2027-01-01",
            "access_end": "2029-12-31",
            "tools": "R",
            "ethics": "REK 2026/1",
        },
    )
    assert (
        post(client, f"/applications/{case_id}/edit/submit", {"art54_declaration": "on", "action": "submit"})
        == f"/applications/{case_id}"
    )
    case_page = client.get(f"/applications/{case_id}")
    # the status and the history in words, in the page's language (bokmål by default)
    assert 'id="status">Mottatt<' in case_page.text
    assert "Søknaden ble sendt inn" in case_page.text and "draft_updated" not in case_page.text

    sign_in(client, "saksbehandler", Role.CASEWORKER)
    inbox = client.get("/inbox")
    assert case_id in inbox.text
    post(client, f"/applications/{case_id}/do/start-pre-screening", {})
    post(client, f"/applications/{case_id}/do/request-information", {"message": "Send the REK letter"})
    sign_in(client, "researcher", Role.APPLICANT, email="researcher@uio.no")
    post(client, f"/applications/{case_id}/do/provide-information", {"message": "Attached"})
    sign_in(client, "saksbehandler", Role.CASEWORKER)
    post(client, f"/applications/{case_id}/do/start-processing", {})
    post(client, f"/applications/{case_id}/do/estimate-fee", {"amount": "9000", "currency": "NOK"})
    sign_in(client, "researcher", Role.APPLICANT, email="researcher@uio.no")
    post(client, f"/applications/{case_id}/do/accept-fee", {})
    sign_in(client, "saksbehandler", Role.CASEWORKER)
    criteria = {f"criteria_{k}_met": "on" for k in "abcdefgh"}
    post(client, f"/applications/{case_id}/do/record-assessment", {**criteria, "risks": "low"})
    # the staff read the whole application and the assessment on the case page, in words
    staff_view = client.get(f"/applications/{case_id}").text
    for shown in ("Survival after hip fracture", "Kari Nordmann", "analyst@uio.no", "S72", "REK 2026/1"):
        assert shown in staff_view, shown
    assert "(a) Formålet er ett av dem i art. 53(1)." in staff_view and ">low<" in staff_view
    assert "Gebyret ble anslått" in staff_view and "9\xa0000,00\xa0kr" in staff_view
    assert "fee_estimated" not in staff_view and "accept-fee" not in staff_view
    refused = post_form(client, f"/applications/{case_id}/do/approve", {"valid_until": "2029-12-31"})
    assert refused.status_code == 403 and "decision_maker" in refused.text
    sign_in(client, "leder", Role.DECISION_MAKER)
    post(
        client,
        f"/applications/{case_id}/do/approve",
        {"valid_until": "2029-12-31", "conditions": "No linkage"},
    )
    case_page = client.get(f"/applications/{case_id}?lang=en")
    assert 'id="permit-link"' in case_page.text and '<html lang="en"' in case_page.text
    assert "Decision made (approved)" in case_page.text and "The permit ends" in case_page.text
    assert "POSITIVE" not in case_page.text and "permit_expiry" not in case_page.text
    permit_id = case_page.text.split('href="/permits/')[1].split('"')[0]
    permit_page = client.get(f"/permits/{permit_id}")
    assert permit_page.status_code == 200 and "/jws?version=1" in permit_page.text

    client.cookies.clear()
    register = client.get("/register?dataset=npr-somatikk&lang=en")
    assert "Hip fractures" in register.text and "Universitetet i Oslo" in register.text
    assert "Kari Nordmann" not in register.text and "pi@uio.no" not in register.text


def test_pages_need_sign_in_and_hide_other_peoples_cases(client: TestClient, seeded: Settings) -> None:
    page = client.get("/applications", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/signin?next=%2Fapplications"
    sign_in(client, "researcher", Role.APPLICANT, email="researcher@uio.no")
    location = post(client, "/applications", {"type": "statistics", "dataset": "npr-somatikk"})
    case_id = location.split("/")[2]
    sign_in(client, "other", Role.APPLICANT, email="other@ntnu.no")
    assert client.get(f"/applications/{case_id}").status_code == 404
    assert post_form(client, f"/applications/{case_id}/edit/purpose", {"title": "x"}).status_code == 404
    assert client.get("/inbox").status_code == 403


def test_a_refused_page_command_keeps_what_came_before_it_and_nothing_of_its_own(
    client: TestClient, seeded: Settings
) -> None:
    sign_in(client, "researcher", Role.APPLICANT, email="researcher@uio.no")
    case_id = post(client, "/applications", {"type": "access", "dataset": "npr-somatikk"}).split("/")[2]
    before = client.get(f"/api/applications/{case_id}").json()
    # an invalid section is not saved at all
    refused = post_form(client, f"/applications/{case_id}/edit/purpose", {"title": "x" * 600})
    assert refused.status_code == 422
    assert client.get(f"/api/applications/{case_id}").json()["version"] == before["version"]
    # the declaration is saved although the incomplete draft's submission is refused
    submit = post_form(
        client, f"/applications/{case_id}/edit/submit", {"art54_declaration": "on", "action": "submit"}
    )
    assert submit.status_code == 422
    after = client.get(f"/api/applications/{case_id}").json()
    assert after["status"] == "DRAFT" and after["form"]["art54_declaration"] is True
    assert [e["type"] for e in after["events"]][-1] == "draft_updated"
    # a command the case's state does not allow changes nothing
    assert post_form(client, f"/applications/{case_id}/do/accept-fee", {}).status_code in (403, 409)
    assert client.get(f"/api/applications/{case_id}").json()["version"] == after["version"]


def _field(html: str, name: str) -> str:
    """The opening tag of the input or textarea named ``name``."""
    start = max(
        html.find(f'<input class="ds-input" id="f-{name}"'),
        html.find(f'<textarea class="ds-input" id="f-{name}"'),
    )
    assert start >= 0, name
    return html[start : html.index(">", start) + 1]


def test_a_section_that_fails_comes_back_with_what_was_typed_and_the_error_at_its_field(
    client: TestClient, seeded: Settings
) -> None:
    sign_in(client, "researcher", Role.APPLICANT, email="researcher@uio.no")
    case_id = post(client, "/applications", {"type": "access", "dataset": "npr-somatikk"}).split("/")[2]
    typed = {
        "title": "x" * 600,  # longer than a title may be
        "purpose": "e",
        "use_description": "Overlevelse etter hoftebrudd <b>uten</b> tap",
        "legal_basis": "GDPR art. 6 nr. 1 e",
    }
    page = post_form(client, f"/applications/{case_id}/edit/purpose", typed)
    assert page.status_code == 422
    html = page.text
    # everything typed is still there (escaped), the radio button chosen too
    assert 'value="' + "x" * 600 + '"' in html
    assert "Overlevelse etter hoftebrudd &lt;b&gt;uten&lt;/b&gt; tap</textarea>" in html
    assert 'value="GDPR art. 6 nr. 1 e"' in html
    assert 'name="purpose" value="e" id="f-purpose-e" checked' in html
    # the error at the field, tied to it, and in the summary with a link to it
    title = _field(html, "title")
    assert 'aria-invalid="true"' in title and 'aria-describedby="f-title-error"' in title
    assert 'id="f-title-error"' in html and 'class="ds-error-summary"' in html
    assert 'href="#f-title"' in html and "høyst 500 tegn" in html
    assert "aria-invalid" not in _field(html, "use_description")
    # nothing was saved
    assert client.get(f"/api/applications/{case_id}").json()["form"].get("title") is None


def test_a_person_list_that_fails_is_kept_as_typed(client: TestClient, seeded: Settings) -> None:
    sign_in(client, "researcher", Role.APPLICANT, email="researcher@uio.no")
    case_id = post(client, "/applications", {"type": "access", "dataset": "npr-somatikk"}).split("/")[2]
    typed = {
        "organisation_name": "UiO",
        "organisation": "12",
        "persons": "not-an-email, Kari\nola@uio.no, Ola",
    }
    page = post_form(client, f"/applications/{case_id}/edit/applicant", typed)
    assert page.status_code == 422
    assert 'value="12"' in page.text and "not-an-email, Kari\nola@uio.no, Ola</textarea>" in page.text
    assert 'aria-invalid="true"' in _field(page.text, "organisation")
    assert 'aria-invalid="true"' in _field(page.text, "persons")


def test_the_commands_shown_are_the_ones_the_person_may_run(client: TestClient, seeded: Settings) -> None:
    sign_in(client, "researcher", Role.APPLICANT, email="researcher@uio.no")
    case_id = post(client, "/applications", {"type": "access", "dataset": "npr-somatikk"}).split("/")[2]
    mine = client.get(f"/applications/{case_id}").text
    assert 'id="command-withdraw"' in mine and 'id="command-start-pre-screening"' not in mine
    assert "Trekk søknaden" in mine


def test_the_language_is_chosen_once_and_kept_across_pages(client: TestClient, seeded: Settings) -> None:
    assert '<html lang="nb"' in client.get("/register").text
    switched = client.get("/language/en", params={"next": "/register?q=hofte"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/register?q=hofte"
    assert "hdab_lang=en" in switched.headers["set-cookie"]
    for path in ("/register", "/datasets", "/", "/datasets/npr-somatikk"):
        page = client.get(path, headers={"Accept": "text/html", "Accept-Language": "nb"})
        assert '<html lang="en"' in page.text, path
    assert "Public register of applications and decisions" in client.get("/register").text
    # the link to switch back names the other language in that language
    assert 'href="/language/nb?next=/register" hreflang="nb" lang="nb"' in client.get("/register").text
    # never a way off the site, and only the two languages
    assert (
        client.get("/language/en", params={"next": "//evil.example"}, follow_redirects=False).headers[
            "location"
        ]
        == "/"
    )
    assert client.get("/language/de", follow_redirects=False).status_code == 404
