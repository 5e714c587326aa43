"""/datasets: a plain search form that works without JavaScript, facets with counts, shareable URLs."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_search_page_without_javascript(search_client: TestClient) -> None:
    page = search_client.get("/datasets", params={"q": "rusbehandling", "lang": "nb"})
    assert page.status_code == 200
    assert '<form id="search" method="get" action="/datasets"' in page.text
    assert 'value="rusbehandling"' in page.text
    assert 'href="/datasets/npr-tsb"' in page.text
    assert "<mark>rusbehandling</mark>" in page.text or "<mark>Rusbehandling</mark>" in page.text
    assert "Helsekategori" in page.text


def test_facet_links_keep_the_state_in_the_url(search_client: TestClient) -> None:
    page = search_client.get("/datasets", params={"q": "hovedtilstand", "lang": "en"})
    assert 'href="?q=hovedtilstand&amp;lang=en&amp;coding_system=ICD-10"' in page.text
    narrowed = search_client.get("/datasets?q=hovedtilstand&lang=en&coding_system=PROC-CODES-NAT")
    assert 'aria-current="true"' in narrowed.text
    assert '<input type="hidden" name="coding_system" value="PROC-CODES-NAT">' in narrowed.text
    assert "Matching variables" in narrowed.text and "#variable-hovedtilstand" in narrowed.text


def test_partial_results_for_search_as_you_type(search_client: TestClient) -> None:
    partial = search_client.get("/datasets", params={"q": "refusjon", "partial": "1"})
    assert partial.text.lstrip().startswith('<div class="search-results">')
    assert "<html" not in partial.text
    script = search_client.get("/static/search.js")
    assert script.status_code == 200
    assert "setTimeout" in script.text and "history.replaceState" in script.text


def test_markup_in_a_title_is_shown_as_text_not_run(
    search_client: TestClient, search_settings: object
) -> None:
    from hdab.catalog import service
    from hdab.core import audit, runtime

    with runtime.database().session() as session:
        record = service.current_record(service._find(session, "npr-tsb"))
    import dataclasses

    evil = dataclasses.replace(
        record, title=dataclasses.replace(record.title, nb='Rus <script>alert("x")</script> behandling')
    )
    with runtime.database().session() as session:
        service.upsert(session, audit.SYSTEM_ACTOR, evil, "markup test")
    page = search_client.get("/datasets", params={"q": "behandling", "lang": "nb"})
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    api = search_client.get("/api/search", params={"q": "behandling", "lang": "nb"}).json()
    hit = next(i for i in api["items"] if i["identifier"] == "npr-tsb")
    assert "<script>" not in hit["highlight"].get("title", "")
