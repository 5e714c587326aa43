"""What other domains may ask the catalogue: plain frozen data, no ORM objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hdab.catalog import repository
from hdab.catalog.codec import record_from_json
from hdab.catalog.models import DatasetStatus


@dataclass(frozen=True)
class Variable:
    name: str  # the column name in the registry's source tables
    table: str
    title: str
    datatype: str
    disclosure: str | None = None  # a DisclosureRole value; None: not classified
    anonymised_as: str | None = None  # a Coarsening value: anonymised releases generalise it so


@dataclass(frozen=True)
class DatasetSummary:
    identifier: str
    title: str  # English, the EU's working language; Bokmål in ``title_nb``
    title_nb: str
    variables: tuple[Variable, ...]

    def variable_names(self) -> frozenset[str]:
        return frozenset(v.name for v in self.variables)


def dataset(session: Session, identifier: str) -> DatasetSummary | None:
    """A published dataset and its variables, or None when the catalogue publishes no such dataset."""
    row = session.scalars(repository.by_identifier(identifier)).one_or_none()
    if row is None or row.status is not DatasetStatus.PUBLISHED:
        return None
    record = record_from_json(row.record)
    variables = tuple(
        Variable(
            c.name,
            t.name,
            c.title.en,
            c.datatype,
            c.disclosure.value if c.disclosure else None,
            c.anonymised_as.value if c.anonymised_as else None,
        )
        for t in (record.variables.tables if record.variables else ())
        for c in t.columns
    )
    return DatasetSummary(
        identifier=record.identifier,
        title=record.title.en,
        title_nb=record.title.get("nb"),
        variables=variables,
    )


def variable_lookup(session: Session) -> Callable[[str], frozenset[str] | None]:
    """A cached ``identifier -> variable names`` function over one session, for validating requests."""
    cache: dict[str, frozenset[str] | None] = {}

    def lookup(identifier: str) -> frozenset[str] | None:
        if identifier not in cache:
            found = dataset(session, identifier)
            cache[identifier] = found.variable_names() if found else None
        return cache[identifier]

    return lookup
