"""Labels of the vocabulary values the catalogue shows: English msgids, translated by hdab.core.i18n."""

from __future__ import annotations

from hdab.catalog.rdf.namespaces import code_of
from hdab.core.i18n import N_, translate

# Labels of the vocabulary values the catalogue shows; unknown values show their code.
_LABELS: dict[str, str] = {
    "HEAL": N_("Health"),
    "NON_PUBLIC": N_("Non-public"),
    "PUBLIC": N_("Public"),
    "RESTRICTED": N_("Restricted"),
    "PHDR": N_("Population-based health registries"),
    "HRAD": N_("Healthcare-related administrative data"),
    "ICD-10": N_("ICD-10"),
    "ICPC-2": N_("ICPC-2"),
    "PROC-CODES-NAT": N_("National procedure codes (NCSP, NCMP, NCRP)"),
    "HEALTH_SYSTEMS": N_("Health systems"),
    "MENTAL_HEALTH": N_("Mental health and substance use"),
    "LIFECOURSE_HEALTH": N_("Life-course health"),
    "NOR": N_("Norway"),
    "ANNUAL": N_("Yearly"),
    "ANNUAL_3": N_("Three times a year (tertial)"),
    "CONT": N_("Continuously"),
    "PARQUET": N_("Parquet"),
    "CSV": N_("CSV"),
    # disclosure roles and default generalisations of variables (hdab/catalog/rdf/hdab.ttl)
    "direct_identifier": N_("Direct identifier: never delivered"),
    "quasi_identifier": N_("Indirectly identifying: at least k persons per combination"),
    "sensitive": N_("Sensitive: at least two values per group"),
    "non_identifying": N_("Not identifying"),
    "unclassified": N_("Not classified yet"),
    "month": N_("To the month"),
    "year": N_("To the year"),
    "county": N_("To the county"),
    "exact": N_("As recorded"),
}


def label(iri: str | None, lang: str) -> str:
    if not iri:
        return ""
    code = code_of(iri)
    text = _LABELS.get(code)
    return code if text is None else translate(lang, text)
