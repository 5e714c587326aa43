"""Incremental harvest learns of withdrawals (issue 18, item 4): a dcat:CatalogRecord per dataset with
issued, modified and status; a dataset withdrawn after `modified_since` appears as its record with
adms:status Withdrawn, so a harvester that follows `Link` removes it."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, XSD

from hdab.catalog.rdf.namespaces import ADMS, DCAT
from hdab.catalog.rdf.shacl import shapes_bundle
from hdab.core import clock
from hdab.core.settings import Settings
from tests.catalog.seed_identifiers import SEED
from tests.support import backends

WITHDRAWN = URIRef("http://purl.org/adms/status/Withdrawn")
COMPLETED = URIRef("http://purl.org/adms/status/Completed")


def harvest(client: TestClient, url: str) -> Graph:
    """What a harvester does: GET, then follow rel="next" until there is none; one graph of all pages."""
    graph = Graph()
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        graph.parse(data=response.content, format="nt")
        found = {rel: u for u, rel in re.findall(r'<([^>]+)>;\s*rel="([^"]+)"', response.headers["link"])}
        nxt = urlsplit(found["next"]) if "next" in found else None
        url = f"{nxt.path}?{nxt.query}" if nxt else ""
    return graph


def datasets(graph: Graph) -> dict[str, URIRef]:
    return {
        str(graph.value(d, DCTERMS.identifier)): d
        for d in graph.subjects(RDF.type, DCAT.Dataset)
        if isinstance(d, URIRef)
    }


def titles(graph: Graph, iri: URIRef) -> frozenset[object]:
    return frozenset(graph.objects(iri, DCTERMS.title))


def records(graph: Graph) -> dict[URIRef, URIRef]:
    """dataset IRI -> its record's status."""
    found: dict[URIRef, URIRef] = {}
    for record in graph.subjects(RDF.type, DCAT.CatalogRecord):
        topic = graph.value(record, FOAF.primaryTopic)
        status = graph.value(record, ADMS.status)
        assert isinstance(topic, URIRef) and isinstance(status, URIRef)
        assert topic not in found, f"two records for {topic}"
        found[topic] = status
    return found


def test_every_dataset_has_one_record_with_dates_and_status(client: TestClient) -> None:
    graph = harvest(client, "/catalog?format=nt&page_size=3")
    by_identifier = datasets(graph)
    assert set(by_identifier) == SEED
    assert records(graph) == dict.fromkeys(by_identifier.values(), COMPLETED)
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    for record in graph.subjects(RDF.type, DCAT.CatalogRecord):
        assert (catalog, DCAT.record, record) in graph
        issued, modified = graph.value(record, DCTERMS.issued), graph.value(record, DCTERMS.modified)
        assert isinstance(issued, Literal) and issued.datatype == XSD.date
        assert isinstance(modified, Literal) and modified.datatype == XSD.dateTime
        assert issued.toPython() <= modified.toPython().date()


def test_an_incremental_harvest_removes_what_was_withdrawn(
    client: TestClient, holder: dict[str, str]
) -> None:
    # a harvester's copy after a full harvest
    full = harvest(client, "/catalog?format=nt&page_size=3")
    held = {identifier: titles(full, iri) for identifier, iri in datasets(full).items()}
    assert set(held) == SEED

    clock.advance(timedelta(hours=1))
    since = quote(clock.now().isoformat())
    clock.advance(timedelta(minutes=1))
    assert (
        client.delete(
            "/api/datasets/npr-tsb", params={"note": "no longer offered"}, headers=holder
        ).status_code
        == 200
    )
    current = client.get("/api/datasets/kpr-kuhr").json()["record"]
    current["title"]["en"] = "KUHR: reimbursement claims of GPs and emergency rooms"
    assert (
        client.put(
            "/api/datasets/kpr-kuhr", json={"record": current, "note": "title"}, headers=holder
        ).status_code
        == 200
    )

    # the incremental harvest, paged so small that the withdrawal and the change are on two pages
    changes = harvest(client, f"/catalog?format=nt&page_size=1&modified_since={since}")
    changed = datasets(changes)
    statuses = records(changes)
    assert set(changed) == {"kpr-kuhr"}
    withdrawn = [iri for iri, status in statuses.items() if status == WITHDRAWN]
    assert [str(iri).rsplit("/", 1)[-1] for iri in withdrawn] == ["npr-tsb"]
    assert (withdrawn[0], DCTERMS.title, None) not in changes  # the record only: nothing to re-create
    assert statuses[changed["kpr-kuhr"]] == COMPLETED

    # the harvester applies the changes ...
    for iri in withdrawn:
        held.pop(str(iri).rsplit("/", 1)[-1])
    for identifier, iri in changed.items():
        held[identifier] = titles(changes, iri)
    # ... and holds what a full harvest now gives
    now = harvest(client, "/catalog?format=nt&page_size=3")
    assert held == {identifier: titles(now, iri) for identifier, iri in datasets(now).items()}
    assert "KUHR: reimbursement claims of GPs and emergency rooms" in {str(t) for t in held["kpr-kuhr"]}
    assert set(held) == SEED - {"npr-tsb"}

    # the record stays and says so; the dataset is gone
    record = client.get("/catalog/records/npr-tsb", headers={"Accept": "application/n-triples"})
    assert (None, ADMS.status, WITHDRAWN) in Graph().parse(data=record.content, format="nt")
    assert client.get("/datasets/npr-tsb?format=ttl").status_code == 410
    assert client.get("/datasets/npr-tsb/distributions/permit?format=ttl").status_code == 410
    # a later incremental harvest no longer carries it
    clock.advance(timedelta(minutes=1))
    later = quote(clock.now().isoformat())
    empty = client.get(f"/catalog?format=nt&modified_since={later}")
    assert not list(Graph().parse(data=empty.content, format="nt").subjects(RDF.type, DCAT.CatalogRecord))


def test_incremental_pages_break_no_shape_but_the_tombstones_topic(
    client: TestClient, holder: dict[str, str], seeded: Settings
) -> None:
    bundle = shapes_bundle(backends.reference())
    clock.advance(timedelta(hours=1))
    since = quote(clock.now().isoformat())
    clock.advance(timedelta(minutes=1))
    assert client.delete("/api/datasets/npr-phv", headers=holder).status_code == 200
    page = client.get(f"/catalog?modified_since={since}")
    report = bundle.validate(Graph().parse(data=page.content, format="turtle"))
    # DCAT-AP has no tombstone: a withdrawn dataset's record names a dataset no longer described
    # (DCAT-AP's and HealthDCAT-AP's copy of the shape each say so), and HealthDCAT-AP's guard
    # refuses a document without any dataset. Nothing else.
    assert {(v.focus_node, v.path) for v in report.violations} == {
        (f"{seeded.base_url}/catalog/records/npr-phv", str(FOAF.primaryTopic)),
        ("urn:x-shacl:guard", None),
    }
