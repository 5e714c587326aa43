"""A variable's disclosure role is the catalogue's: in RDF, round-tripped, edited by its holder, audited.

The role (direct identifier, quasi-identifier, sensitive, not identifying) and the default
generalisation of anonymised releases are terms of our own namespace (``hdab:``), defined in the
vocabulary served at ``/ns``.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from sqlalchemy import select

from hdab.catalog.rdf.namespaces import HDAB
from hdab.core import runtime
from hdab.core.auth import Role
from hdab.core.models import AuditEntry
from tests.catalog.test_editing import record_of
from tests.catalog.test_ownership import SSB, TURTLE, token

VARIABLE = "https://w3id.org/hdab/ns#"


def column(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for t in record["variables"]["tables"] for c in t["columns"] if c["name"] == name)


def test_the_vocabulary_is_served_and_defines_every_term(client: TestClient) -> None:
    response = client.get("/ns")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    for term in ("disclosureRole", "anonymisedAs", "DirectIdentifier", "QuasiIdentifier", "Sensitive",
                 "NonIdentifying", "ToMonth", "ToYear", "ToCounty"):  # fmt: skip
        assert (URIRef(VARIABLE + term), None, None) in graph, term


def test_seeded_variables_carry_their_roles_in_rdf_and_json(client: TestClient) -> None:
    record = record_of(client, "npr-somatikk")
    assert column(record, "fodselsar")["disclosure"] == "quasi_identifier"
    assert column(record, "hovedtilstand")["disclosure"] == "sensitive"
    assert column(record, "lopenummer")["disclosure"] == "direct_identifier"
    assert column(record, "innskrivningstidspunkt")["anonymised_as"] == "month"
    graph = Graph().parse(data=client.get("/datasets/npr-somatikk?format=ttl").text, format="turtle")
    node = next(s for s, _, o in graph.triples((None, None, None)) if str(s).endswith("#variable-fodselsar"))
    assert (node, HDAB.disclosureRole, HDAB.QuasiIdentifier) in graph
    node = next(s for s, _, o in graph.triples((None, None, None)) if str(s).endswith("#variable-dodsdato"))
    assert (node, HDAB.anonymisedAs, HDAB.ToMonth) in graph


def test_import_and_export_round_trip_the_roles(client: TestClient, holder: dict[str, str]) -> None:
    # the data holder changes one role in its own RDF and imports it
    graph = Graph().parse(data=client.get("/datasets/npr-somatikk?format=ttl").text, format="turtle")
    kjonn = next(s for s in graph.subjects() if str(s).endswith("#variable-kjonn"))
    graph.remove((kjonn, HDAB.disclosureRole, HDAB.QuasiIdentifier))
    graph.add((kjonn, HDAB.disclosureRole, HDAB.Sensitive))
    response = client.post(
        "/api/catalog/import", content=graph.serialize(format="turtle"), headers={**holder, **TURTLE}
    )
    assert response.status_code == 200, response.text
    assert column(record_of(client, "npr-somatikk"), "kjonn")["disclosure"] == "sensitive"
    again = Graph().parse(data=client.get("/datasets/npr-somatikk?format=ttl").text, format="turtle")
    assert (kjonn, HDAB.disclosureRole, HDAB.Sensitive) in again
    assert (kjonn, HDAB.disclosureRole, HDAB.QuasiIdentifier) not in again


def test_an_unknown_role_is_refused_with_the_terms_allowed(
    client: TestClient, holder: dict[str, str]
) -> None:
    graph = Graph().parse(data=client.get("/datasets/npr-somatikk?format=ttl").text, format="turtle")
    kjonn = next(s for s in graph.subjects() if str(s).endswith("#variable-kjonn"))
    graph.set((kjonn, HDAB.disclosureRole, URIRef(VARIABLE + "Harmless")))
    before = record_of(client, "npr-somatikk")
    response = client.post(
        "/api/catalog/import", content=graph.serialize(format="turtle"), headers={**holder, **TURTLE}
    )
    assert response.status_code == 422, response.text
    assert "hdab:QuasiIdentifier" in response.text and "kjonn" in response.text
    assert record_of(client, "npr-somatikk") == before


def test_a_generalisation_that_does_not_fit_the_variable_is_refused(
    client: TestClient, holder: dict[str, str]
) -> None:
    record = record_of(client, "npr-somatikk")
    column(record, "kjonn")["anonymised_as"] = "month"
    response = client.put("/api/datasets/npr-somatikk", json={"record": record}, headers=holder)
    assert response.status_code == 422, response.text
    assert "kjonn" in response.text and "date" in response.text


def test_the_data_holder_edits_a_role_and_the_change_is_audited(
    client: TestClient, holder: dict[str, str]
) -> None:
    record = record_of(client, "npr-somatikk")
    column(record, "institusjon")["disclosure"] = "quasi_identifier"
    response = client.put(
        "/api/datasets/npr-somatikk", json={"record": record, "note": "small hospitals"}, headers=holder
    )
    assert response.status_code == 200, response.text
    with runtime.database().session() as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "catalog.dataset.updated")
            .order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None and entry.actor.startswith("fhi-editor@")
    assert entry.details["disclosure"] == {"institusjon": ["non_identifying/exact", "quasi_identifier/exact"]}


def test_another_organisation_cannot_change_a_role(client: TestClient) -> None:
    record = record_of(client, "npr-somatikk")
    column(record, "fodselsar")["disclosure"] = "non_identifying"
    ssb = token(runtime.settings(), "ssb-editor", Role.DATA_HOLDER, SSB)
    response = client.put("/api/datasets/npr-somatikk", json={"record": record}, headers=ssb)
    assert response.status_code == 403
    assert column(record_of(client, "npr-somatikk"), "fodselsar")["disclosure"] == "quasi_identifier"


def test_the_dataset_page_shows_each_role_in_both_languages(client: TestClient) -> None:
    page = client.get("/datasets/npr-somatikk", headers={"Accept": "text/html", "Accept-Language": "nb"})
    assert page.status_code == 200
    row = page.text.split('id="variable-fodselsar"', 1)[1].split("</tr>", 1)[0]
    assert "Indirekte identifiserende" in row
    row = page.text.split('id="variable-innskrivningstidspunkt"', 1)[1].split("</tr>", 1)[0]
    assert "Til måned" in row
    page = client.get(
        "/datasets/npr-somatikk?lang=en", headers={"Accept": "text/html", "Accept-Language": "en"}
    )
    row = page.text.split('id="variable-hovedtilstand"', 1)[1].split("</tr>", 1)[0]
    assert "Sensitive" in row


def test_a_role_given_as_a_literal_is_refused_not_dropped(client: TestClient, holder: dict[str, str]) -> None:
    """A string where the term belongs once left the column unclassified, and out of k-anonymity."""
    graph = Graph().parse(data=client.get("/datasets/npr-somatikk?format=ttl").text, format="turtle")
    kjonn = next(s for s in graph.subjects() if str(s).endswith("#variable-kjonn"))
    graph.set((kjonn, HDAB.disclosureRole, Literal("non_identifying")))
    response = client.post(
        "/api/catalog/import", content=graph.serialize(format="turtle"), headers={**holder, **TURTLE}
    )
    assert response.status_code == 422, response.text
    assert "not a literal" in response.text
    assert column(record_of(client, "npr-somatikk"), "kjonn")["disclosure"] == "quasi_identifier"
