"""Publishing for harvesters: /catalog in four formats, paged with Hydra, incremental, cacheable; and
dataset URLs that dereference."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.namespace import RDF

from hdab.catalog.rdf.namespaces import DCAT, HYDRA
from hdab.catalog.rdf.shacl import shapes_bundle
from hdab.core import clock
from hdab.core.settings import Settings
from tests.catalog.seed_identifiers import SEED
from tests.support import backends

FORMATS = {
    "ttl": ("text/turtle", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
    "rdf": ("application/rdf+xml", "xml"),
    "nt": ("application/n-triples", "nt"),
}


def graph_of(response: object, rdflib_format: str) -> Graph:
    return Graph().parse(data=response.content, format=rdflib_format)  # type: ignore[attr-defined]


def identifiers(graph: Graph) -> set[str]:
    from rdflib.namespace import DCTERMS

    return {str(graph.value(d, DCTERMS.identifier)) for d in graph.subjects(RDF.type, DCAT.Dataset)}


def test_catalog_defaults_to_turtle_with_every_dataset(client: TestClient) -> None:
    response = client.get("/catalog")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    graph = graph_of(response, "turtle")
    assert identifiers(graph) == SEED
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    assert len(list(graph.objects(catalog, DCAT.dataset))) == 8


@pytest.mark.parametrize("key", sorted(FORMATS))
def test_every_format_by_accept_and_by_parameter(client: TestClient, key: str) -> None:
    media, rdflib_format = FORMATS[key]
    by_accept = client.get("/catalog", headers={"Accept": f"{media}, text/html;q=0.5"})
    by_param = client.get(f"/catalog?format={key}", headers={"Accept": "text/turtle"})
    for response in (by_accept, by_param):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        assert identifiers(graph_of(response, rdflib_format)) == SEED
    assert len(graph_of(by_accept, rdflib_format)) == len(graph_of(client.get("/catalog"), "turtle"))


def test_unknown_format_is_422(client: TestClient) -> None:
    response = client.get("/catalog?format=csv")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.format"


def test_paging_is_stable_and_carries_both_hydra_forms(client: TestClient) -> None:
    seen: list[str] = []
    for page in (1, 2, 3):
        graph = graph_of(client.get(f"/catalog?page={page}&page_size=3"), "turtle")
        view = next(graph.subjects(RDF.type, HYDRA.PartialCollectionView))
        assert (view, RDF.type, HYDRA.PagedCollection) in graph
        assert int(graph.value(view, HYDRA.totalItems)) == 8
        assert str(graph.value(view, HYDRA.first)).endswith("page=1&page_size=3")
        assert str(graph.value(view, HYDRA.last)) == str(graph.value(view, HYDRA.lastPage))
        assert str(graph.value(view, HYDRA.last)).endswith("page=3&page_size=3")
        assert (graph.value(view, HYDRA.next) is None) == (page == 3)
        assert (graph.value(view, HYDRA.previous) is None) == (page == 1)
        assert graph.value(view, HYDRA.next) == graph.value(view, HYDRA.nextPage)
        seen.extend(sorted(identifiers(graph)))
    assert seen == sorted(SEED)  # ordered by identifier, no overlap, nothing missing


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=1001", "page=x"])
def test_bad_paging_is_422(client: TestClient, query: str) -> None:
    assert client.get(f"/catalog?{query}").status_code == 422


def test_modified_since_returns_only_later_changes(client: TestClient, holder: dict[str, str]) -> None:
    clock.advance(timedelta(hours=1))
    since = clock.now().isoformat()
    clock.advance(timedelta(minutes=5))
    current = client.get("/api/datasets/kpr-kuhr").json()["record"]
    current["keywords"].append({"value": "legevakt statistikk", "lang": "nb"})
    assert (
        client.put(
            "/api/datasets/kpr-kuhr", json={"record": current, "note": "keyword"}, headers=holder
        ).status_code
        == 200
    )
    graph = graph_of(client.get("/catalog", params={"modified_since": since}), "turtle")
    assert identifiers(graph) == {"kpr-kuhr"}
    assert client.get("/catalog?modified_since=yesterday").status_code == 422


def test_etag_and_last_modified_give_304(client: TestClient) -> None:
    first = client.get("/catalog")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get("/catalog", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/catalog", headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get("/catalog?format=nt", headers={"If-None-Match": etag}).status_code == 200
    page = client.get("/datasets/npr-tsb", headers={"Accept": "text/turtle"})
    assert (
        client.get(
            "/datasets/npr-tsb", headers={"Accept": "text/turtle", "If-None-Match": page.headers["etag"]}
        ).status_code
        == 304
    )


def test_dataset_url_dereferences_to_html_or_rdf(client: TestClient) -> None:
    html = client.get("/datasets/npr-somatikk", headers={"Accept": "text/html,application/xhtml+xml"})
    assert html.headers["content-type"].startswith("text/html")
    assert '<script type="application/ld+json">' in html.text
    assert 'id="variable-hovedtilstand"' in html.text
    assert "/applications/new?type=access&amp;dataset=npr-somatikk" in html.text
    for key, (media, rdflib_format) in FORMATS.items():
        response = client.get(f"/datasets/npr-somatikk?format={key}")
        assert response.headers["content-type"].startswith(media)
        assert identifiers(graph_of(response, rdflib_format)) == {"npr-somatikk"}
    assert (
        client.get("/datasets/npr-somatikk", headers={"Accept": "application/ld+json"})
        .headers["content-type"]
        .startswith("application/ld+json")
    )


def test_dataset_page_speaks_norwegian_and_english(client: TestClient) -> None:
    nb = client.get("/datasets/npr-phv", headers={"Accept": "text/html", "Accept-Language": "nb-NO,nb;q=0.9"})
    en = client.get("/datasets/npr-phv?lang=en", headers={"Accept": "text/html"})
    assert "Søk om tilgang" in nb.text and "psykisk helsevern for voksne" in nb.text
    assert "Apply for access" in en.text and "mental health care for adults" in en.text


def test_unknown_dataset_is_404(client: TestClient) -> None:
    assert client.get("/datasets/npr-nope").status_code == 404


def test_whole_paged_catalogue_conforms_to_the_official_shapes(client: TestClient, seeded: Settings) -> None:
    bundle = shapes_bundle(backends.reference())
    for page in (1, 2):
        graph = graph_of(client.get(f"/catalog?page={page}&page_size=4"), "turtle")
        report = bundle.validate(graph)
        assert report.violations == (), "\n".join(map(str, report.violations))
