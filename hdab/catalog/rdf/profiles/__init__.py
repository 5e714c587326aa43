"""Layered profiles: DCAT-AP 3, then HealthDCAT-AP, then Norwegian additions.

Each profile writes its properties of a record into an rdflib graph and reads them back into the
fields of a record. Pure functions of their inputs: no database, no HTTP.
"""

from __future__ import annotations

from typing import Any, Protocol

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from hdab.catalog.domain import DatasetRecord, canonical
from hdab.catalog.rdf.namespaces import DCAT, PREFIXES
from hdab.catalog.rdf.profiles.dcat_ap3 import DcatAp3Profile
from hdab.catalog.rdf.profiles.healthdcat_ap import HealthDcatApProfile
from hdab.catalog.rdf.profiles.national import NorwegianProfile


class Profile(Protocol):
    def write(self, record: DatasetRecord, g: Graph, node: URIRef) -> None: ...

    def read(self, g: Graph, node: URIRef, fields: dict[str, Any]) -> None: ...


PROFILES: tuple[Profile, ...] = (DcatAp3Profile(), HealthDcatApProfile(), NorwegianProfile())


class RecordError(ValueError):
    """A graph does not describe a dataset record; the message names the node and property."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(message)
        self.node = node


def new_graph() -> Graph:
    g = Graph()
    for prefix, namespace in PREFIXES.items():
        g.bind(prefix, namespace)
    return g


def write_dataset(record: DatasetRecord, g: Graph | None = None) -> Graph:
    """The record as RDF, every profile in order."""
    g = g if g is not None else new_graph()
    node = URIRef(record.iri)
    for profile in PROFILES:
        profile.write(record, g, node)
    return g


def read_dataset(g: Graph, node: URIRef) -> DatasetRecord:
    fields: dict[str, Any] = {}
    try:
        for profile in PROFILES:
            profile.read(g, node, fields)
        return canonical(DatasetRecord(**fields))
    except (ValueError, TypeError) as exc:
        raise RecordError(str(node), str(exc)) from exc


def read_datasets(g: Graph) -> list[DatasetRecord]:
    """Every dcat:Dataset in the graph, in IRI order."""
    nodes = sorted({s for s in g.subjects(RDF.type, DCAT.Dataset) if isinstance(s, URIRef)})
    return [read_dataset(g, node) for node in nodes]
