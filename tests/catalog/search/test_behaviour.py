"""The search behaviour every backend must show on the seed (issue: the same answers everywhere)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.catalog.seed_identifiers import SEED

NPR_WITH_MAIN_CONDITION = {
    "npr-somatikk",
    "npr-phv",
    "npr-phbu",
    "npr-tsb",
    "npr-avtalespesialister",
    "npr-rehabilitering",
}

EXPECTED = {
    "somatikk": {"npr-somatikk"},
    "somatik": {"npr-somatikk"},
    "hovedtilstand": NPR_WITH_MAIN_CONDITION,
    "NCSP": {"npr-somatikk"},
    "ICPC-2": {"kpr-kuhr"},
    "refusjon": {"kpr-kuhr"},
    "fysioterapi": {"kpr-kuhr"},
    "psykisk helsevern": {"npr-phv", "npr-phbu"},
    "mental health": {"npr-phv", "npr-phbu"},
    "rusbehandling": {"npr-tsb"},
    "rusbehandlng": {"npr-tsb"},
    "hjemmet": {"kpr-helse-og-omsorg"},
}


def search(client: TestClient, **params: object) -> dict[str, object]:
    response = client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def found(body: dict[str, object]) -> set[str]:
    return {item["identifier"] for item in body["items"]}  # type: ignore[attr-defined,index]


@pytest.mark.parametrize("query", sorted(EXPECTED))
def test_query_finds_at_least_the_listed_datasets(search_client: TestClient, query: str) -> None:
    body = search(search_client, q=query)
    assert EXPECTED[query] <= found(body), body


def test_empty_query_lists_every_dataset_with_all_facets(search_client: TestClient) -> None:
    body = search(search_client)
    assert found(body) == SEED
    assert body["total"] == 8
    facets = body["facets"]
    assert set(facets) == {  # type: ignore[arg-type]
        "theme",
        "health_category",
        "publisher",
        "access_rights",
        "coding_system",
        "keyword",
        "language",
        "temporal",
        "has_variable",
    }
    counts = {f: {v["value"]: v["count"] for v in values} for f, values in facets.items()}  # type: ignore[union-attr]
    assert counts["theme"] == {"HEAL": 8}
    assert counts["health_category"] == {"PHDR": 8, "HRAD": 1}
    assert counts["publisher"] == {"983744516": 8}
    assert counts["access_rights"] == {"NON_PUBLIC": 8}
    assert counts["coding_system"] == {"ICD-10": 7, "PROC-CODES-NAT": 6, "ICPC-2": 1}
    assert counts["has_variable"]["hovedtilstand"] == 6
    assert counts["has_variable"]["lopenummer"] == 8
    assert counts["temporal"]["2010-2019"] == 4
    assert counts["temporal"]["1990-1999"] == 1


def test_facet_filter_narrows_and_repeats_mean_or(search_client: TestClient) -> None:
    kpr = search(search_client, health_category="HRAD")
    assert found(kpr) == {"kpr-kuhr"}
    either = search_client.get(
        "/api/search", params=[("coding_system", "ICPC-2"), ("coding_system", "PROC-CODES-NAT")]
    ).json()
    assert found(either) == NPR_WITH_MAIN_CONDITION | {"kpr-kuhr"}


def test_facet_counts_respect_the_other_selected_facets(search_client: TestClient) -> None:
    body = search_client.get(
        "/api/search", params=[("coding_system", "ICPC-2"), ("health_category", "PHDR")]
    ).json()
    counts = {f: {v["value"]: v["count"] for v in values} for f, values in body["facets"].items()}
    # coding_system's own selection does not narrow its counts; health_category's does (all PHDR).
    assert counts["coding_system"] == {"ICD-10": 7, "PROC-CODES-NAT": 6, "ICPC-2": 1}
    # health_category counts are narrowed by coding_system=ICPC-2 (only kpr-kuhr).
    assert counts["health_category"] == {"PHDR": 1, "HRAD": 1}
    assert body["total"] == 1


def test_facet_value_is_the_parameter_verbatim(search_client: TestClient) -> None:
    body = search(search_client)
    for facet, values in body["facets"].items():  # type: ignore[union-attr]
        for value in values[:3]:
            narrowed = search_client.get("/api/search", params={facet: value["value"]}).json()
            assert narrowed["total"] == value["count"], (facet, value)


def test_variables_are_searchable_and_named_in_the_hit(search_client: TestClient) -> None:
    body = search(search_client, q="takstkoder")
    [hit] = [i for i in body["items"] if i["identifier"] == "kpr-kuhr"]  # type: ignore[union-attr]
    assert "takstkoder" in hit["matched_variables"]
    body = search(search_client, q="waiting time deadline")
    hits = {i["identifier"]: i for i in body["items"]}  # type: ignore[union-attr]
    assert "frist_start_behandling" in hits["npr-somatikk"]["matched_variables"]


def test_hits_highlight_matches_and_labels_follow_the_language(search_client: TestClient) -> None:
    body = search_client.get("/api/search", params={"q": "rusbehandling", "lang": "nb"}).json()
    hit = next(i for i in body["items"] if i["identifier"] == "npr-tsb")
    assert "<mark>rusbehandling</mark>" in hit["highlight"]["title"]
    en = search_client.get("/api/search", params={"lang": "en"}).json()
    nb = search_client.get("/api/search", params={"lang": "nb"}).json()
    label = lambda b: {v["value"]: v["label"] for v in b["facets"]["health_category"]}["PHDR"]  # noqa: E731
    assert label(en) == "Population-based health registries"
    assert label(nb) == "Befolkningsbaserte helseregistre"


@pytest.mark.parametrize(
    "params", [{"sort": "random"}, {"page": "0"}, {"page_size": "5000"}, {"q": "x" * 501}]
)
def test_bad_parameters_are_422(search_client: TestClient, params: dict[str, str]) -> None:
    response = search_client.get("/api/search", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_paging_and_sorting(search_client: TestClient) -> None:
    first = search(search_client, page_size=3, sort="identifier")
    second = search(search_client, page=2, page_size=3, sort="identifier")
    assert [i["identifier"] for i in first["items"]] == sorted(SEED)[:3]  # type: ignore[union-attr]
    assert [i["identifier"] for i in second["items"]] == sorted(SEED)[3:6]  # type: ignore[union-attr]


def test_the_backend_the_settings_choose_is_the_one_answering(
    search_client: TestClient, search_settings: object
) -> None:
    from hdab.catalog.search import backend

    expected = "opensearch" if getattr(search_settings, "search_url", "") else "embedded"
    assert backend().name == expected
    assert search(search_client)["total"] == 8


def test_stemming_is_the_same_from_many_threads() -> None:
    """One shared snowball stemmer raised IndexError and returned wrong stems under concurrent searches."""
    from concurrent.futures import ThreadPoolExecutor

    from hdab.catalog.search import analysis

    words = [
        f"{stem}{suffix}"
        for stem in ("hjerte", "sykehus", "innleggelse", "diagnose")
        for suffix in ("", "ne", "r", "ene", "ing")
    ] * 200
    expected = {w: analysis.stems.__wrapped__(w) for w in set(words)}
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(analysis.stems.__wrapped__, words))
    assert got == [expected[w] for w in words]
