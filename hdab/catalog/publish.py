"""Publishing for harvesters: the dcat:Catalog page with its datasets and both Hydra paging forms.

What the catalogue adds to each stored record when it publishes it (the stored record is what its
data holder wrote, made into RDF once per version): the ``dcat:CatalogRecord`` of the dataset (when
it entered the catalogue, last changed, whether it is withdrawn), the access path of a non-public
dataset (its distributions point to this HDAB's "apply for access" ``dcat:DataService`` and carry
the licence that describes access under an EHDS permit when their holder named none), and the
statistics distributions also as ``dcat:distribution`` so that generic clients see them. These
depend on this service (its base URL, its application service), not on the record, so they are
made here, per version and cached, and never stored or versioned.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from datetime import UTC, date
from urllib.parse import urlencode

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from hdab.catalog.codec import record_from_json
from hdab.catalog.domain import (
    Catalog,
    CatalogRecord,
    DatasetRecord,
    DistributionRole,
    RecordStatus,
    Text,
)
from hdab.catalog.models import CatalogDataset, DatasetStatus
from hdab.catalog.rdf.formats import turtle_fragment, turtle_header
from hdab.catalog.rdf.namespaces import ADMS, DCAT, DCATAP, EHDS_ELI, ELI, HDAB, HYDRA, eu
from hdab.catalog.rdf.profiles import new_graph
from hdab.catalog.rdf.profiles.base import add_date, add_iri, add_iris, add_text
from hdab.catalog.rdf.profiles.dcat_ap3 import write_agent
from hdab.catalog.seed import hdab_agent
from hdab.core.settings import Settings

# The ADMS status vocabulary DCAT-AP names for a catalogue record's state ("change type").
ADMS_STATUS = "http://purl.org/adms/status/"
ADMS_STATUS_LABELS = {
    "Completed": "Completed",
    "Deprecated": "Deprecated",
    "UnderDevelopment": "Under development",
    "Withdrawn": "Withdrawn",
}
PUBLIC = eu("access-right", "PUBLIC")


# --- the IRIs the catalogue mints beside its datasets: each dereferences (views.py) ------------------


def catalog_iri(base: str) -> str:
    return f"{base}/catalog"


def record_iri(base: str, identifier: str) -> str:
    return f"{base}/catalog/records/{identifier}"


def access_service_iri(base: str) -> str:
    return f"{base}/services/access"


def permit_licence_iri(base: str) -> str:
    return f"{base}/licences/ehds-permit"


def catalog_description(settings: Settings, modified: date | None) -> Catalog:
    base = settings.base_url
    return Catalog(
        iri=catalog_iri(base),
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


def write_catalog(
    g: Graph, catalog: Catalog, dataset_iris: Sequence[str], record_iris: Sequence[str] = ()
) -> URIRef:
    node = URIRef(catalog.iri)
    g.add((node, RDF.type, DCAT.Catalog))
    g.add((node, DCTERMS.identifier, Literal(catalog.iri)))
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
    for iri in record_iris:
        g.add((node, DCAT.record, URIRef(iri)))
    return node


# --- the catalogue record of each dataset (issue 18, item 4) --------------------------------------


def catalog_record(base: str, row: CatalogDataset) -> CatalogRecord:
    return CatalogRecord(
        iri=record_iri(base, row.identifier),
        dataset_iri=row.iri,
        issued=row.issued,
        modified=row.updated_at,
        status=RecordStatus.WITHDRAWN if row.status is DatasetStatus.WITHDRAWN else RecordStatus.PUBLISHED,
        version=row.version,
    )


def write_catalog_record(g: Graph, record: CatalogRecord) -> URIRef:
    """The record: its dataset (foaf:primaryTopic), dates and ADMS status; a withdrawn one says so."""
    node = URIRef(record.iri)
    g.add((node, RDF.type, DCAT.CatalogRecord))
    g.add((node, FOAF.primaryTopic, URIRef(record.dataset_iri)))
    add_date(g, node, DCTERMS.issued, record.issued)
    modified = record.modified.astimezone(UTC).replace(microsecond=0)
    g.add((node, DCTERMS.modified, Literal(modified.isoformat(), datatype=XSD.dateTime)))
    g.add((node, ADMS.status, adms_status(g, record.status.value)))
    return node


def adms_status(g: Graph, code: str) -> URIRef:
    """A term of the ADMS status vocabulary, labelled (no validator holds that vocabulary's file)."""
    concept = URIRef(f"{ADMS_STATUS}{code}")
    g.add((concept, RDF.type, SKOS.Concept))
    g.add((concept, SKOS.prefLabel, Literal(ADMS_STATUS_LABELS.get(code, code), lang="en")))
    g.add((concept, SKOS.inScheme, URIRef(f"{ADMS_STATUS}1.0")))
    return concept


# --- the access path of non-public data (issue 18, item 5) ----------------------------------------


def is_public(record: DatasetRecord) -> bool:
    return record.access_rights == PUBLIC


def write_access_service(g: Graph, base: str, served: Sequence[str]) -> URIRef:
    """This HDAB's application service: where a non-public dataset's data are applied for (EHDS Art. 67)."""
    node = URIRef(access_service_iri(base))
    g.add((node, RDF.type, DCAT.DataService))
    g.add((node, DCTERMS.identifier, Literal(str(node))))
    add_text(
        g,
        node,
        DCTERMS.title,
        Text(
            en="Apply for access to health data",
            nb="Søk om tilgang til helsedata",
            nn="Søk om tilgang til helsedata",
        ),
    )
    add_text(
        g,
        node,
        DCTERMS.description,
        Text(
            en="The Health Data Access Body's application service: apply here for a data permit (EHDS"
            " Art. 67 and 68) or submit a health data request for anonymised statistics (Art. 69)."
            " The data are then made available in the secure processing environment.",
            nb="Helsedataservicens søknadstjeneste: søk her om datatilgangstillatelse (EHDS art. 67 og 68)"
            " eller send en forespørsel om anonymisert statistikk (art. 69). Dataene gjøres så"
            " tilgjengelige i det sikre behandlingsmiljøet.",
        ),
    )
    # the API an applicant's software uses (a bearer token: 401 without one), described by OpenAPI;
    # people apply through the dataset pages' "apply for access" form
    add_iri(g, node, DCAT.endpointURL, f"{base}/api/applications")
    add_iri(g, node, DCAT.endpointDescription, f"{base}/openapi.json")
    add_iri(g, node, DCTERMS.accessRights, PUBLIC, DCTERMS.RightsStatement)
    add_iris(g, node, DCATAP.applicableLegislation, (EHDS_ELI,), ELI.LegalResource)
    g.add((node, DCTERMS.publisher, write_agent(g, hdab_agent(base))))
    for iri in served:
        g.add((node, DCAT.servesDataset, URIRef(iri)))
    return node


def write_permit_licence(g: Graph, base: str) -> URIRef:
    """The licence of non-public distributions: use under the terms of an EHDS data permit, never open."""
    node = URIRef(permit_licence_iri(base))
    g.add((node, RDF.type, DCTERMS.LicenseDocument))
    g.add((node, RDF.type, HDAB.PermitLicence))
    title = Text(
        en="Access under an EHDS data permit",
        nb="Tilgang med datatilgangstillatelse etter EHDS",
        nn="Tilgang med dataløyve etter EHDS",
    )
    add_text(g, node, DCTERMS.title, title)
    add_text(g, node, RDFS.label, title)  # what clients such as ckanext-dcat show as the licence's name
    add_text(
        g,
        node,
        DCTERMS.description,
        Text(
            en="The data may be processed only by the persons a data permit names, for its purposes and"
            " period, inside the secure processing environment (Regulation (EU) 2025/327, Art. 68 and"
            " 73); only anonymised results leave it. This is not an open licence.",
            nb="Dataene kan bare behandles av personene en datatilgangstillatelse nevner, til dens formål"
            " og i dens periode, i det sikre behandlingsmiljøet (forordning (EU) 2025/327, art. 68 og"
            " 73); bare anonymiserte resultater kan tas ut. Dette er ikke en åpen lisens.",
        ),
    )
    add_iris(g, node, DCATAP.applicableLegislation, (EHDS_ELI,), ELI.LegalResource)
    return node


def published_record(base: str, record: DatasetRecord) -> DatasetRecord:
    """The record as harvesters see it: a non-public distribution without a licence carries the permit's."""
    if is_public(record):
        return record
    licence = permit_licence_iri(base)
    return dataclasses.replace(
        record,
        distributions=tuple(
            d if d.licence else dataclasses.replace(d, licence=licence) for d in record.distributions
        ),
    )


def write_access_path(g: Graph, base: str, record: DatasetRecord) -> None:
    """What publishing adds to a dataset: its distributions' access service, licence and plain links."""
    node = URIRef(record.iri)
    public = is_public(record)
    for distribution in record.distributions:
        dist = URIRef(distribution.iri)
        if distribution.role is DistributionRole.ANALYTICS:
            # statistics are also an ordinary distribution: generic clients read dcat:distribution only
            g.add((node, DCAT.distribution, dist))
        if public or distribution.role is DistributionRole.SAMPLE:
            continue
        g.add((dist, DCAT.accessService, URIRef(access_service_iri(base))))
        if distribution.licence is None:
            add_iri(g, dist, DCTERMS.license, permit_licence_iri(base), DCTERMS.LicenseDocument)
            g.add((URIRef(permit_licence_iri(base)), RDF.type, HDAB.PermitLicence))


# --- per-version additions, made once and cached --------------------------------------------------


class _Additions:
    """A row's publication additions as a graph and as a Turtle fragment, keyed by what they depend on."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], tuple[Graph, str, bool]] = {}
        self._lock = threading.Lock()

    def of(self, base: str, row: CatalogDataset) -> tuple[Graph, str, bool]:
        """(graph, Turtle fragment, whether the dataset needs the access service) of ``row``."""
        key = (base, row.identifier, row.iri, row.version, row.status, row.issued, row.updated_at)
        with self._lock:
            found = self._cache.get(key)
        if found is not None:
            return found
        g = new_graph()
        write_catalog_record(g, catalog_record(base, row))
        needs_service = False
        if row.status is DatasetStatus.PUBLISHED:
            record = record_from_json(row.record)
            write_access_path(g, base, record)
            needs_service = not is_public(record)
        made = (g, turtle_fragment(g), needs_service)
        with self._lock:
            if len(self._cache) > 20_000:
                self._cache.clear()
            self._cache[key] = made
        return made


additions = _Additions()


def shared_resources(g: Graph, base: str, served: Sequence[str]) -> None:
    """The access service (serving ``served``) and the permit licence, described once per document."""
    if served:
        write_access_service(g, base, served)
        write_permit_licence(g, base)


def dataset_document(settings: Settings, row: CatalogDataset) -> Graph:
    """A published dataset's document: its record, catalogue record, access service and licence."""
    base = settings.base_url
    g = new_graph()
    g.parse(data=row.ntriples, format="nt")
    extra, _turtle, needs_service = additions.of(base, row)
    for triple in extra:
        g.add(triple)
    shared_resources(g, base, [row.iri] if needs_service else [])
    return g


# --- paging ----------------------------------------------------------------------------------------


def _page_url(base: str, page: int, page_size: int, extra: dict[str, str]) -> URIRef:
    return URIRef(f"{base}?{urlencode({**extra, 'page': page, 'page_size': page_size})}")


def page_links(
    url: str, page: int, page_size: int, total: int, extra: dict[str, str] | Sequence[tuple[str, str]]
) -> str:
    """The ``Link`` header of a paged answer (RFC 8288): first, last, and next and prev where they exist."""
    pairs = list(extra.items()) if isinstance(extra, dict) else list(extra)
    last = max(1, -(-total // page_size))
    links = [("first", 1), ("last", last)]
    if page < last:
        links.append(("next", page + 1))
    if page > 1:
        links.append(("prev", min(page - 1, last)))
    return ", ".join(
        f'<{url}?{urlencode([*pairs, ("page", str(n)), ("page_size", str(page_size))])}>; rel="{rel}"'
        for rel, n in links
    )


def catalogue_graph(
    settings: Settings, rows: Sequence[CatalogDataset], modified: date | None, *, with_datasets: bool = True
) -> Graph:
    """The catalogue node with ``rows`` (their records, and with ``with_datasets`` their descriptions)."""
    base_url = settings.base_url
    g = new_graph()
    published = [r for r in rows if r.status is DatasetStatus.PUBLISHED]
    served: list[str] = []
    for row in rows:
        extra, _turtle, needs_service = additions.of(base_url, row)
        if needs_service:
            served.append(row.iri)
        if with_datasets:
            if row.status is DatasetStatus.PUBLISHED:
                g.parse(data=row.ntriples, format="nt")
            for triple in extra:
                g.add(triple)
    catalog = catalog_description(settings, modified)
    write_catalog(
        g, catalog, [row.iri for row in published], [record_iri(base_url, r.identifier) for r in rows]
    )
    shared_resources(g, base_url, served)
    return g


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
    """One page of the catalogue: the catalogue node, the page's datasets and records, and Hydra paging.

    ``rows`` may hold withdrawn datasets (an incremental harvest's page): they appear as their
    catalogue record only, with the withdrawn status. With ``with_datasets`` false the stored
    records and their additions are left out (the Turtle path joins their stored fragments).
    """
    g = catalogue_graph(settings, rows, modified, with_datasets=with_datasets)
    base = catalog_iri(settings.base_url)
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


def catalog_page_turtle(settings: Settings, rows: Sequence[CatalogDataset], page_graph: Graph) -> str:
    """The Turtle page: the page's own triples, then each stored record and its cached additions."""
    parts = [turtle_header(), turtle_fragment(page_graph)]
    for row in rows:
        if row.status is DatasetStatus.PUBLISHED:
            parts.append(row.turtle)
        parts.append(additions.of(settings.base_url, row)[1])
    return "".join(parts)
