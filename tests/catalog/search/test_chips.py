"""The catalogue's chosen filters are shown as chips, each a link that removes it, in the page's language."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_each_chosen_filter_is_a_chip_that_removes_it(search_client: TestClient) -> None:
    page = search_client.get("/datasets?q=hovedtilstand&lang=en&coding_system=ICD-10")
    assert page.status_code == 200
    chips = page.text.split('<ul class="chips">', 1)[1].split("</ul>", 1)[0]
    assert 'class="ds-chip"' in chips and 'data-facet="coding_system"' in chips
    assert 'href="?q=hovedtilstand&amp;lang=en"' in chips  # the same search without the filter
    assert 'aria-label="Remove the filter Coding system: ICD-10"' in chips
    plain = search_client.get("/datasets?q=hovedtilstand&lang=nb")
    assert 'class="chips"' not in plain.text
    norsk = search_client.get("/datasets?q=hovedtilstand&lang=nb&coding_system=ICD-10")
    assert "Fjern filteret Kodeverk: ICD-10" in norsk.text
