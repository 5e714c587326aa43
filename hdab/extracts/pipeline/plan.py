"""From a permit version (and the versions before it) to an extract plan: pure, no I/O.

The plan says exactly what the extract holds: per dataset the permitted columns, the rows (period,
cohort), the as-of time (the permit's first approval; a dataset added by an amendment is read as of
that amendment's approval, Art. 71: opt-outs recorded before it count), anonymised or
pseudonymised, the generalisations and the quasi-identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from hdab.applications.api import PermitVersion
from hdab.extracts.pipeline.failures import JobFailure
from hdab.extracts.pipeline.sources import DIRECT_IDENTIFIERS, SOURCES


class PlanError(JobFailure, ValueError):
    """The permit asks for something the pipeline cannot make; the message says what."""

    code = "cannot_plan"


@dataclass(frozen=True)
class TablePlan:
    dataset: str
    columns: tuple[str, ...]
    time_column: str
    period_start: date | None
    period_end: date | None
    cohort: tuple[tuple[str, tuple[str, ...]], ...]
    generalisations: tuple[str, ...]
    quasi_identifiers: tuple[str, ...]
    pseudonymised: bool
    as_of: datetime  # the registry is read as it was known at this moment
    optout_at: datetime | None = None  # opt-outs recorded by then count (default: as_of)
    changed_since: datetime | None = None  # only record versions learned after this (changes mode)

    @property
    def optouts_by(self) -> datetime:
        return self.optout_at or self.as_of


@dataclass(frozen=True)
class ExtractPlan:
    permit_id: str
    version: int
    tables: tuple[TablePlan, ...]
    min_k: int
    format: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for table in data["tables"]:
            for key in ("as_of", "optout_at", "changed_since"):
                table[key] = table[key].isoformat() if table[key] else None
            for key in ("period_start", "period_end"):
                table[key] = table[key].isoformat() if table[key] else None
        return data


def plan_for_permit(
    versions: Sequence[PermitVersion],
    min_k: int,
    *,
    run_at: datetime | None = None,
    changed_since: datetime | None = None,
) -> ExtractPlan:
    """The plan for the last of ``versions`` (all versions of one permit, in order).

    A recurring delivery (Art. 67(5)) reads the registry as it is at its scheduled ``run_at``, and
    in changes mode only what was learned since the previous run (``changed_since``); opt-outs
    count as of the permit's approval either way (Art. 71: later opt-outs remove no one).
    """
    if not versions:
        raise PlanError("a permit without versions has nothing to extract")
    current = versions[-1]
    first_seen: dict[str, datetime] = {}
    for version in versions:
        for request in version.specification.datasets:
            first_seen.setdefault(request.dataset, version.approved_at)
    tables = []
    for request in current.specification.datasets:
        source = SOURCES.get(request.dataset)
        if source is None:
            raise PlanError(
                f"there is no source table for dataset {request.dataset!r} yet",
                code="no_source_table",
                dataset=request.dataset,
            )
        columns = tuple(dict.fromkeys(c for c in request.variables if c not in DIRECT_IDENTIFIERS))
        if not columns:
            raise PlanError(
                f"dataset {request.dataset!r}: only direct identifiers were asked for, and they never leave",
                code="only_direct_identifiers",
                dataset=request.dataset,
            )
        quasi = tuple(q for q in request.quasi_identifiers if q in columns)
        tables.append(
            TablePlan(
                dataset=request.dataset,
                columns=columns,
                time_column=source.time_column,
                period_start=request.period.start if request.period else None,
                period_end=request.period.end if request.period else None,
                cohort=tuple((c.variable, tuple(c.prefixes)) for c in request.cohort),
                generalisations=tuple(g.value for g in request.generalisations),
                quasi_identifiers=quasi,
                pseudonymised=request.pseudonymised,
                as_of=run_at or first_seen[request.dataset],
                optout_at=first_seen[request.dataset],
                changed_since=changed_since,
            )
        )
    return ExtractPlan(current.permit_id, current.version, tuple(tables), min_k, current.specification.format)
