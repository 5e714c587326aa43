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


# a variable's datatype (XSD) in words
DATATYPES: dict[str, str] = {
    "string": N_("Text"),
    "date": N_("Date"),
    "dateTime": N_("Date and time"),
    "decimal": N_("Decimal number"),
    "integer": N_("Whole number"),
    "boolean": N_("Yes or no"),
    "gYear": N_("Year"),
}

# the metadata quality report (hdab.catalog.quality, after data.europa.eu's MQA): dimensions,
# indicators and the rating
QUALITY: dict[str, str] = {
    "findability": N_("Findability"),
    "accessibility": N_("Accessibility"),
    "interoperability": N_("Interoperability"),
    "reusability": N_("Reusability"),
    "contextuality": N_("Context"),
    "excellent": N_("excellent"),
    "good": N_("good"),
    "sufficient": N_("sufficient"),
    "bad": N_("bad"),
    "keyword": N_("keywords"),
    "theme": N_("themes"),
    "spatial": N_("geographical coverage"),
    "temporal": N_("time coverage"),
    "access_url_responds": N_("the access address answers"),
    "download_url": N_("a download address"),
    "download_url_responds": N_("the download address answers"),
    "format": N_("a format"),
    "media_type": N_("a media type"),
    "format_media_type_from_vocabulary": N_("format and media type from the EU vocabularies"),
    "non_proprietary": N_("a non-proprietary format"),
    "machine_readable": N_("a machine-readable format"),
    "dcat_ap_compliance": N_("valid DCAT-AP"),
    "licence": N_("a licence"),
    "known_licence": N_("a known licence"),
    "access_rights": N_("access rights"),
    "access_rights_vocabulary": N_("access rights from the EU vocabulary"),
    "contact_point": N_("a contact point"),
    "publisher": N_("a publisher"),
    "rights": N_("rights"),
    "byte_size": N_("the file size"),
    "issued": N_("the date of issue"),
    "modified": N_("the date of change"),
}


def datatype_label(datatype: str | None, lang: str) -> str:
    if not datatype:
        return ""
    code = code_of(datatype).removeprefix("xsd:")
    return translate(lang, DATATYPES[code]) if code in DATATYPES else code


def quality_label(code: str, lang: str) -> str:
    return translate(lang, QUALITY[code]) if code in QUALITY else code
