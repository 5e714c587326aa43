"""Publishing for harvesters: the dcat:Catalog page with its datasets and both Hydra paging forms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from urllib.parse import urlencode

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, XSD

from hdab.catalog.domain import Catalog, Text
from hdab.catalog.models import CatalogDataset
from hdab.catalog.rdf.namespaces import DCAT, DCATAP, EHDS_ELI, ELI, HYDRA, eu
from hdab.catalog.rdf.profiles import new_graph
from hdab.catalog.rdf.profiles.base import add_date, add_iri, add_iris, add_text
from hdab.catalog.rdf.profiles.dcat_ap3 import write_agent
from hdab.catalog.seed import hdab_agent
from hdab.core.settings import Settings


def catalog_description(settings: Settings, modified: date | None) -> Catalog:
    base = settings.base_url
    return Catalog(
        iri=f"{base}/catalog",
        title=Text(
            en="Health data catalogue for the Norwegian patient registries NPR and KPR",
            nb="Helsedatakatalog for Norsk pasientregister og Kommunalt pasient- og brukerregister",
            nn="Helsedatakatalog for Norsk pasientregister og Kommunalt pasient- og brukarregister",
        ),
        description=Text(
            en="Datasets of the Norwegian Patient Registry (NPR) and the Municipal Patient and User Registry"
            " (KPR) available for secondary use under the European Health Data Space.",
            nb="Datasett fra Norsk pasientregister (NPR) og Kommunalt pasient- og brukerregister (KPR) som er"
            " tilgjengelige for sekundærbruk etter det europeiske helsedataområdet (EHDS).",
        ),
        publisher=hdab_agent(base),
        applicable_legislation=(EHDS_ELI,),
        homepage=f"{base}/datasets",
        languages=(eu("language", "ENG"), eu("language", "NOB"), eu("language", "NNO")),
        themes_taxonomy=("http://publications.europa.eu/resource/authority/data-theme",),
        spatial=(eu("country", "NOR"),),
        modified=modified,
    )


def write_catalog(g: Graph, catalog: Catalog, dataset_iris: Sequence[str]) -> URIRef:
    node = URIRef(catalog.iri)
    g.add((node, RDF.type, DCAT.Catalog))
    add_text(g, node, DCTERMS.title, catalog.title)
    add_text(g, node, DCTERMS.description, catalog.description)
    g.add((node, DCTERMS.publisher, write_agent(g, catalog.publisher)))
    add_iris(g, node, DCATAP.applicableLegislation, catalog.applicable_legislation, ELI.LegalResource)
    add_iri(g, node, FOAF.homepage, catalog.homepage, FOAF.Document)
    add_iris(g, node, DCTERMS.language, catalog.languages, DCTERMS.LinguisticSystem)
    add_iris(g, node, DCAT.themeTaxonomy, catalog.themes_taxonomy)
    add_iris(g, node, DCTERMS.spatial, catalog.spatial, DCTERMS.Location)
    add_iri(g, node, DCTERMS.license, catalog.licence, DCTERMS.LicenseDocument)
    add_date(g, node, DCTERMS.modified, catalog.modified)
    for iri in dataset_iris:
        g.add((node, DCAT.dataset, URIRef(iri)))
    return node


def _page_url(base: str, page: int, page_size: int, extra: dict[str, str]) -> URIRef:
    return URIRef(f"{base}?{urlencode({**extra, 'page': page, 'page_size': page_size})}")


def catalog_page_graph(
    settings: Settings,
    rows: Sequence[CatalogDataset],
    *,
    page: int,
    page_size: int,
    total: int,
    modified: date | None,
    extra_query: dict[str, str],
    with_datasets: bool = True,
) -> Graph:
    """One page of the catalogue: the catalogue node, the page's datasets, and Hydra paging."""
    g = new_graph()
    if with_datasets:
        g.parse(data="".join(row.ntriples for row in rows), format="nt")
    catalog = catalog_description(settings, modified)
    write_catalog(g, catalog, [row.iri for row in rows])
    base = catalog.iri
    last = max(1, -(-total // page_size))
    view = _page_url(base, page, page_size, extra_query)
    first_url = _page_url(base, 1, page_size, extra_query)
    last_url = _page_url(base, last, page_size, extra_query)
    collection = URIRef(base)
    # Hydra core: the collection's partial view ...
    g.add((collection, HYDRA.totalItems, Literal(total, datatype=XSD.nonNegativeInteger)))
    g.add((collection, HYDRA.view, view))
    g.add((view, RDF.type, HYDRA.PartialCollectionView))
    g.add((view, HYDRA.first, first_url))
    g.add((view, HYDRA.last, last_url))
    # ... and the older PagedCollection form that DCAT-AP harvesters (piveau, CKAN) read.
    g.add((view, RDF.type, HYDRA.PagedCollection))
    g.add((view, HYDRA.totalItems, Literal(total, datatype=XSD.nonNegativeInteger)))
    g.add((view, HYDRA.itemsPerPage, Literal(page_size, datatype=XSD.nonNegativeInteger)))
    g.add((view, HYDRA.firstPage, first_url))
    g.add((view, HYDRA.lastPage, last_url))
    if page < last:
        nxt = _page_url(base, page + 1, page_size, extra_query)
        g.add((view, HYDRA.next, nxt))
        g.add((view, HYDRA.nextPage, nxt))
    if page > 1:
        previous = _page_url(base, min(page - 1, last), page_size, extra_query)
        g.add((view, HYDRA.previous, previous))
        g.add((view, HYDRA.previousPage, previous))
    return g
