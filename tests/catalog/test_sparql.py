"""A read-only SPARQL endpoint over the public catalogue (issue 18, item 7): SPARQL 1.1 Protocol (GET,
POST form, POST body), JSON and CSV results, a time limit that kills the query's worker, a result
limit, no update, no SERVICE."""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.namespace import DCTERMS

from hdab.catalog import sparql
from hdab.core import clock
from tests.catalog.seed_identifiers import SEED

PREFIXES = "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/> "
IDENTIFIERS = PREFIXES + "SELECT ?id WHERE { ?d a dcat:Dataset ; dct:identifier ?id } ORDER BY ?id"
JSON = "application/sparql-results+json"


@pytest.fixture(autouse=True)
def _fresh_worker() -> Iterator[None]:
    sparql.endpoint.close()
    yield
    sparql.endpoint.close()


def ids(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [b["id"]["value"] for b in body["results"]["bindings"]]


def test_select_by_get_post_form_and_post_body(client: TestClient) -> None:
    by_get = client.get("/sparql", params={"query": IDENTIFIERS}, headers={"Accept": JSON})
    by_form = client.post("/sparql", data={"query": IDENTIFIERS}, headers={"Accept": JSON})
    by_body = client.post(
        "/sparql", content=IDENTIFIERS, headers={"Content-Type": "application/sparql-query", "Accept": JSON}
    )
    for response in (by_get, by_form, by_body):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(JSON)
        assert ids(response) == sorted(SEED)


def test_csv_results(client: TestClient) -> None:
    query = (
        PREFIXES
        + "SELECT ?id ?title WHERE { ?d a dcat:Dataset ; dct:identifier ?id ; dct:title ?title"
        + ' FILTER(lang(?title) = "en") }'
    )
    response = client.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["id", "title"]
    assert {r[0] for r in rows[1:]} == SEED


def test_ask_and_construct(client: TestClient) -> None:
    ask = client.get("/sparql", params={"query": PREFIXES + "ASK { ?c a dcat:Catalog ; dcat:record ?r }"})
    assert ask.json() == {"head": {}, "boolean": True}
    construct = client.get(
        "/sparql",
        params={
            "query": PREFIXES
            + "CONSTRUCT { ?d dct:identifier ?id } WHERE { ?d a dcat:Dataset ; dct:identifier ?id }"
        },
        headers={"Accept": "application/n-triples"},
    )
    assert construct.headers["content-type"].startswith("application/n-triples")
    graph = Graph().parse(data=construct.content, format="nt")
    assert {str(o) for o in graph.objects(None, DCTERMS.identifier)} == SEED


def test_the_graph_is_the_published_catalogue_and_follows_changes(
    client: TestClient, holder: dict[str, str]
) -> None:
    services = (
        PREFIXES
        + "SELECT (COUNT(DISTINCT ?d) AS ?n)"
        + " WHERE { ?dist dcat:accessService ?s . ?d dcat:distribution ?dist }"
    )
    assert (
        client.get("/sparql", params={"query": services}).json()["results"]["bindings"][0]["n"]["value"]
        == "8"
    )
    clock.advance(timedelta(minutes=5))
    assert client.delete("/api/datasets/npr-tsb", headers=holder).status_code == 200
    assert ids(client.get("/sparql", params={"query": IDENTIFIERS})) == sorted(SEED - {"npr-tsb"})


@pytest.mark.parametrize(
    "query",
    [
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "DELETE WHERE { ?s ?p ?o }",
        "CLEAR ALL",
        "LOAD <http://127.0.0.1:1/x.ttl>",
        "SELECT * WHERE { ?s ?p",  # does not parse
    ],
)
def test_no_update_and_no_garbage(client: TestClient, query: str) -> None:
    response = client.get("/sparql", params={"query": query})
    assert response.status_code in (400, 422)
    assert client.get("/sparql", params={"query": IDENTIFIERS}).status_code == 200  # nothing changed
    assert ids(client.get("/sparql", params={"query": IDENTIFIERS})) == sorted(SEED)


def test_update_requests_are_refused_as_such(client: TestClient) -> None:
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    assert (
        client.post(
            "/sparql", content=update, headers={"Content-Type": "application/sparql-update"}
        ).status_code
        == 400
    )
    assert client.post("/sparql", data={"update": update}).status_code == 400
    assert (
        client.get("/sparql", params={"query": IDENTIFIERS, "default-graph-uri": "urn:x"}).status_code == 400
    )
    assert (
        client.post("/sparql", content=IDENTIFIERS, headers={"Content-Type": "text/plain"}).status_code == 415
    )


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:8080/sparql> { ?s ?p ?o } }",
        "select * where { service <http://127.0.0.1:8080/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:8080/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:8080/sparql> { ?s ?p ?o } }",
    ],
)
def test_service_is_refused_before_it_runs(client: TestClient, query: str) -> None:
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 422
    assert "SERVICE" in response.json()["detail"]


def test_service_in_a_string_or_iri_is_no_service(client: TestClient) -> None:
    query = (
        PREFIXES
        + 'SELECT ?d WHERE { ?d dct:identifier ?id FILTER(?id != "SERVICE") FILTER(?d != <urn:SERVICE>) }'
    )
    assert client.get("/sparql", params={"query": query}).status_code == 200


def test_a_query_past_the_time_limit_is_stopped_and_its_worker_killed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/sparql", params={"query": IDENTIFIERS}).status_code == 200
    pid = sparql.endpoint.worker_pid()
    assert pid is not None
    monkeypatch.setattr(sparql, "TIMEOUT_SECONDS", 1.0)
    endless = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    started = time.monotonic()
    response = client.get("/sparql", params={"query": endless})
    assert response.status_code == 503
    assert time.monotonic() - started < 15
    assert "stopped" in response.json()["detail"]
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # killed: gone within moments
            os.kill(pid, 0)
            time.sleep(0.1)
    monkeypatch.setattr(sparql, "TIMEOUT_SECONDS", 30.0)
    assert ids(client.get("/sparql", params={"query": IDENTIFIERS})) == sorted(SEED)  # a new worker
    assert sparql.endpoint.worker_pid() not in (None, pid)


def test_results_are_cut_at_the_limit_and_say_so(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sparql, "MAX_ROWS", 5)
    cut = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert len(cut.json()["results"]["bindings"]) == 5
    assert cut.headers["x-sparql-maxrows"] == "5"
    whole = client.get("/sparql", params={"query": IDENTIFIERS + " LIMIT 3"})
    assert len(whole.json()["results"]["bindings"]) == 3
    assert "x-sparql-maxrows" not in whole.headers


def test_unacceptable_result_type_is_406_and_no_query_describes_the_service(client: TestClient) -> None:
    assert (
        client.get("/sparql", params={"query": IDENTIFIERS}, headers={"Accept": "text/turtle"}).status_code
        == 406
    )
    description = client.get("/sparql")
    assert description.headers["content-type"].startswith("text/turtle")
    assert "sd:SPARQL11Query" in description.text
    Graph().parse(data=description.content, format="turtle")
    assert (
        client.get("/sparql", params={"query": IDENTIFIERS}, headers={"Origin": "https://x.example"}).headers[
            "access-control-allow-origin"
        ]
        == "*"
    )
