"""The access path is machine-readable (issue 18, item 5): a non-public dataset's distributions point
to this HDAB's "apply for access" dcat:DataService, statistics are also an ordinary dcat:distribution,
and every distribution carries a licence that describes access under an EHDS permit, never an open one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF

from hdab.catalog.rdf.namespaces import DCAT, DCATAP, EU_AUTHORITY, HDAB, HEALTHDCATAP
from hdab.core.settings import Settings
from tests.catalog.seed_identifiers import SEED

NON_PUBLIC = URIRef(f"{EU_AUTHORITY}access-right/NON_PUBLIC")


def catalogue(client: TestClient) -> Graph:
    return Graph().parse(data=client.get("/catalog?format=nt").content, format="nt")


def test_non_public_distributions_point_to_the_application_service(
    client: TestClient, seeded: Settings
) -> None:
    graph = catalogue(client)
    service = URIRef(f"{seeded.base_url}/services/access")
    assert (service, RDF.type, DCAT.DataService) in graph
    assert graph.value(service, DCAT.endpointURL) == URIRef(f"{seeded.base_url}/api/applications")
    assert graph.value(service, DCAT.endpointDescription) is not None
    assert {str(t) for t in graph.objects(service, DCTERMS.title)} >= {"Apply for access to health data"}
    served = set(graph.objects(service, DCAT.servesDataset))
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == len(SEED)
    for dataset in datasets:
        assert graph.value(dataset, DCTERMS.accessRights) == NON_PUBLIC
        assert dataset in served
        distributions = set(graph.objects(dataset, DCAT.distribution))
        assert distributions
        for distribution in distributions:
            assert graph.value(distribution, DCAT.accessService) == service


def test_statistics_are_also_an_ordinary_distribution(client: TestClient) -> None:
    graph = catalogue(client)
    for dataset in graph.subjects(RDF.type, DCAT.Dataset):
        analytics = set(graph.objects(dataset, HEALTHDCATAP.analytics))
        assert analytics, dataset
        assert analytics <= set(graph.objects(dataset, DCAT.distribution))


def test_every_distribution_carries_the_permit_licence_never_an_open_one(
    client: TestClient, seeded: Settings
) -> None:
    graph = catalogue(client)
    licence = URIRef(f"{seeded.base_url}/licences/ehds-permit")
    distributions = set(graph.subjects(RDF.type, DCAT.Distribution))
    assert distributions
    for distribution in distributions:
        assert set(graph.objects(distribution, DCTERMS.license)) == {licence}
    assert (licence, RDF.type, DCTERMS.LicenseDocument) in graph
    assert (licence, RDF.type, HDAB.PermitLicence) in graph
    assert graph.value(licence, DCATAP.applicableLegislation) is not None
    described = Graph().parse(data=client.get("/licences/ehds-permit?format=ttl").content, format="turtle")
    assert "not an open licence" in " ".join(str(o) for o in described.objects(licence, None))
    page = client.get("/licences/ehds-permit", headers={"Accept": "text/html", "Accept-Language": "nb"})
    assert "ikke en åpen lisens" in page.text


def test_quality_counts_the_licence_a_harvester_sees(client: TestClient) -> None:
    report = client.get("/api/datasets/npr-tsb/quality").json()
    reusability = next(d for d in report["dimensions"] if d["name"] == "reusability")
    indicators = {i["name"]: i for i in reusability["indicators"]}
    assert indicators["licence"]["met"]
    assert not indicators["known_licence"]["met"]  # the permit licence is in no EU table: honest
