"""DCAT-AP-NO 2 output for data.norge.no: the published (DCAT-AP 3 / HealthDCAT-AP) graph, mapped where
the Norwegian profile differs.

DCAT-AP-NO 2 follows DCAT-AP 2 (see ``../shared/reference/dcat-ap-no/README.md``):

- a distribution's ``adms:status`` comes from the ADMS status vocabulary, not the EU
  distribution-status table DCAT-AP 3 uses: mapped term for term;
- ``dct:license`` must be a term of the EU licence table, which holds only open licences: the
  permit licence of non-public data cannot be one, so the Norwegian output leaves it out and the
  access terms stay where DCAT-AP-NO reads them (``dct:accessRights``, the distribution's
  ``dct:rights``, the access service);
- an ``eli:LegalResource`` needs a ``dct:type`` (the EU resource-type table);
- a contact point is expected to be a ``vcard:Organization``.

Everything else stays as published: DCAT-AP-NO's shapes are open, so the HealthDCAT-AP properties
go to data.norge.no as they are.
"""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from hdab.catalog.rdf.namespaces import ADMS, ELI, EU_AUTHORITY, HDAB, VCARD

ADMS_STATUS = "http://purl.org/adms/status/"
ADMS_STATUS_SCHEME = URIRef(f"{ADMS_STATUS}1.0")
# EU distribution-status code -> ADMS status term and its label
DISTRIBUTION_STATUS = {
    "COMPLETED": ("Completed", "Completed"),
    "DEPRECATED": ("Deprecated", "Deprecated"),
    "DEVELOP": ("UnderDevelopment", "Under development"),
    "WITHDRAWN": ("Withdrawn", "Withdrawn"),
}
EU_DISTRIBUTION_STATUS = f"{EU_AUTHORITY}distribution-status/"
# ELI type segment (data.europa.eu/eli/{type}/...) -> EU resource-type code
ELI_TYPES = {"reg": "REG", "reg_impl": "REG_IMPL", "reg_del": "REG_DEL", "dir": "DIR", "dec": "DEC"}
RESOURCE_TYPE = f"{EU_AUTHORITY}resource-type/"


def to_dcat_ap_no(published: Graph) -> Graph:
    """A copy of ``published`` in the DCAT-AP-NO 2 form."""
    g = Graph()
    for prefix, namespace in published.namespaces():
        g.bind(prefix, namespace)
    for triple in published:
        g.add(triple)
    _map_statuses(g)
    _drop_permit_licences(g)
    _type_legal_resources(g)
    for contact in set(g.subjects(RDF.type, VCARD.Kind)):
        g.add((contact, RDF.type, VCARD.Organization))
    return g


def _map_statuses(g: Graph) -> None:
    for subject, status in list(g.subject_objects(ADMS.status)):
        code = str(status).removeprefix(EU_DISTRIBUTION_STATUS)
        if not str(status).startswith(EU_DISTRIBUTION_STATUS) or code not in DISTRIBUTION_STATUS:
            continue
        term, label = DISTRIBUTION_STATUS[code]
        mapped = URIRef(f"{ADMS_STATUS}{term}")
        g.remove((subject, ADMS.status, status))
        g.add((subject, ADMS.status, mapped))
        g.add((mapped, RDF.type, SKOS.Concept))
        g.add((mapped, SKOS.prefLabel, Literal(label, lang="en")))
        g.add((mapped, SKOS.inScheme, ADMS_STATUS_SCHEME))


def _drop_permit_licences(g: Graph) -> None:
    for licence in set(g.subjects(RDF.type, HDAB.PermitLicence)):
        g.remove((None, DCTERMS.license, licence))
        g.remove((licence, None, None))


def _type_legal_resources(g: Graph) -> None:
    for resource in set(g.subjects(RDF.type, ELI.LegalResource)):
        if g.value(resource, DCTERMS.type) is not None:
            continue
        parts = str(resource).split("/eli/", 1)
        kind = parts[1].split("/", 1)[0] if len(parts) == 2 else ""
        if kind in ELI_TYPES:
            g.add((resource, DCTERMS.type, URIRef(f"{RESOURCE_TYPE}{ELI_TYPES[kind]}")))
