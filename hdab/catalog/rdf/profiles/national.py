"""Norwegian additions (DCAT-AP-NO practice): authoritative sources and organisation numbers."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from hdab.catalog.domain import Agent, DatasetRecord
from hdab.catalog.rdf.namespaces import DQVNO
from hdab.catalog.rdf.profiles.base import read_literal, read_str


class NorwegianProfile:
    """``dqvno:isAuthoritative`` for authoritative sources; publishers carry their organisation number."""

    def write(self, record: DatasetRecord, g: Graph, node: URIRef) -> None:
        if record.is_authoritative:
            g.add((node, DQVNO.isAuthoritative, Literal(True)))
        for agent in (record.publisher, record.hdab, record.custodian, record.creator):
            if agent is not None and agent.organisation_number:
                g.add((URIRef(agent.iri), DCTERMS.identifier, Literal(agent.organisation_number)))

    def read(self, g: Graph, node: URIRef, fields: dict[str, Any]) -> None:
        fields["is_authoritative"] = bool(read_literal(g, node, DQVNO.isAuthoritative))
        for key in ("publisher", "hdab", "custodian", "creator"):
            agent: Agent | None = fields.get(key)
            if agent is None:
                continue
            number = read_str(g, URIRef(agent.iri), DCTERMS.identifier)
            if number:
                fields[key] = Agent(**{**agent.__dict__, "organisation_number": number})
