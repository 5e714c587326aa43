"""A DCAT-AP-NO 2 output for data.norge.no (issue 18, item 6): 0 violations against the official
DCAT-AP-NO shapes, in one document without paging, with conditional GET; the EU output unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF

from hdab.catalog.rdf.namespaces import ADMS, DCAT, EU_AUTHORITY
from hdab.catalog.rdf.shacl import norwegian_shapes_bundle, shapes_bundle
from hdab.core import clock
from tests.catalog.seed_identifiers import SEED
from tests.support import backends

NO_FILES = ("dcat-ap-no/DCAT-AP-NO-shacl_shapes_2.00.ttl", "dcat-ap-no/ontologies.ttl", "dcat/nal")


def identifiers(graph: Graph) -> set[str]:
    return {str(graph.value(d, DCTERMS.identifier)) for d in graph.subjects(RDF.type, DCAT.Dataset)}


def test_the_single_document_holds_every_dataset_and_conforms(client: TestClient) -> None:
    bundle = norwegian_shapes_bundle(backends.reference(*NO_FILES))
    response = client.get("/catalog/dcat-ap-no")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    assert "link" not in response.headers  # one document: nothing to page
    graph = Graph().parse(data=response.content, format="turtle")
    assert identifiers(graph) == SEED
    report = bundle.validate(graph)
    assert report.violations == (), "\n".join(map(str, report.violations))


def test_the_mapping_is_what_mends_the_eu_output(client: TestClient) -> None:
    """The check can fail: the DCAT-AP 3 output the mapping starts from breaks the Norwegian shapes."""
    bundle = norwegian_shapes_bundle(backends.reference(*NO_FILES))
    eu = Graph().parse(data=client.get("/catalog?page_size=1000").content, format="turtle")
    broken = {v.path for v in bundle.validate(eu).violations}
    assert {str(ADMS.status), str(DCTERMS.license)} <= broken


@pytest.mark.parametrize("page", [1, 2])
def test_the_paged_form_conforms_too(client: TestClient, page: int) -> None:
    bundle = norwegian_shapes_bundle(backends.reference(*NO_FILES))
    response = client.get(f"/catalog?profile=dcat-ap-no&page={page}&page_size=4&format=jsonld")
    assert "profile=dcat-ap-no" in response.headers["link"]
    graph = Graph().parse(data=response.content, format="json-ld")
    assert len(identifiers(graph)) == 4
    assert bundle.validate(graph).violations == ()


def test_statuses_are_mapped_and_no_licence_pretends_to_be_open(client: TestClient) -> None:
    graph = Graph().parse(data=client.get("/catalog/dcat-ap-no?format=nt").content, format="nt")
    assert set(graph.objects(None, ADMS.status)) == {URIRef("http://purl.org/adms/status/Completed")}
    assert not list(graph.objects(None, DCTERMS.license))  # the permit licence is in no EU table
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        assert graph.value(distribution, DCTERMS.rights) is not None  # the access terms stay
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    assert graph.value(catalog, DCTERMS.identifier) is not None
    assert graph.value(URIRef("http://data.europa.eu/eli/reg/2025/327/oj"), DCTERMS.type) == URIRef(
        f"{EU_AUTHORITY}resource-type/REG"
    )


def test_conditional_get_of_the_single_document(client: TestClient, holder: dict[str, str]) -> None:
    first = client.get("/catalog/dcat-ap-no")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get("/catalog/dcat-ap-no", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/catalog/dcat-ap-no", headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.head("/catalog/dcat-ap-no", headers={"If-None-Match": etag}).status_code == 304
    clock.advance(timedelta(minutes=5))
    assert client.delete("/api/datasets/npr-tsb", headers=holder).status_code == 200
    changed = client.get("/catalog/dcat-ap-no", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert identifiers(Graph().parse(data=changed.content, format="turtle")) == SEED - {"npr-tsb"}


def test_unknown_profile_is_422(client: TestClient) -> None:
    assert client.get("/catalog?profile=dcat-ap-se").status_code == 422


def test_the_eu_output_still_conforms_to_dcat_ap_and_healthdcat_ap(client: TestClient) -> None:
    bundle = shapes_bundle(backends.reference())
    graph = Graph().parse(data=client.get("/catalog?page_size=1000").content, format="turtle")
    assert bundle.validate(graph).violations == ()
