"""RDF profiles: record -> graph -> record is the identity, property by property and for any record."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from rdflib import Literal, URIRef
from rdflib.namespace import RDF

from hdab.catalog.domain import (
    Activity,
    Agent,
    Column,
    ContactPoint,
    DatasetRecord,
    Distribution,
    DistributionRole,
    LangString,
    LegalBasis,
    PeriodOfTime,
    Purpose,
    QualityAnnotation,
    Table,
    TableGroup,
    Text,
    canonical,
)
from hdab.catalog.rdf.namespaces import DCAT, HEALTHDCATAP, eu, health
from hdab.catalog.rdf.profiles import RecordError, read_dataset, read_datasets, write_dataset
from hdab.catalog.seed import seed_records
from tests.catalog.strategies import records

BASE = seed_records("https://hdab.example.no")[0]
IRI = BASE.iri
T = Text(en="English", nb="Bokmål", nn="Nynorsk")

# One changed value per property of a dataset record: each must survive the round trip.
VARIANTS: dict[str, Any] = {
    "identifier": "npr-annen",
    "title": Text(en="Other title", nb="Annen tittel", nn="Anna tittel"),
    "description": Text(en="Only English"),
    "access_rights": eu("access-right", "RESTRICTED"),
    "applicable_legislation": ("http://data.europa.eu/eli/reg/2025/327/oj", "https://lovdata.no/x"),
    "themes": (eu("data-theme", "HEAL"), eu("data-theme", "SOCI")),
    "health_categories": (health("healthcategories", "HRAD"),),
    "keywords": (LangString("alpha", "en"), LangString("beta", "nn")),
    "dataset_type": eu("dataset-type", "SYNTHETIC_DATA"),
    "publisher": Agent(
        "https://agents.example.org/p", T, contact=ContactPoint(email="a@b.no", telephone="+47 1")
    ),
    "hdab": Agent(
        "https://agents.example.org/h",
        T,
        type=health("publisher-type", "national-authority"),
        contact=ContactPoint(url="https://h.example.org"),
        homepage="https://h.example.org",
    ),
    "contact_points": (ContactPoint(email="x@y.no", url="https://c.example.org", telephone="+47 22"),),
    "distributions": (
        Distribution(
            f"{IRI}/d/1",
            DistributionRole.SAMPLE,
            T,
            "https://a.example.org",
            T,
            "https://dl.example.org",
            eu("file-type", "CSV"),
            "http://www.iana.org/assignments/media-types/text/csv",
            1234,
            "https://lic.example.org",
            T,
            eu("distribution-status", "COMPLETED"),
            eu("planned-availability", "STABLE"),
            (eu("language", "NOR"),),
        ),
    ),
    "provenance": Text(en="Provenance"),
    "has_structured_data": False,
    "variables": TableGroup(
        T,
        (
            Table(
                "t",
                T,
                (Column("a_b", T, T, "integer", health("coding-system", "ICD-10"), "https://p.example.org"),),
                T,
                (LangString("k", "en"),),
                "https://t.example.org",
            ),
        ),
    ),
    "custodian": Agent("https://agents.example.org/c", T, organisation_number="983744516"),
    "creator": Agent("https://agents.example.org/cr", Text(en="Creator")),
    "alternative_titles": (LangString("Alt", "en"), LangString("Alt nb", "nb")),
    "health_themes": (health("health-theme", "CANCER_DISEASE"),),
    "coding_systems": (health("coding-system", "ATC"),),
    "code_values": ("C50", "I63"),
    "temporal": (PeriodOfTime(date(2008, 1, 1), date(2020, 12, 31)), PeriodOfTime(None, date(2001, 1, 1))),
    "spatial": (eu("country", "SWE"),),
    "population_coverage": T,
    "number_of_records": 14_500_000,
    "number_of_unique_individuals": 2_800_000,
    "min_typical_age": 3,
    "max_typical_age": 99,
    "retention_period": PeriodOfTime(date(2020, 1, 1), date(2040, 1, 1)),
    "purposes": (Purpose(Text(en="P1")), Purpose(T)),
    "legal_bases": (LegalBasis(T, "https://lovdata.no/y"), LegalBasis(Text(en="No source"))),
    "personal_data": ("https://w3id.org/dpv/dpv-pd#Age",),
    "quality_annotations": (QualityAnnotation("https://q.example.org/cert", T),),
    "frequency": eu("frequency", "MONTHLY"),
    "languages": (eu("language", "ENG"), eu("language", "NOR")),
    "generated_by": Activity(health("health-activity", "COHORT"), Text(en="Cohort")),
    "landing_page": "https://landing.example.org",
    "pages": ("https://docs.example.org/1", "https://docs.example.org/2"),
    "conforms_to": (health("standard", "FHIR"),),
    "version": "2.1",
    "version_notes": T,
    "issued": date(2020, 5, 17),
    "modified": date(2026, 11, 26),
    "is_authoritative": False,
    "other_identifiers": ("NPR-SOM", "urn:x"),
}


def roundtrip(record: DatasetRecord) -> DatasetRecord:
    return read_dataset(write_dataset(record), URIRef(record.iri))


def test_every_property_has_a_round_trip_case() -> None:
    fields = {f.name for f in dataclasses.fields(DatasetRecord)} - {"iri"}
    assert fields == set(VARIANTS)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_property_round_trips(name: str) -> None:
    changed = {name: VARIANTS[name]}
    if name == "has_structured_data":
        changed["variables"] = None
    record = canonical(dataclasses.replace(BASE, **changed))
    back = roundtrip(record)
    assert getattr(back, name) == getattr(record, name)
    assert back == record


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_any_record_round_trips(record: DatasetRecord) -> None:
    assert roundtrip(record) == record


def test_seed_records_round_trip() -> None:
    for record in seed_records("https://hdab.example.no"):
        assert roundtrip(record) == record


def test_iri_with_fragment_gets_valid_part_iris() -> None:
    record = dataclasses.replace(BASE, iri="https://harvested.example.org/catalog#ds1")
    graph = write_dataset(record)
    assert all(str(s).count("#") <= 1 for s in graph.subjects())
    assert roundtrip(record) == record


def test_reading_refuses_a_dataset_without_english_title() -> None:
    graph = write_dataset(BASE)
    node = URIRef(BASE.iri)
    graph.remove((node, URIRef("http://purl.org/dc/terms/title"), None))
    graph.add((node, URIRef("http://purl.org/dc/terms/title"), Literal("Bare norsk", lang="nb")))
    with pytest.raises(RecordError, match="no English value"):
        read_dataset(graph, node)


def test_reading_the_official_example() -> None:
    from tests.support import backends

    example = "dcat/examples/healthdcat-ap-r8_example-healthdcat-dataset.ttl"
    path = backends.reference(example) / example
    from rdflib import Graph

    [record] = read_datasets(Graph().parse(path))
    assert record.identifier == "EU-HDCA-R7-ONCOLOGY-EHRS-2024"
    assert record.number_of_records == 1_850_000
    assert [c.name for c in record.columns] == sorted(
        ["patientId", "encounterDate", "primaryDiagnosisCode", "tumourStage", "vitalStatus"]
    )
    assert len(record.distributions) == 4
    assert roundtrip(record) == record


def test_controlled_values_are_typed_as_their_range_expects() -> None:
    graph = write_dataset(BASE)
    assert (
        URIRef(eu("access-right", "NON_PUBLIC")),
        RDF.type,
        URIRef("http://purl.org/dc/terms/RightsStatement"),
    ) in graph
    assert (URIRef(BASE.iri), HEALTHDCATAP.hasStructuredData, Literal(True)) in graph
    assert (URIRef(BASE.iri), RDF.type, DCAT.Dataset) in graph


def test_blank_node_agents_and_distributions_get_iris_under_the_dataset() -> None:
    from rdflib import BNode
    from rdflib.namespace import DCTERMS, FOAF

    graph = write_dataset(BASE)
    node = URIRef(BASE.iri)
    publisher = URIRef(BASE.publisher.iri)
    blank = BNode()
    for p, o in list(graph.predicate_objects(publisher)):
        graph.add((blank, p, o))
    graph.remove((node, DCTERMS.publisher, publisher))
    graph.add((node, DCTERMS.publisher, blank))
    record = read_dataset(graph, node)
    assert record.publisher.iri == f"{BASE.iri}#publisher"
    assert record.publisher.name == BASE.publisher.name
    rewritten = write_dataset(record)
    assert not any(isinstance(s, BNode) for s in rewritten.subjects())
    assert (URIRef(record.publisher.iri), FOAF.name, None) in rewritten
