"""The register of submitters: reporting units and EPJ vendors, and the message types each may send.

Imported from a CSV of organisation numbers (60,000 rows is normal: every GP office, emergency room
and private provider): ``organisation,name,kind,category,message_types`` with a header line;
``kind`` is ``unit`` or ``vendor``; ``message_types`` is a space-separated list of type names, or
empty for the types whose ``senders`` name the row's category. Every row is checked before any is
written; an import is all or nothing, upserts by organisation number, and is one audit entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hdab.core import audit, clock
from hdab.core.identifiers import InvalidIdentifier, validate_organisation_number
from hdab.reception.models import Submitter
from hdab.reception.types import MESSAGE_TYPES

COLUMNS = ("organisation", "name", "kind", "category", "message_types")
KINDS = frozenset({"unit", "vendor"})
MAX_ROWS = 200_000
BATCH = 5_000


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str


class ImportRefused(ValueError):
    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(f"{len(problems)} row(s) refused; nothing imported")
        self.problems = list(problems)


@dataclass(frozen=True)
class ImportResult:
    rows: int
    units: int
    vendors: int


def default_types(category: str) -> list[str]:
    return sorted({t.name for t in MESSAGE_TYPES.values() if category in t.senders})


def parse(text: str, limit_problems: int = 100) -> list[dict[str, Any]]:
    """The CSV's rows as submitters; :class:`ImportRefused` listing the first problems if any row is wrong."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != list(COLUMNS):
        raise ImportRefused([RowProblem(1, f"the header must be {','.join(COLUMNS)}")])
    known_types = {t.name for t in MESSAGE_TYPES.values()}
    rows: dict[str, dict[str, Any]] = {}
    problems: list[RowProblem] = []
    now = clock.now()
    for line, raw in enumerate(reader, start=2):
        if len(rows) >= MAX_ROWS:
            problems.append(RowProblem(line, f"more than {MAX_ROWS} rows: split the file"))
            break
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        organisation = row.get("organisation", "")
        try:
            validate_organisation_number(organisation)
        except InvalidIdentifier as exc:
            problems.append(RowProblem(line, str(exc)))
            continue
        kind, category, name = row.get("kind", ""), row.get("category", ""), row.get("name", "")
        types = row.get("message_types", "").split() or default_types(category)
        if kind not in KINDS:
            problems.append(RowProblem(line, "kind must be unit or vendor"))
        elif not 0 < len(name) <= 200 or not 0 < len(category) <= 40:
            problems.append(
                RowProblem(line, "name (up to 200 characters) and category (up to 40) are needed")
            )
        elif unknown := sorted(set(types) - known_types):
            problems.append(RowProblem(line, f"unknown message types: {', '.join(unknown)}"))
        elif organisation in rows:
            problems.append(RowProblem(line, f"organisation {organisation} is listed twice"))
        else:
            rows[organisation] = {
                "organisation": organisation,
                "name": name,
                "kind": kind,
                "category": category,
                "message_types": sorted(set(types)),
                "active": True,
                "registered_at": now,
            }
        if len(problems) >= limit_problems:
            break
    if problems:
        raise ImportRefused(problems)
    return list(rows.values())


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Submitter)
    statement = statement.on_conflict_do_update(
        index_elements=[Submitter.organisation],
        set_={
            "name": statement.excluded.name,
            "kind": statement.excluded.kind,
            "category": statement.excluded.category,
            "message_types": statement.excluded.message_types,
            "active": statement.excluded.active,
        },
    )
    for batch in _batches(rows):
        session.execute(statement, batch)  # executemany: batched VALUES on PostgreSQL


def import_csv(session: Session, actor: str, text: str) -> ImportResult:
    rows = parse(text)
    upsert(session, rows)
    units = sum(1 for r in rows if r["kind"] == "unit")
    result = ImportResult(len(rows), units, len(rows) - units)
    audit.record(
        session,
        actor=actor,
        action="reception.submitters.imported",
        object_type="reception_submitters",
        object_id="register",
        details={"rows": result.rows, "units": result.units, "vendors": result.vendors},
    )
    return result


def register(
    session: Session, actor: str, organisation: str, name: str, kind: str, category: str, types: Sequence[str]
) -> None:
    """One submitter (tests, the CLI): the same checks as a one-row import."""
    line = ",".join((organisation, name, kind, category, " ".join(types)))
    import_csv(session, actor, ",".join(COLUMNS) + "\n" + line + "\n")
