"""DCAT-AP 3.0.1: the dataset, its distributions, agents, contact points and catalogue-level facts."""

from __future__ import annotations

from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS
from rdflib.term import Node

from hdab.catalog.domain import (
    Agent,
    ContactPoint,
    DatasetRecord,
    Distribution,
    DistributionRole,
    PeriodOfTime,
)
from hdab.catalog.rdf.namespaces import ADMS, CV, DCAT, DCATAP, ELI, HDAB, HEALTHDCATAP, VCARD
from hdab.catalog.rdf.profiles.base import (
    Subject,
    add_date,
    add_int,
    add_iri,
    add_iris,
    add_lang_strings,
    add_period,
    add_text,
    objects,
    read_date,
    read_int,
    read_iri,
    read_iris,
    read_lang_strings,
    read_period,
    read_str,
    read_text,
    sub_iri,
)

ROLE_PREDICATES = {
    DistributionRole.MAIN: DCAT.distribution,
    DistributionRole.SAMPLE: ADMS.sample,
    DistributionRole.ANALYTICS: HEALTHDCATAP.analytics,
}


# --- agents and contact points (shared with the HealthDCAT-AP profile) ------------------------


def write_agent(g: Graph, agent: Agent) -> URIRef:
    node = URIRef(agent.iri)
    g.add((node, RDF.type, FOAF.Agent))
    add_text(g, node, FOAF.name, agent.name)
    add_iri(g, node, DCTERMS.type, agent.type, SKOS.Concept)
    add_iri(g, node, FOAF.homepage, agent.homepage, FOAF.Document)
    if agent.contact is not None:
        contact = sub_iri(agent.iri, "contact")
        g.add((node, CV.contactPoint, contact))
        g.add((contact, RDF.type, CV.ContactPoint))
        if agent.contact.email:
            g.add((contact, CV.email, Literal(agent.contact.email)))
        add_iri(g, contact, CV.contactPage, agent.contact.url)
        if agent.contact.telephone:
            g.add((contact, CV.telephone, Literal(agent.contact.telephone)))
    return node


def node_iri(node: Node, fallback: URIRef) -> str:
    """A blank node (common in harvested RDF) gets a stable IRI under its dataset's IRI."""
    return str(fallback) if isinstance(node, BNode) else str(node)


def read_agent(g: Graph, node: Node, fallback: URIRef) -> Agent:
    name = read_text(g, node, FOAF.name)
    if name is None:
        raise ValueError(f"agent {node.n3()} has no foaf:name")
    contact = None
    contact_node = next(iter(objects(g, node, CV.contactPoint)), None)
    if contact_node is not None:
        contact = ContactPoint(
            email=read_str(g, contact_node, CV.email),
            url=read_iri(g, contact_node, CV.contactPage),
            telephone=read_str(g, contact_node, CV.telephone),
        )
    return Agent(
        iri=node_iri(node, fallback),
        name=name,
        type=read_iri(g, node, DCTERMS.type),
        contact=contact,
        homepage=read_iri(g, node, FOAF.homepage),
    )


def write_contact_point(g: Graph, node: Subject, contact: ContactPoint) -> None:
    """A dataset's dcat:contactPoint, a vcard:Kind with an e-mail IRI and/or a URL."""
    g.add((node, RDF.type, VCARD.Kind))
    if contact.email:
        g.add((node, VCARD.hasEmail, URIRef(f"mailto:{contact.email}")))
    add_iri(g, node, VCARD.hasURL, contact.url)
    if contact.telephone:
        g.add((node, VCARD.hasTelephone, Literal(contact.telephone)))


def read_contact_point(g: Graph, node: Node) -> ContactPoint:
    email = read_iri(g, node, VCARD.hasEmail) or read_str(g, node, VCARD.hasEmail)
    return ContactPoint(
        email=email.removeprefix("mailto:") if email else None,
        url=read_iri(g, node, VCARD.hasURL),
        telephone=read_str(g, node, VCARD.hasTelephone),
    )


# --- distributions --------------------------------------------------------------------------------


def write_distribution(g: Graph, d: Distribution, legislation: tuple[str, ...]) -> URIRef:
    node = URIRef(d.iri)
    g.add((node, RDF.type, DCAT.Distribution))
    add_text(g, node, DCTERMS.title, d.title)
    add_text(g, node, DCTERMS.description, d.description)
    add_iris(g, node, DCATAP.applicableLegislation, legislation, ELI.LegalResource)
    add_iri(g, node, DCAT.accessURL, d.access_url)
    add_iri(g, node, DCAT.downloadURL, d.download_url)
    add_iri(g, node, DCTERMS["format"], d.format, DCTERMS.MediaTypeOrExtent)
    add_iri(g, node, DCAT.mediaType, d.media_type, DCTERMS.MediaType)
    add_int(g, node, DCAT.byteSize, d.byte_size)
    add_iri(g, node, DCTERMS.license, d.licence, DCTERMS.LicenseDocument)
    if d.rights is not None:
        rights = sub_iri(d.iri, "rights")
        g.add((node, DCTERMS.rights, rights))
        g.add((rights, RDF.type, DCTERMS.RightsStatement))
        add_text(g, rights, RDFS.label, d.rights)
    add_iri(g, node, ADMS.status, d.status, SKOS.Concept)
    add_iri(g, node, DCATAP.availability, d.availability, SKOS.Concept)
    add_iris(g, node, DCTERMS.language, d.languages, DCTERMS.LinguisticSystem)
    return node


def _own_licence(g: Graph, node: Node) -> str | None:
    """The distribution's licence, unless it is the permit licence a catalogue adds when publishing."""
    licence = read_iri(g, node, DCTERMS.license)
    if licence is not None and (URIRef(licence), RDF.type, HDAB.PermitLicence) in g:
        return None
    return licence


def read_distribution(g: Graph, node: Node, role: DistributionRole, fallback: URIRef) -> Distribution:
    title = read_text(g, node, DCTERMS.title)
    access_url = read_iri(g, node, DCAT.accessURL)
    if title is None:
        raise ValueError(f"distribution {node.n3()} has no dct:title")
    if access_url is None:
        raise ValueError(f"distribution {node.n3()} has no dcat:accessURL")
    rights_node = next(iter(objects(g, node, DCTERMS.rights)), None)
    return Distribution(
        iri=node_iri(node, fallback),
        role=role,
        title=title,
        access_url=access_url,
        description=read_text(g, node, DCTERMS.description),
        download_url=read_iri(g, node, DCAT.downloadURL),
        format=read_iri(g, node, DCTERMS["format"]),
        media_type=read_iri(g, node, DCAT.mediaType),
        byte_size=read_int(g, node, DCAT.byteSize),
        licence=_own_licence(g, node),
        rights=read_text(g, rights_node, RDFS.label) if rights_node is not None else None,
        status=read_iri(g, node, ADMS.status),
        availability=read_iri(g, node, DCATAP.availability),
        languages=read_iris(g, node, DCTERMS.language),
    )


# --- the profile ----------------------------------------------------------------------------------


class DcatAp3Profile:
    """DCAT-AP 3.0.1 properties of a dataset."""

    def write(self, record: DatasetRecord, g: Graph, node: URIRef) -> None:
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.identifier, Literal(record.identifier)))
        add_text(g, node, DCTERMS.title, record.title)
        add_text(g, node, DCTERMS.description, record.description)
        add_lang_strings(g, node, DCTERMS.alternative, record.alternative_titles)
        add_iri(g, node, DCTERMS.accessRights, record.access_rights, DCTERMS.RightsStatement)
        add_iris(g, node, DCATAP.applicableLegislation, record.applicable_legislation, ELI.LegalResource)
        add_iris(g, node, DCAT.theme, record.themes)
        add_lang_strings(g, node, DCAT.keyword, record.keywords)
        add_iri(g, node, DCTERMS.type, record.dataset_type, SKOS.Concept)
        g.add((node, DCTERMS.publisher, write_agent(g, record.publisher)))
        if record.creator is not None:
            g.add((node, DCTERMS.creator, write_agent(g, record.creator)))
        for index, contact in enumerate(record.contact_points, start=1):
            contact_node = sub_iri(record.iri, f"contact-{index}")
            g.add((node, DCAT.contactPoint, contact_node))
            write_contact_point(g, contact_node, contact)
        for distribution in record.distributions:
            dist_node = write_distribution(g, distribution, record.applicable_legislation)
            g.add((node, ROLE_PREDICATES[distribution.role], dist_node))
        provenance = sub_iri(record.iri, "provenance")
        g.add((node, DCTERMS.provenance, provenance))
        g.add((provenance, RDF.type, DCTERMS.ProvenanceStatement))
        add_text(g, provenance, RDFS.label, record.provenance)
        for index, period in enumerate(record.temporal, start=1):
            period_node = sub_iri(record.iri, f"temporal-{index}")
            g.add((node, DCTERMS.temporal, period_node))
            add_period(g, period_node, period, DCAT.startDate, DCAT.endDate)
        add_iris(g, node, DCTERMS.spatial, record.spatial, DCTERMS.Location)
        add_iri(g, node, DCTERMS.accrualPeriodicity, record.frequency, DCTERMS.Frequency)
        add_iris(g, node, DCTERMS.language, record.languages, DCTERMS.LinguisticSystem)
        add_iri(g, node, DCAT.landingPage, record.landing_page, FOAF.Document)
        add_iris(g, node, FOAF.page, record.pages, FOAF.Document)
        add_iris(g, node, DCTERMS.conformsTo, record.conforms_to, DCTERMS.Standard)
        if record.version:
            g.add((node, DCAT.version, Literal(record.version)))
        add_text(g, node, ADMS.versionNotes, record.version_notes)
        add_date(g, node, DCTERMS.issued, record.issued)
        add_date(g, node, DCTERMS.modified, record.modified)
        for index, other in enumerate(record.other_identifiers, start=1):
            identifier_node = sub_iri(record.iri, f"identifier-{index}")
            g.add((node, ADMS.identifier, identifier_node))
            g.add((identifier_node, RDF.type, ADMS.Identifier))
            g.add((identifier_node, SKOS.notation, Literal(other)))

    def read(self, g: Graph, node: URIRef, fields: dict[str, Any]) -> None:
        identifier = read_str(g, node, DCTERMS.identifier)
        if identifier is None:
            raise ValueError(f"dataset {node.n3()} has no dct:identifier")
        publisher = next(iter(objects(g, node, DCTERMS.publisher)), None)
        if publisher is None:
            raise ValueError(f"dataset {node.n3()} has no dct:publisher")
        creator = next(iter(objects(g, node, DCTERMS.creator)), None)
        # A catalogue also links its statistics and samples with dcat:distribution, so that generic
        # clients see them (hdab.catalog.publish): such a distribution keeps its specific role.
        specific = {d for p in (ADMS.sample, HEALTHDCATAP.analytics) for d in g.objects(node, p)}
        distributions = [
            read_distribution(g, d, role, sub_iri(str(node), f"{role.value}-{index}"))
            for role, predicate in ROLE_PREDICATES.items()
            for index, d in enumerate(objects(g, node, predicate), start=1)
            if role is not DistributionRole.MAIN or d not in specific
        ]
        provenance = next(iter(objects(g, node, DCTERMS.provenance)), None)
        provenance_text = read_text(g, provenance, RDFS.label) if provenance is not None else None
        other_identifiers = sorted(
            str(n) for i in objects(g, node, ADMS.identifier) for n in g.objects(i, SKOS.notation)
        )
        fields.update(
            identifier=identifier,
            iri=str(node),
            title=_required(read_text(g, node, DCTERMS.title), "dct:title", node),
            description=_required(read_text(g, node, DCTERMS.description), "dct:description", node),
            alternative_titles=read_lang_strings(g, node, DCTERMS.alternative),
            access_rights=_required(read_iri(g, node, DCTERMS.accessRights), "dct:accessRights", node),
            applicable_legislation=read_iris(g, node, DCATAP.applicableLegislation),
            themes=read_iris(g, node, DCAT.theme),
            keywords=read_lang_strings(g, node, DCAT.keyword),
            dataset_type=_required(read_iri(g, node, DCTERMS.type), "dct:type", node),
            publisher=read_agent(g, publisher, sub_iri(str(node), "publisher")),
            creator=read_agent(g, creator, sub_iri(str(node), "creator")) if creator is not None else None,
            contact_points=tuple(
                sorted(
                    (read_contact_point(g, c) for c in objects(g, node, DCAT.contactPoint)),
                    key=_contact_key,
                )
            ),
            distributions=tuple(sorted(distributions, key=lambda d: (d.role, d.iri))),
            provenance=_required(provenance_text, "dct:provenance", node),
            temporal=tuple(
                sorted(
                    (
                        read_period(g, p, DCAT.startDate, DCAT.endDate)
                        for p in objects(g, node, DCTERMS.temporal)
                    ),
                    key=_period_key,
                )
            ),
            spatial=read_iris(g, node, DCTERMS.spatial),
            frequency=read_iri(g, node, DCTERMS.accrualPeriodicity),
            languages=read_iris(g, node, DCTERMS.language),
            landing_page=read_iri(g, node, DCAT.landingPage),
            pages=read_iris(g, node, FOAF.page),
            conforms_to=read_iris(g, node, DCTERMS.conformsTo),
            version=read_str(g, node, DCAT.version),
            version_notes=read_text(g, node, ADMS.versionNotes),
            issued=read_date(g, node, DCTERMS.issued),
            modified=read_date(g, node, DCTERMS.modified),
            other_identifiers=tuple(other_identifiers),
        )


def _required(value: Any, name: str, node: Node) -> Any:
    if value is None:
        raise ValueError(f"dataset {node.n3()} has no {name}")
    return value


def _contact_key(c: ContactPoint) -> tuple[str, str, str]:
    return (c.email or "", c.url or "", c.telephone or "")


def _period_key(p: PeriodOfTime) -> tuple[str, str]:
    return (p.start.isoformat() if p.start else "", p.end.isoformat() if p.end else "")
