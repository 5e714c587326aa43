"""What the search indexes of a dataset: its texts by field, its variables and its facet values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hdab.catalog.domain import DatasetRecord, Text
from hdab.catalog.labels import label
from hdab.catalog.rdf.namespaces import code_of

# Field boosts, the same in every backend.
BOOSTS = {"title": 3.0, "keywords": 2.0, "codes": 2.0, "variables": 1.5, "description": 1.0}
FIELDS = tuple(BOOSTS)

FACETS = (
    "theme",
    "health_category",
    "publisher",
    "access_rights",
    "coding_system",
    "keyword",
    "language",
    "temporal",
    "has_variable",
)

# Extra words for coding systems, so "NCSP" finds the national procedure codes.
CODE_WORDS = {
    "PROC-CODES-NAT": "NCSP NCMP NCRP prosedyrekoder procedure codes",
    "ICD-10": "ICD-10 ICD10 diagnoser diagnoses",
    "ICPC-2": "ICPC-2 ICPC2 primærhelsetjeneste primary care diagnoses",
}


@dataclass(frozen=True)
class Variable:
    name: str
    text: str


@dataclass(frozen=True)
class SearchDocument:
    identifier: str
    title: dict[str, str]
    description: dict[str, str]
    fields: dict[str, str]
    variables: tuple[Variable, ...]
    facets: dict[str, tuple[str, ...]]
    facet_labels: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "title": self.title,
            "description": self.description,
            "fields": self.fields,
            "variables": [{"name": v.name, "text": v.text} for v in self.variables],
            "facets": {k: list(v) for k, v in self.facets.items()},
            "facet_labels": self.facet_labels,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchDocument:
        return cls(
            identifier=data["identifier"],
            title=data["title"],
            description=data["description"],
            fields=data["fields"],
            variables=tuple(Variable(v["name"], v["text"]) for v in data["variables"]),
            facets={k: tuple(v) for k, v in data["facets"].items()},
            facet_labels=data.get("facet_labels", {}),
        )


def decades(start: date | None, end: date | None, today: date) -> tuple[str, ...]:
    """Temporal coverage as decade buckets ("2010-2019"), the facet's year ranges."""
    if start is None:
        return ()
    last = (end or today).year
    return tuple(f"{d}-{d + 9}" for d in range(start.year // 10 * 10, last // 10 * 10 + 1, 10))


def document_for(record: DatasetRecord, today: date) -> SearchDocument:
    def texts(value: Text) -> str:
        return " ".join(v for _, v in value.items())

    coding = set(record.coding_systems) | {c.coding_system for c in record.columns if c.coding_system}
    codes = " ".join(
        f"{code_of(c)} {CODE_WORDS.get(code_of(c), '')} {label(c, 'en')} {label(c, 'nb')}"
        for c in sorted(coding)
    )
    variables = tuple(
        Variable(c.name, f"{c.name} {c.name.replace('_', ' ')} {texts(c.title)} {texts(c.description)}")
        for c in record.columns
    )
    facets: dict[str, tuple[str, ...]] = {
        "theme": tuple(code_of(t) for t in record.themes),
        "health_category": tuple(code_of(c) for c in record.health_categories),
        "publisher": (record.publisher.organisation_number or code_of(record.publisher.iri),),
        "access_rights": (code_of(record.access_rights),),
        "coding_system": tuple(sorted(code_of(c) for c in coding)),
        "keyword": tuple(sorted({k.value for k in record.keywords})),
        "language": tuple(code_of(lang) for lang in record.languages),
        "temporal": tuple(sorted({d for p in record.temporal for d in decades(p.start, p.end, today)})),
        "has_variable": tuple(sorted(c.name for c in record.columns)),
    }
    labels: dict[str, dict[str, dict[str, str]]] = {
        "publisher": {
            facets["publisher"][0]: {lang: record.publisher.name.get(lang) for lang in ("en", "nb")}
        },
    }
    return SearchDocument(
        identifier=record.identifier,
        title={lang: record.title.get(lang) for lang in ("en", "nb")},
        description={lang: record.description.get(lang) for lang in ("en", "nb")},
        fields={
            "title": texts(record.title) + " " + record.identifier.replace("-", " "),
            "keywords": " ".join(k.value for k in record.keywords),
            "codes": codes,
            "variables": " ".join(v.text for v in variables),
            "description": texts(record.description)
            + " "
            + (texts(record.population_coverage) if record.population_coverage else ""),
        },
        variables=variables,
        facets=facets,
        facet_labels=labels,
    )
