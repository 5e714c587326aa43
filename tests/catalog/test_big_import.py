"""A large RDF import is as strict as a small one: one bad record refuses all, nothing is kept.

The import is made fast for thousands of datasets; these tests hold that no record escapes the
official shapes for it. One record among many is broken (in the first, a middle or the last
place, in ways the shapes catch on the dataset node and on a node it refers to), and the
whole import must be refused, naming the broken record, with nothing of it stored: no dataset,
version, audit entry, outbox message or search entry.
"""

from __future__ import annotations

import dataclasses

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF
from sqlalchemy import func, select

from hdab.catalog import service
from hdab.catalog.domain import DatasetRecord
from hdab.catalog.models import CatalogDataset, CatalogDatasetVersion, SearchDocumentRow
from hdab.catalog.ownership import Writer
from hdab.catalog.rdf.profiles import new_graph, write_dataset
from hdab.catalog.seed import seed_records
from hdab.catalog.validation import NonConforming
from hdab.core import runtime
from hdab.core.models import AuditEntry, OutboxMessage
from hdab.core.settings import Settings
from tests.support import backends

COUNT = 120
ACCESS_RIGHT = "http://publications.europa.eu/resource/authority/access-right/"


def _records(base_url: str, count: int) -> list[DatasetRecord]:
    templates = seed_records(base_url)
    records = []
    for index in range(count):
        template = templates[index % len(templates)]
        identifier = f"{template.identifier}-{index:04d}"
        records.append(
            dataclasses.replace(
                template,
                identifier=identifier,
                iri=f"{base_url}/datasets/{identifier}",
                distributions=tuple(
                    dataclasses.replace(d, iri=d.iri.replace(f"/{template.identifier}/", f"/{identifier}/"))
                    for d in template.distributions
                ),
            )
        )
    return records


def _break(graph: Graph, dataset: URIRef, how: str) -> None:
    if how == "no title":  # dct:title is mandatory on a dcat:Dataset
        graph.remove((dataset, DCTERMS.title, None))
    elif how == "theme outside its vocabulary":
        graph.add(
            (dataset, DCAT.theme, URIRef("http://publications.europa.eu/resource/authority/data-theme/XYZ"))
        )
    elif how == "publisher without a name":  # on the agent the dataset refers to, not the dataset
        publisher = URIRef(f"{dataset}/publisher-broken")
        graph.remove((dataset, DCTERMS.publisher, None))
        graph.add((dataset, DCTERMS.publisher, publisher))
        graph.add((publisher, RDF.type, FOAF.Agent))
    elif how == "no description":
        graph.remove((dataset, DCTERMS.description, None))
    elif how == "access rights outside their vocabulary":
        graph.remove((dataset, DCTERMS.accessRights, None))
        graph.add((dataset, DCTERMS.accessRights, URIRef(f"{ACCESS_RIGHT}NOPE")))
    else:
        raise AssertionError(how)


def _counts() -> dict[str, int]:
    with runtime.database().session() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (CatalogDataset, CatalogDatasetVersion, AuditEntry, OutboxMessage, SearchDocumentRow)
        }


@pytest.mark.parametrize(
    ("how", "place"),
    [
        ("no title", 0),
        ("access rights outside their vocabulary", COUNT // 2),
        ("publisher without a name", COUNT // 3),
        ("no description", COUNT - 1),
    ],
)
def test_one_bad_record_in_a_big_import_refuses_it_all(settings: Settings, how: str, place: int) -> None:
    backends.reference()
    records = _records(settings.base_url, COUNT)
    graph = new_graph()
    for record in records:
        write_dataset(record, graph)
    broken = URIRef(sorted(r.iri for r in records)[place])
    _break(graph, broken, how)
    before = _counts()
    with pytest.raises(NonConforming) as refused, runtime.database().session() as session:
        service.import_graph(session, settings, Writer.system(), graph, "big import")
    focus_nodes = {v.focus_node for v in refused.value.violations}
    assert focus_nodes and all(node.startswith(str(broken)) for node in focus_nodes), focus_nodes
    assert _counts() == before


def test_the_same_big_import_unbroken_is_stored_whole(settings: Settings) -> None:
    """The control: without the broken record the same import passes (so the refusal above is the
    broken record's doing), and every dataset is stored and searchable."""
    backends.reference()
    records = _records(settings.base_url, COUNT)
    graph = new_graph()
    for record in records:
        write_dataset(record, graph)
    with runtime.database().session() as session:
        results = service.import_graph(session, settings, Writer.system(), graph, "big import")
    assert len(results) == COUNT
    counts = _counts()
    assert counts["CatalogDataset"] == counts["CatalogDatasetVersion"] == COUNT
    assert counts["SearchDocumentRow"] == COUNT  # indexed after the commit (in-process tasks)
