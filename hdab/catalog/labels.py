"""Display labels for controlled values and page texts, in English and Norwegian Bokmål."""

from __future__ import annotations

from hdab.catalog.rdf.namespaces import code_of

# Labels of the vocabulary values the catalogue shows; unknown values show their code.
_LABELS: dict[str, tuple[str, str]] = {
    "HEAL": ("Health", "Helse"),
    "NON_PUBLIC": ("Non-public", "Ikke-offentlig"),
    "PUBLIC": ("Public", "Offentlig"),
    "RESTRICTED": ("Restricted", "Begrenset"),
    "PHDR": ("Population-based health registries", "Befolkningsbaserte helseregistre"),
    "HRAD": ("Healthcare-related administrative data", "Administrative helsedata"),
    "ICD-10": ("ICD-10", "ICD-10"),
    "ICPC-2": ("ICPC-2", "ICPC-2"),
    "PROC-CODES-NAT": (
        "National procedure codes (NCSP, NCMP, NCRP)",
        "Nasjonale prosedyrekoder (NCSP, NCMP, NCRP)",
    ),
    "HEALTH_SYSTEMS": ("Health systems", "Helsesystemer"),
    "MENTAL_HEALTH": ("Mental health and substance use", "Psykisk helse og rus"),
    "LIFECOURSE_HEALTH": ("Life-course health", "Helse gjennom livsløpet"),
    "NOR": ("Norway", "Norge"),
    "ANNUAL": ("Yearly", "Årlig"),
    "ANNUAL_3": ("Three times a year (tertial)", "Tre ganger i året (tertial)"),
    "CONT": ("Continuously", "Fortløpende"),
    "PARQUET": ("Parquet", "Parquet"),
    "CSV": ("CSV", "CSV"),
}

_UI: dict[str, dict[str, str]] = {
    "en": {
        "catalogue": "Data catalogue",
        "datasets": "Datasets",
        "variables": "Variables",
        "name": "Name",
        "title": "Title",
        "description": "Description",
        "datatype": "Type",
        "code_list": "Code list",
        "coding_systems": "Coding systems",
        "coverage": "Coverage",
        "period": "Period",
        "from": "from",
        "to": "to",
        "population": "Population",
        "ages": "Typical ages",
        "access": "Access conditions",
        "access_text": "Access only with a data permit (EHDS Art. 68) or as anonymised statistics on request"
        " (Art. 69), in the secure processing environment.",
        "apply": "Apply for access",
        "select": "Select",
        "add_to_cart": "Add the dataset and the selected variables to my application",
        "statistics": "Ask for statistics",
        "formats": "Metadata as RDF",
        "publisher": "Publisher",
        "frequency": "Updated",
        "categories": "Health categories",
        "keywords": "Keywords",
        "quality": "Metadata quality",
        "average": "catalogue average",
        "version": "Version",
        "modified": "Modified",
        "language_switch": "Norsk",
        "search": "Search",
        "search_placeholder": "Search datasets and variables",
        "results": "datasets",
        "variables_matched": "Matching variables",
        "more": "More results",
        "facet_theme": "Theme",
        "facet_health_category": "Health category",
        "facet_publisher": "Publisher",
        "facet_access_rights": "Access rights",
        "facet_coding_system": "Coding system",
        "facet_keyword": "Keyword",
        "facet_language": "Language",
        "facet_temporal": "Period",
        "facet_has_variable": "Has variable",
        "other_lang": "nb",
        "distributions": "Distributions",
        "legal_basis": "Legal basis",
        "purpose": "Purpose",
        "provenance": "Provenance",
    },
    "nb": {
        "catalogue": "Datakatalog",
        "datasets": "Datasett",
        "variables": "Variabler",
        "name": "Navn",
        "title": "Tittel",
        "description": "Beskrivelse",
        "datatype": "Type",
        "code_list": "Kodeverk",
        "coding_systems": "Kodeverk",
        "coverage": "Dekning",
        "period": "Periode",
        "from": "fra",
        "to": "til",
        "population": "Populasjon",
        "ages": "Typisk alder",
        "access": "Tilgangsvilkår",
        "access_text": "Tilgang bare med datatilgangstillatelse (EHDS art. 68) eller som anonymisert"
        " statistikk på forespørsel (art. 69), i det sikre behandlingsmiljøet.",
        "apply": "Søk om tilgang",
        "select": "Velg",
        "add_to_cart": "Legg datasettet og de valgte variablene i søknaden min",
        "statistics": "Be om statistikk",
        "formats": "Metadata som RDF",
        "publisher": "Utgiver",
        "frequency": "Oppdateres",
        "categories": "Helsekategorier",
        "keywords": "Emneord",
        "quality": "Metadatakvalitet",
        "average": "snitt i katalogen",
        "version": "Versjon",
        "modified": "Endret",
        "language_switch": "English",
        "search": "Søk",
        "search_placeholder": "Søk i datasett og variabler",
        "results": "datasett",
        "variables_matched": "Treff i variabler",
        "more": "Flere treff",
        "facet_theme": "Tema",
        "facet_health_category": "Helsekategori",
        "facet_publisher": "Utgiver",
        "facet_access_rights": "Tilgang",
        "facet_coding_system": "Kodeverk",
        "facet_keyword": "Emneord",
        "facet_language": "Språk",
        "facet_temporal": "Periode",
        "facet_has_variable": "Har variabel",
        "other_lang": "en",
        "distributions": "Distribusjoner",
        "legal_basis": "Rettslig grunnlag",
        "purpose": "Formål",
        "provenance": "Opphav",
    },
}


def label(iri: str | None, lang: str) -> str:
    if not iri:
        return ""
    code = code_of(iri)
    pair = _LABELS.get(code)
    if pair is None:
        return code
    return pair[1] if lang == "nb" else pair[0]


def ui_text(lang: str) -> dict[str, str]:
    return _UI["nb" if lang == "nb" else "en"]
