"""HTTP as harvesters, link checkers and browsers expect it (issue 18, item 3): HEAD wherever GET is,
CORS on the public reads, Accept honoured (a browser gets HTML, an impossible Accept 406),
Cache-Control, Link paging, and every IRI the catalogue mints dereferences."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF

from hdab.catalog.rdf.formats import HTML, RDF_MEDIA_TYPES, negotiate, parse_accept
from hdab.catalog.rdf.namespaces import DCAT
from hdab.core.settings import Settings
from tests.catalog.seed_identifiers import SEED

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def links(response: object) -> dict[str, str]:
    header = response.headers.get("link", "")  # type: ignore[attr-defined]
    return {rel: url for url, rel in re.findall(r'<([^>]+)>;\s*rel="([^"]+)"', header)}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- HEAD -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/catalog",
        "/catalog?format=jsonld&page=2&page_size=3",
        "/datasets/npr-tsb?format=ttl",
        "/datasets/npr-tsb",
        "/api/datasets",
        "/api/datasets/npr-tsb",
        "/agents/hdab",
        "/ns",
        "/healthz",
    ],
)
def test_head_answers_as_get_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert get.status_code == 200
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "etag", "last-modified", "link", "cache-control", "content-length"):
        assert head.headers.get(name) == get.headers.get(name), name


def test_head_is_refused_where_get_is(client: TestClient) -> None:
    assert client.head("/api/catalog/import").status_code == 405  # POST only
    assert client.head("/datasets/npr-nope").status_code == 404


# --- CORS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/catalog", "/datasets/npr-phv?format=jsonld", "/api/datasets", "/agents/hdab"]
)
def test_public_reads_allow_any_origin(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Origin": "https://data.norge.no"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "link" in response.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


def test_preflight_allows_reading_not_writing(client: TestClient) -> None:
    origin = {"Origin": "https://example.org"}
    read = client.options("/catalog", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert read.status_code == 200
    assert {m.strip() for m in read.headers["access-control-allow-methods"].split(",")} == {
        "GET",
        "HEAD",
        "OPTIONS",
    }
    write = client.options(
        "/api/datasets/npr-tsb", headers={**origin, "Access-Control-Request-Method": "PUT"}
    )
    assert write.status_code == 400
    plain = client.options("/datasets/npr-tsb")
    assert plain.status_code == 204
    assert plain.headers["allow"] == "GET, HEAD, OPTIONS"


def test_no_cors_outside_the_public_catalogue(client: TestClient) -> None:
    response = client.get("/api/me", headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/api/applications",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


# --- content negotiation -------------------------------------------------------------------------


def test_a_browser_opening_the_catalogue_is_sent_to_the_dataset_list(client: TestClient) -> None:
    response = client.get("/catalog", headers={"Accept": BROWSER}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/datasets"
    assert "accept" in response.headers["vary"].lower()
    assert (
        client.get("/datasets/npr-tsb", headers={"Accept": BROWSER}).headers["content-type"].startswith(HTML)
    )


@pytest.mark.parametrize(
    "accept",
    ["application/pdf", "text/turtle;q=0", "image/*", "text/html;q=0, application/*;q=0, text/*;q=0"],
)
def test_an_accept_that_allows_nothing_we_have_is_406_naming_what_we_have(
    client: TestClient, accept: str
) -> None:
    for path in ("/catalog", "/datasets/npr-tsb", "/agents/hdab"):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 406, (path, accept)
        # none of these accepts HTML (text/html;q=0 refuses it): the answer is a problem document
        assert response.headers["content-type"].startswith("application/problem+json"), (path, accept)
        assert "text/turtle" in response.json()["detail"]
        assert "application/ld+json" in response.text


def test_q0_refuses_a_type_even_beside_a_wildcard(client: TestClient) -> None:
    response = client.get("/catalog", headers={"Accept": "text/turtle;q=0, */*;q=0.5"})
    assert response.status_code == 200
    assert not response.headers["content-type"].startswith("text/turtle")
    assert client.get("/catalog", headers={"Accept": "*/*"}).headers["content-type"].startswith("text/turtle")
    no_html = client.get("/datasets/npr-tsb", headers={"Accept": "text/html;q=0, */*"})
    assert no_html.headers["content-type"].startswith("text/turtle")


MEDIA = st.sampled_from([*RDF_MEDIA_TYPES, HTML, "application/pdf", "*/*", "text/*", "application/*"])
QUALITY = st.sampled_from(["", ";q=0", ";q=0.1", ";q=0.5", ";q=1", ";q=0.000"])


@given(st.lists(st.tuples(MEDIA, QUALITY), max_size=6))
def test_negotiation_picks_a_best_allowed_offer_or_none(ranges: list[tuple[str, str]]) -> None:
    header = ", ".join(m + q for m, q in ranges)
    offers = (*RDF_MEDIA_TYPES, HTML)
    chosen = negotiate(header, offers, "text/turtle")
    parsed = parse_accept(header)

    def quality(offer: str) -> float:
        exact = [q for m, q in parsed if m == offer]
        group = [q for m, q in parsed if m.endswith("/*") and m != "*/*" and offer.startswith(m[:-1])]
        anything = [q for m, q in parsed if m == "*/*"]
        found = exact or group or anything
        return min(found) if found else 0.0

    if not parsed:
        assert chosen == "text/turtle"
        return
    best = max(quality(o) for o in offers)
    if best == 0:
        assert chosen is None
    else:
        assert chosen is not None
        assert quality(chosen) == best


# --- caching and paging ----------------------------------------------------------------------------


def test_cache_control_on_rdf_and_pages(client: TestClient) -> None:
    assert "max-age" in client.get("/catalog").headers["cache-control"]
    assert "max-age" in client.get("/datasets/npr-tsb?format=ttl").headers["cache-control"]
    assert (
        client.get("/datasets/npr-tsb", headers={"Accept": "text/html"}).headers["cache-control"]
        == "no-cache"
    )


def test_a_harvester_following_link_headers_gets_the_whole_catalogue_once(client: TestClient) -> None:
    url = "/catalog?page_size=3&format=nt"
    seen: list[str] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        graph = Graph().parse(data=response.content, format="nt")
        seen.extend(
            sorted(str(graph.value(d, DCTERMS.identifier)) for d in graph.subjects(RDF.type, DCAT.Dataset))
        )
        found = links(response)
        assert path_of(found["first"]).endswith("page=1&page_size=3")
        assert path_of(found["last"]).endswith("page=3&page_size=3")
        assert ("prev" in found) == (pages > 0)
        assert "format=nt" in found["first"]  # the format asked for is kept
        pages += 1
        url = path_of(found["next"]) if "next" in found else ""
    assert pages == 3
    assert seen == sorted(SEED)


def test_the_json_api_pages_link_too(client: TestClient) -> None:
    first = client.get("/api/datasets?page_size=5")
    found = links(first)
    assert set(found) == {"first", "last", "next"}
    second = client.get(path_of(found["next"]))
    assert {i["identifier"] for i in first.json()["items"]} | {
        i["identifier"] for i in second.json()["items"]
    } == SEED
    assert "next" not in links(second)
    search = client.get("/api/search?page_size=2&access_rights=NON_PUBLIC")
    assert "access_rights=NON_PUBLIC" in links(search)["next"]


# --- dereferencing ------------------------------------------------------------------------------------


def test_every_iri_the_catalogue_mints_dereferences(client: TestClient, seeded: Settings) -> None:
    base = seeded.base_url
    graph = Graph().parse(data=client.get("/catalog?format=nt").content, format="nt")
    minted = {
        str(term).split("#", 1)[0]
        for triple in graph
        for term in triple
        if isinstance(term, URIRef) and str(term).startswith(base + "/")
    }
    # the catalogue, its datasets, distributions, records, agent, service and licence at least
    for kind in (
        "/catalog",
        "/datasets/",
        "/distributions/",
        "/catalog/records/",
        "/agents/",
        "/services/",
        "/licences/",
    ):
        assert any(kind in iri for iri in minted), kind
    resource = re.compile(
        r"^/(catalog|datasets/[^/]+|datasets/[^/]+/distributions/[^/]+|catalog/records/.+|agents/.+|services/.+|licences/.+)$"
    )
    for iri in sorted(minted):
        path = iri.removeprefix(base)
        if path == "/api/applications":  # the access service's endpoint: an API that asks for a token
            assert client.head(path).status_code == 401
            continue
        assert client.head(path).status_code in (200, 303), iri
        page = client.get(path, headers={"Accept": BROWSER}, follow_redirects=True)
        assert page.status_code == 200, iri
        if not resource.match(path):
            continue  # a document for people (home page, dataset list, application form, API description)
        rdf = client.get(path, headers={"Accept": "text/turtle"})
        assert rdf.status_code == 200, (iri, rdf.status_code)
        described = Graph().parse(data=rdf.content, format="turtle")
        assert (URIRef(iri), None, None) in described, iri


def test_unknown_agents_and_distributions_are_404(client: TestClient) -> None:
    assert client.get("/agents/fhi").status_code == 404
    assert client.get("/datasets/npr-tsb/distributions/nope").status_code == 404
    assert client.get("/catalog/records/npr-nope").status_code == 404
