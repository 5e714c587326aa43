"""Namespaces and controlled-vocabulary IRIs of DCAT-AP 3, HealthDCAT-AP and the Norwegian profile."""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, SKOS, XSD

ADMS = Namespace("http://www.w3.org/ns/adms#")
# Open namespace: rdflib's closed DCAT lacks DCAT 3 terms such as dcat:version.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
CSVW = Namespace("http://www.w3.org/ns/csvw#")
CV = Namespace("http://data.europa.eu/m8g/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
DPV = Namespace("https://w3id.org/dpv#")
DPV_PD = Namespace("https://w3id.org/dpv/dpv-pd#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
DQVNO = Namespace("https://data.norge.no/vocabulary/dqvno#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
GEODCATAP = Namespace("http://data.europa.eu/930/")
HEALTHDCATAP = Namespace("http://healthdataportal.eu/ns/health#")
# Our own terms, defined in hdab/catalog/rdf/hdab.ttl and served at /ns: what no profile has yet.
HDAB = Namespace("https://w3id.org/hdab/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
OA = Namespace("http://www.w3.org/ns/oa#")
SCHEMA = Namespace("https://schema.org/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
HEALTH_AUTHORITY = "https://hdeu-dcat.data.health.europa.eu/resource/authority/"
IANA_MEDIA_TYPES = "http://www.iana.org/assignments/media-types/"
LOS = "https://psi.norge.no/los/"
BRREG = "https://data.brreg.no/enhetsregisteret/api/enheter/"

# EHDS, Regulation (EU) 2025/327, in the EU's ELI form.
EHDS_ELI = "http://data.europa.eu/eli/reg/2025/327/oj"


def eu(table: str, code: str) -> str:
    """An EU Publications Office authority table value, e.g. eu("data-theme", "HEAL")."""
    return f"{EU_AUTHORITY}{table}/{code}"


def health(table: str, code: str) -> str:
    """A HealthDCAT-AP authority table value, e.g. health("healthcategories", "PHDR")."""
    return f"{HEALTH_AUTHORITY}{table}/{code}"


def media_type(name: str) -> str:
    return f"{IANA_MEDIA_TYPES}{name}"


def organisation(number: str) -> str:
    """The Enhetsregisteret IRI of a Norwegian organisation."""
    return f"{BRREG}{number}"


def code_of(iri: str) -> str:
    """The last path segment of a vocabulary IRI (its code)."""
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


PREFIXES = {
    "adms": ADMS,
    "csvw": CSVW,
    "cv": CV,
    "dcat": DCAT,
    "dcatap": DCATAP,
    "dct": DCTERMS,
    "dpv": DPV,
    "dpv-pd": DPV_PD,
    "dqv": DQV,
    "dqvno": DQVNO,
    "eli": ELI,
    "foaf": FOAF,
    "geodcatap": GEODCATAP,
    "hdab": HDAB,
    "healthdcatap": HEALTHDCATAP,
    "hydra": HYDRA,
    "oa": OA,
    "prov": PROV,
    "rdf": RDF,
    "rdfs": RDFS,
    "skos": SKOS,
    "vcard": VCARD,
    "xsd": XSD,
}
