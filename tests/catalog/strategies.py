"""Hypothesis strategies for catalogue records."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from hdab.catalog.domain import (
    Activity,
    Agent,
    Column,
    ContactPoint,
    DatasetRecord,
    Distribution,
    DistributionRole,
    LangString,
    LegalBasis,
    PeriodOfTime,
    Purpose,
    QualityAnnotation,
    Table,
    TableGroup,
    Text,
    canonical,
)
from hdab.catalog.rdf.namespaces import eu, health

BASE = "https://hdab.example.no"
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøå ÆØÅ-.,0123456789", min_size=1, max_size=30).map(
    lambda s: s.strip() or "x"
)
slugs = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
column_names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
iris = slugs.map(lambda s: f"https://example.org/{s}")
texts = st.builds(Text, en=words, nb=st.none() | words, nn=st.none() | words)
lang_strings = st.builds(LangString, value=words, lang=st.sampled_from(["en", "nb", "nn"]))
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))
small = st.integers(min_value=0, max_value=10**9)
contacts = st.builds(
    ContactPoint,
    email=st.none() | slugs.map(lambda s: f"{s}@example.org"),
    url=st.none() | iris,
    telephone=st.none() | st.from_regex(r"\+47 [0-9]{8}", fullmatch=True),
).filter(lambda c: c.email or c.url)


def agents(prefix: str) -> st.SearchStrategy[Agent]:
    return st.builds(
        Agent,
        iri=slugs.map(lambda s: f"https://agents.example.org/{prefix}/{s}"),
        name=texts,
        type=st.none() | st.sampled_from([health("publisher-type", "public-health-institute")]),
        contact=st.none() | contacts,
        organisation_number=st.none() | st.just("983744516"),
        homepage=st.none() | iris,
    )


def distributions(dataset_iri: str) -> st.SearchStrategy[Distribution]:
    return st.builds(
        Distribution,
        iri=slugs.map(lambda s: f"{dataset_iri}/distributions/{s}"),
        role=st.sampled_from(list(DistributionRole)),
        title=texts,
        access_url=iris,
        description=st.none() | texts,
        download_url=st.none() | iris,
        format=st.none() | st.sampled_from([eu("file-type", "CSV"), eu("file-type", "PARQUET")]),
        media_type=st.none() | st.just("http://www.iana.org/assignments/media-types/text/csv"),
        byte_size=st.none() | small,
        licence=st.none() | iris,
        rights=st.none() | texts,
        status=st.none() | st.just(eu("distribution-status", "COMPLETED")),
        availability=st.none() | st.just(eu("planned-availability", "STABLE")),
        languages=st.lists(st.sampled_from([eu("language", "NOR"), eu("language", "ENG")]), unique=True).map(
            tuple
        ),
    )


columns = st.builds(
    Column,
    name=column_names,
    title=texts,
    description=texts,
    datatype=st.sampled_from(["string", "integer", "date", "dateTime", "decimal", "boolean"]),
    coding_system=st.none() | st.just(health("coding-system", "ICD-10")),
    property_url=st.none() | iris,
)
tables = st.builds(
    Table,
    name=slugs,
    title=texts,
    columns=st.lists(columns, min_size=1, max_size=5, unique_by=lambda c: c.name).map(tuple),
    description=st.none() | texts,
    keywords=st.lists(lang_strings, max_size=3, unique=True).map(tuple),
    url=st.none() | iris,
)


def _unique_columns(group: TableGroup) -> bool:
    names = [c.name for t in group.tables for c in t.columns]
    return len(names) == len(set(names))


table_groups = st.builds(
    TableGroup,
    title=texts,
    tables=st.lists(tables, min_size=1, max_size=2, unique_by=lambda t: t.name).map(tuple),
).filter(_unique_columns)
periods = st.builds(PeriodOfTime, start=st.none() | dates, end=st.none() | dates)


@st.composite
def records(draw: st.DrawFn) -> DatasetRecord:
    identifier = draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True))
    iri = f"{BASE}/datasets/{identifier}"
    variables = draw(st.none() | table_groups)
    record = DatasetRecord(
        identifier=identifier,
        iri=iri,
        title=draw(texts),
        description=draw(texts),
        access_rights=eu("access-right", "NON_PUBLIC"),
        applicable_legislation=tuple(draw(st.lists(iris, min_size=1, max_size=2, unique=True))),
        themes=(eu("data-theme", "HEAL"),),
        health_categories=tuple(
            draw(
                st.lists(
                    st.sampled_from([health("healthcategories", c) for c in ("PHDR", "HRAD")]),
                    min_size=1,
                    unique=True,
                )
            )
        ),
        keywords=tuple(draw(st.lists(lang_strings, min_size=1, max_size=4, unique=True))),
        dataset_type=eu("dataset-type", "STATISTICAL"),
        publisher=draw(agents("publisher")),
        hdab=draw(agents("hdab")),
        contact_points=tuple(draw(st.lists(contacts, min_size=1, max_size=2, unique=True))),
        distributions=tuple(
            draw(st.lists(distributions(iri), min_size=1, max_size=3, unique_by=lambda d: d.iri))
        ),
        provenance=draw(texts),
        has_structured_data=variables is not None,
        variables=variables,
        custodian=draw(st.none() | agents("custodian")),
        creator=draw(st.none() | agents("creator")),
        alternative_titles=tuple(draw(st.lists(lang_strings, max_size=2, unique=True))),
        health_themes=tuple(draw(st.lists(st.just(health("health-theme", "MENTAL_HEALTH")), max_size=1))),
        coding_systems=tuple(
            draw(
                st.lists(
                    st.sampled_from([health("coding-system", c) for c in ("ICD-10", "ICPC-2")]), unique=True
                )
            )
        ),
        code_values=tuple(
            draw(st.lists(st.from_regex(r"[A-Z][0-9]{2}", fullmatch=True), max_size=3, unique=True))
        ),
        temporal=tuple(draw(st.lists(periods, max_size=2, unique=True))),
        spatial=tuple(draw(st.lists(st.just(eu("country", "NOR")), max_size=1))),
        population_coverage=draw(st.none() | texts),
        number_of_records=draw(st.none() | small),
        number_of_unique_individuals=draw(st.none() | small),
        min_typical_age=draw(st.none() | st.integers(0, 50)),
        max_typical_age=draw(st.none() | st.integers(51, 120)),
        retention_period=draw(st.none() | periods),
        purposes=tuple(
            draw(st.lists(st.builds(Purpose, texts), max_size=2, unique_by=lambda p: p.description.en))
        ),
        legal_bases=tuple(
            draw(st.lists(st.builds(LegalBasis, texts, st.none() | iris), max_size=2, unique=True))
        ),
        personal_data=tuple(
            draw(
                st.lists(
                    st.sampled_from([f"https://w3id.org/dpv/dpv-pd#{t}" for t in ("Age", "Gender")]),
                    unique=True,
                )
            )
        ),
        quality_annotations=tuple(
            draw(
                st.lists(
                    st.builds(QualityAnnotation, iris, st.none() | texts),
                    max_size=2,
                    unique_by=lambda a: a.body,
                )
            )
        ),
        frequency=draw(st.none() | st.just(eu("frequency", "ANNUAL"))),
        languages=tuple(draw(st.lists(st.just(eu("language", "NOR")), max_size=1))),
        generated_by=draw(
            st.none()
            | st.builds(Activity, st.just(health("health-activity", "HEALTH_REGISTRIES")), st.none() | texts)
        ),
        landing_page=draw(st.none() | iris),
        pages=tuple(draw(st.lists(iris, max_size=2, unique=True))),
        conforms_to=tuple(draw(st.lists(iris, max_size=2, unique=True))),
        version=draw(st.none() | st.from_regex(r"[0-9]\.[0-9]", fullmatch=True)),
        version_notes=draw(st.none() | texts),
        issued=draw(st.none() | dates),
        modified=draw(st.none() | dates),
        is_authoritative=draw(st.booleans()),
        other_identifiers=tuple(draw(st.lists(slugs, max_size=2, unique=True))),
    )
    return canonical(record)
