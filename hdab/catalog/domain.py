"""The catalogue's language: HealthDCAT-AP Release 8 records for NON_PUBLIC datasets, as plain dataclasses.

No I/O here. Controlled values (themes, access rights, formats, languages, coding systems, ...) are
IRIs from the EU and HealthDCAT-AP authority tables (see ``vocab``); literals are multilingual
(Norwegian Bokmål, Nynorsk and English, English always present: the EU requires an official EU
language).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

LANGUAGES = ("en", "nb", "nn")

# A dataset identifier is used verbatim as a URL path segment (/datasets/{identifier}).
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$")
# A variable is (dataset identifier, column name); column names are the registry's snake_case.
COLUMN_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class InvalidRecord(ValueError):
    """A record breaks a rule of the catalogue; ``field`` says where."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Text:
    """A multilingual literal: English always, Bokmål and Nynorsk when given."""

    en: str
    nb: str | None = None
    nn: str | None = None

    def get(self, lang: str) -> str:
        """The text in ``lang``, falling back to Bokmål, then English."""
        value = getattr(self, lang, None) if lang in LANGUAGES else None
        return value or (self.nb if lang == "nn" and self.nb else None) or self.en

    def items(self) -> list[tuple[str, str]]:
        return [(lang, value) for lang in LANGUAGES if (value := getattr(self, lang))]


@dataclass(frozen=True)
class LangString:
    value: str
    lang: str


@dataclass(frozen=True)
class ContactPoint:
    """How to reach someone: an e-mail address and/or a contact page, and optionally a telephone."""

    email: str | None = None
    url: str | None = None
    telephone: str | None = None


@dataclass(frozen=True)
class Agent:
    """A publisher, HDAB, custodian or creator: a foaf:Agent with one contact point."""

    iri: str
    name: Text
    type: str | None = None  # HealthDCAT-AP publisher-type IRI
    contact: ContactPoint | None = None
    organisation_number: str | None = None  # national addition (Enhetsregisteret)
    homepage: str | None = None


@dataclass(frozen=True)
class PeriodOfTime:
    start: date | None = None
    end: date | None = None


class DistributionRole(enum.StrEnum):
    """Which link ties a distribution to its dataset."""

    MAIN = "distribution"  # dcat:distribution
    SAMPLE = "sample"  # adms:sample
    ANALYTICS = "analytics"  # healthdcatap:analytics


@dataclass(frozen=True)
class Distribution:
    iri: str
    role: DistributionRole
    title: Text
    access_url: str
    description: Text | None = None
    download_url: str | None = None
    format: str | None = None  # EU file-type IRI
    media_type: str | None = None  # IANA media-type IRI
    byte_size: int | None = None
    licence: str | None = None  # licence document IRI
    rights: Text | None = None
    status: str | None = None  # EU distribution-status IRI
    availability: str | None = None  # EU planned-availability IRI
    languages: tuple[str, ...] = ()


class DisclosureRole(enum.StrEnum):
    """What a variable can reveal about a person: decides how anonymised releases treat it.

    Set by the dataset's data holder, never by an applicant (an application may add
    quasi-identifiers, not remove one). In RDF: ``hdab:disclosureRole`` (``hdab/catalog/rdf/hdab.ttl``).
    """

    DIRECT_IDENTIFIER = "direct_identifier"  # names a person or a source record: never delivered
    QUASI_IDENTIFIER = "quasi_identifier"  # identifies in combination: k-anonymity over these
    SENSITIVE = "sensitive"  # what must not be learnt of a person: l-diversity within each group
    NON_IDENTIFYING = "non_identifying"


class Coarsening(enum.StrEnum):
    """How an anonymised release generalises a variable by default (``hdab:anonymisedAs``)."""

    MONTH = "month"  # a date or date-time to its year and month
    YEAR = "year"  # a date or date-time to its year
    COUNTY = "county"  # a municipality (or city district) number to its county


@dataclass(frozen=True)
class Column:
    """A variable: the column ``name`` as in the registry's source tables."""

    name: str
    title: Text
    description: Text
    datatype: str  # a CSVW datatype name: string, integer, date, dateTime, boolean, decimal
    coding_system: str | None = None  # code list: HealthDCAT-AP coding-system IRI
    property_url: str | None = None
    disclosure: DisclosureRole | None = None  # None: not classified yet
    anonymised_as: Coarsening | None = None  # default generalisation in anonymised releases


@dataclass(frozen=True)
class Table:
    name: str
    title: Text
    columns: tuple[Column, ...]
    description: Text | None = None
    keywords: tuple[LangString, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class TableGroup:
    """The variables of a dataset: a CSVW table group of tables of columns."""

    title: Text
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class Purpose:
    description: Text


@dataclass(frozen=True)
class LegalBasis:
    description: Text
    source: str | None = None  # IRI of the legal text


@dataclass(frozen=True)
class QualityAnnotation:
    """A quality certificate or label (dqv:QualityCertificate) whose body is a document IRI."""

    body: str
    description: Text | None = None


@dataclass(frozen=True)
class Activity:
    """How the data come about (prov:wasGeneratedBy): a HealthDCAT-AP health-activity type."""

    type: str
    label: Text | None = None


@dataclass(frozen=True)
class DatasetRecord:
    """One catalogue record of a dataset, as HealthDCAT-AP Release 8 describes a NON_PUBLIC dataset."""

    identifier: str
    iri: str
    title: Text
    description: Text
    access_rights: str
    applicable_legislation: tuple[str, ...]
    themes: tuple[str, ...]
    health_categories: tuple[str, ...]
    keywords: tuple[LangString, ...]
    dataset_type: str
    publisher: Agent
    hdab: Agent
    contact_points: tuple[ContactPoint, ...]
    distributions: tuple[Distribution, ...]
    provenance: Text
    has_structured_data: bool
    variables: TableGroup | None = None
    custodian: Agent | None = None
    creator: Agent | None = None
    alternative_titles: tuple[LangString, ...] = ()
    health_themes: tuple[str, ...] = ()
    coding_systems: tuple[str, ...] = ()
    code_values: tuple[str, ...] = ()
    temporal: tuple[PeriodOfTime, ...] = ()
    spatial: tuple[str, ...] = ()
    population_coverage: Text | None = None
    number_of_records: int | None = None
    number_of_unique_individuals: int | None = None
    min_typical_age: int | None = None
    max_typical_age: int | None = None
    retention_period: PeriodOfTime | None = None
    purposes: tuple[Purpose, ...] = ()
    legal_bases: tuple[LegalBasis, ...] = ()
    personal_data: tuple[str, ...] = ()
    quality_annotations: tuple[QualityAnnotation, ...] = ()
    frequency: str | None = None
    languages: tuple[str, ...] = ()
    generated_by: Activity | None = None
    landing_page: str | None = None
    pages: tuple[str, ...] = ()
    conforms_to: tuple[str, ...] = ()
    version: str | None = None
    version_notes: Text | None = None
    issued: date | None = None
    modified: date | None = None
    is_authoritative: bool = False  # national addition: dqvno:isAuthoritative
    other_identifiers: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> tuple[Column, ...]:
        if self.variables is None:
            return ()
        return tuple(c for t in self.variables.tables for c in t.columns)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Catalog:
    """The catalogue itself (dcat:Catalog)."""

    iri: str
    title: Text
    description: Text
    publisher: Agent
    applicable_legislation: tuple[str, ...]
    homepage: str | None = None
    languages: tuple[str, ...] = ()
    themes_taxonomy: tuple[str, ...] = ()
    spatial: tuple[str, ...] = ()
    licence: str | None = None
    modified: date | None = None


class RecordStatus(enum.StrEnum):
    """The state a catalogue record reports to harvesters (DCAT-AP: the ADMS status vocabulary)."""

    PUBLISHED = "Completed"
    WITHDRAWN = "Withdrawn"


@dataclass(frozen=True)
class CatalogRecord:
    """The catalogue's record of one dataset (dcat:CatalogRecord): when it entered, last changed, its state.

    A withdrawn dataset keeps its record, so an incremental harvest learns of the withdrawal.
    """

    iri: str
    dataset_iri: str
    issued: date
    modified: datetime
    status: RecordStatus
    version: int


def check_identifier(identifier: str) -> str:
    if not IDENTIFIER_PATTERN.match(identifier):
        raise InvalidRecord(
            "identifier",
            "must be 1-128 characters of letters, digits, '.', '_', '~' or '-', starting with a letter"
            " or digit, so that it can stand in a URL path as it is",
        )
    return identifier


def check_record(record: DatasetRecord) -> None:
    """Rules of our catalogue beyond the shapes: identifiers, variable names, English everywhere."""
    check_identifier(record.identifier)
    if record.has_structured_data and (record.variables is None or not record.columns):
        raise InvalidRecord("variables", "a dataset with structured data must describe its variables")
    seen: set[str] = set()
    for column in record.columns:
        if not COLUMN_NAME_PATTERN.match(column.name):
            raise InvalidRecord(
                f"variables.{column.name}",
                "a column name is the registry's snake_case column name (a-z, 0-9, _)",
            )
        if column.name in seen:
            raise InvalidRecord(f"variables.{column.name}", "column names must be unique in a dataset")
        seen.add(column.name)
        _check_coarsening(column)
    if not record.title.en.strip() or not record.description.en.strip():
        raise InvalidRecord("title", "English title and description are required")
    ages = (record.min_typical_age, record.max_typical_age)
    if ages[0] is not None and ages[1] is not None and ages[0] > ages[1]:
        raise InvalidRecord("min_typical_age", "cannot exceed max_typical_age")


_COARSENS = {
    Coarsening.MONTH: ("date", "dateTime"),
    Coarsening.YEAR: ("date", "dateTime"),
    Coarsening.COUNTY: ("string", "integer"),
}


def _check_coarsening(column: Column) -> None:
    if column.anonymised_as is None:
        return
    if column.datatype not in _COARSENS[column.anonymised_as]:
        allowed = " or ".join(_COARSENS[column.anonymised_as])
        raise InvalidRecord(
            f"variables.{column.name}",
            f"anonymised_as {column.anonymised_as.value!r} applies to {allowed} variables,"
            f" not to {column.datatype}",
        )
    if column.disclosure is DisclosureRole.DIRECT_IDENTIFIER:
        raise InvalidRecord(
            f"variables.{column.name}",
            "a direct identifier is never delivered, so it has no generalisation (anonymised_as)",
        )


def _sorted_strings(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def canonical(record: DatasetRecord) -> DatasetRecord:
    """The record with every unordered collection in one order (RDF has no order; records compare equal)."""
    variables = record.variables
    if variables is not None:
        variables = replace(
            variables,
            tables=tuple(
                sorted(
                    (
                        replace(
                            t,
                            columns=tuple(sorted(t.columns, key=lambda c: c.name)),
                            keywords=tuple(sorted(set(t.keywords), key=lambda k: (k.lang, k.value))),
                        )
                        for t in variables.tables
                    ),
                    key=lambda t: t.name,
                )
            ),
        )
    return replace(
        record,
        applicable_legislation=_sorted_strings(record.applicable_legislation),
        themes=_sorted_strings(record.themes),
        health_categories=_sorted_strings(record.health_categories),
        health_themes=_sorted_strings(record.health_themes),
        keywords=tuple(sorted(set(record.keywords), key=lambda k: (k.lang, k.value))),
        alternative_titles=tuple(sorted(set(record.alternative_titles), key=lambda k: (k.lang, k.value))),
        contact_points=tuple(
            sorted(set(record.contact_points), key=lambda c: (c.email or "", c.url or "", c.telephone or ""))
        ),
        distributions=tuple(
            sorted(
                (replace(d, languages=_sorted_strings(d.languages)) for d in record.distributions),
                key=lambda d: (d.role.value, d.iri),
            )
        ),
        variables=variables,
        coding_systems=_sorted_strings(record.coding_systems),
        code_values=_sorted_strings(record.code_values),
        temporal=tuple(
            sorted(
                set(record.temporal),
                key=lambda p: (p.start.isoformat() if p.start else "", p.end.isoformat() if p.end else ""),
            )
        ),
        spatial=_sorted_strings(record.spatial),
        purposes=tuple(sorted(set(record.purposes), key=lambda p: p.description.en)),
        legal_bases=tuple(sorted(set(record.legal_bases), key=lambda b: (b.description.en, b.source or ""))),
        personal_data=_sorted_strings(record.personal_data),
        quality_annotations=tuple(sorted(set(record.quality_annotations), key=lambda a: a.body)),
        languages=_sorted_strings(record.languages),
        pages=_sorted_strings(record.pages),
        conforms_to=_sorted_strings(record.conforms_to),
        other_identifiers=_sorted_strings(record.other_identifiers),
    )
