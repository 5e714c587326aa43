"""From a permit version (and the versions before it) to an extract plan: pure, no I/O.

The plan says exactly what the extract holds: per dataset the permitted columns, the rows (period,
cohort), the as-of time (the permit's first approval; a dataset added by an amendment is read as of
that amendment's approval, Art. 71: opt-outs recorded before it count), anonymised or
pseudonymised, the generalisations and the quasi-identifiers.

What a variable can reveal is the catalogue's to say (:class:`Disclosure`), not the applicant's:
its direct identifiers never leave; in an anonymised release its quasi-identifiers are always
among those k-anonymity counts (an application may add more, never remove one), its sensitive
variables must be 2-diverse within every group, and its default generalisations always apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hdab.applications.api import PermitVersion
from hdab.extracts.pipeline.failures import JobFailure
from hdab.registry.api import DIRECT_IDENTIFIERS, SOURCES


class PlanError(JobFailure, ValueError):
    """The permit asks for something the pipeline cannot make; the message says what."""

    code = "cannot_plan"


MIN_L = 2  # distinct l-diversity of sensitive variables in anonymised releases
# Version 1: periods read in UTC, every dataset its own population. Version 2: periods read in
# Norwegian time, datasets beside the study population's deliver its persons only. A permit keeps
# the version of its first extract, so what it delivered before reproduces byte for byte.
PLAN_VERSION = 2
OSLO = ZoneInfo("Europe/Oslo")


@dataclass(frozen=True)
class Population:
    """The study population: the persons with rows in ``dataset`` in its period and cohort, as of then."""

    dataset: str
    time_column: str
    period_start: datetime | None
    period_end: datetime | None  # exclusive
    cohort: tuple[tuple[str, tuple[str, ...]], ...]
    as_of: datetime


@dataclass(frozen=True)
class Disclosure:
    """The catalogue's classification of one dataset's variables (``catalog.api.Variable``)."""

    direct: frozenset[str] = frozenset()
    quasi: frozenset[str] = frozenset()
    sensitive: frozenset[str] = frozenset()
    coarsen: Mapping[str, str] = field(default_factory=dict)  # variable -> month | year | county


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
    sensitive: tuple[str, ...] = ()  # anonymised: 2-diverse within each group of equal quasi-identifiers
    # version 2: the period as instants (Norwegian midnights; the end exclusive); None: read the dates
    period_from: datetime | None = None
    period_until: datetime | None = None
    population: Population | None = None  # only these persons (a dataset beside the population's)
    # anonymised: the catalogue's default generalisations, (column, month | year | county); the
    # application's ``generalisations`` apply too, and where both do, the coarser one wins
    coarsen: tuple[tuple[str, str], ...] = ()

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
    min_l: int = MIN_L
    plan_version: int = PLAN_VERSION

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for table in data["tables"]:
            # absent rather than empty: the plan of a version-1 pseudonymised permit reads as it did
            for key in ("sensitive", "coarsen", "period_from", "period_until", "population"):
                if not table[key]:
                    del table[key]
            for key in ("period_from", "period_until"):
                if key in table:
                    table[key] = table[key].isoformat()
            population = table.get("population")
            if population:
                for key in ("period_start", "period_end", "as_of"):
                    population[key] = population[key].isoformat() if population[key] else None
            for key in ("as_of", "optout_at", "changed_since"):
                table[key] = table[key].isoformat() if table[key] else None
            for key in ("period_start", "period_end"):
                table[key] = table[key].isoformat() if table[key] else None
        if not any(t.sensitive for t in self.tables):
            del data["min_l"]
        if self.plan_version == 1:
            del data["plan_version"]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExtractPlan:
        """The plan ``to_json`` wrote (a job's stored plan), as it was: ``to_json`` gives it back alike.

        A plan without ``plan_version`` is version 1 (it was made before versions existed).
        """
        return cls(
            permit_id=data["permit_id"],
            version=int(data["version"]),
            tables=tuple(_table_from_json(t) for t in data["tables"]),
            min_k=int(data["min_k"]),
            format=data["format"],
            min_l=int(data.get("min_l", MIN_L)),
            plan_version=int(data.get("plan_version", 1)),
        )


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _cohort(rows: Sequence[Sequence[Any]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((str(variable), tuple(prefixes)) for variable, prefixes in rows)


def _table_from_json(data: Mapping[str, Any]) -> TablePlan:
    population = data.get("population")
    as_of = _instant(data["as_of"])
    assert as_of is not None
    return TablePlan(
        dataset=data["dataset"],
        columns=tuple(data["columns"]),
        time_column=data["time_column"],
        period_start=_day(data["period_start"]),
        period_end=_day(data["period_end"]),
        cohort=_cohort(data["cohort"]),
        generalisations=tuple(data["generalisations"]),
        quasi_identifiers=tuple(data["quasi_identifiers"]),
        pseudonymised=bool(data["pseudonymised"]),
        as_of=as_of,
        optout_at=_instant(data.get("optout_at")),
        changed_since=_instant(data.get("changed_since")),
        sensitive=tuple(data.get("sensitive", ())),
        period_from=_instant(data.get("period_from")),
        period_until=_instant(data.get("period_until")),
        population=Population(
            dataset=population["dataset"],
            time_column=population["time_column"],
            period_start=_instant(population["period_start"]),
            period_end=_instant(population["period_end"]),
            cohort=_cohort(population["cohort"]),
            as_of=_instant(population["as_of"]) or as_of,
        )
        if population
        else None,
        coarsen=tuple((str(column), str(kind)) for column, kind in data.get("coarsen", ())),
    )


def oslo_midnight(day: date) -> datetime:
    """The instant a day begins in Norway (a permit's period is in Norwegian dates)."""
    return datetime.combine(day, time(0), OSLO)


def plan_for_permit(
    versions: Sequence[PermitVersion],
    min_k: int,
    *,
    run_at: datetime | None = None,
    changed_since: datetime | None = None,
    disclosure: Mapping[str, Disclosure] | None = None,
    plan_version: int = PLAN_VERSION,
) -> ExtractPlan:
    """The plan for the last of ``versions`` (all versions of one permit, in order).

    A recurring delivery (Art. 67(5)) reads the registry as it is at its scheduled ``run_at``, and
    in changes mode only what was learned since the previous run (``changed_since``); opt-outs
    count as of the permit's approval either way (Art. 71: later opt-outs remove no one).
    ``disclosure`` is the catalogue's classification of each dataset's variables. ``plan_version``
    is the permit's (that of its first extract): version 1 reproduces what was extracted before.
    """
    if plan_version not in (1, 2):
        raise PlanError(f"plan version {plan_version} is not one this service knows")
    if not versions:
        raise PlanError("a permit without versions has nothing to extract")
    current = versions[-1]
    first_seen: dict[str, datetime] = {}
    for version in versions:
        for request in version.specification.datasets:
            first_seen.setdefault(request.dataset, version.approved_at)
    specification = current.specification
    asked = [d.dataset for d in specification.datasets]
    if len(set(asked)) != len(asked):
        repeated = sorted({d for d in asked if asked.count(d) > 1})
        raise PlanError(
            f"the permit names {', '.join(repeated)} more than once; each dataset is asked for once",
            code="dataset_repeated",
        )
    population = None
    defining = specification.population_dataset() if plan_version >= 2 else None
    if defining is not None:
        named = next((d for d in specification.datasets if d.dataset == defining), None)
        found = SOURCES.get(defining)
        if named is not None and found is not None and named.cohort:
            population = Population(
                dataset=defining,
                time_column=found.time_column,
                period_start=oslo_midnight(named.period.start) if named.period else None,
                period_end=oslo_midnight(named.period.end + timedelta(days=1)) if named.period else None,
                cohort=tuple((c.variable, tuple(c.prefixes)) for c in named.cohort),
                as_of=run_at or first_seen[defining],
            )
    tables = []
    for request in specification.datasets:
        source = SOURCES.get(request.dataset)
        if source is None:
            raise PlanError(
                f"there is no source table for dataset {request.dataset!r} yet",
                code="no_source_table",
                dataset=request.dataset,
            )
        known = (disclosure or {}).get(request.dataset, Disclosure())
        never = DIRECT_IDENTIFIERS | known.direct
        columns = tuple(dict.fromkeys(c for c in request.variables if c not in never))
        if not columns:
            raise PlanError(
                f"dataset {request.dataset!r}: only direct identifiers were asked for, and they never leave",
                code="only_direct_identifiers",
                dataset=request.dataset,
            )
        anonymised = not request.pseudonymised
        # an application may add quasi-identifiers, never remove one, and never turn one of the
        # catalogue's sensitive variables into a quasi-identifier (that would switch off its
        # l-diversity: every group would hold one value of it)
        asked_quasi = (set(request.quasi_identifiers) | (known.quasi if anonymised else set())) - (
            known.sensitive if anonymised else set()
        )
        quasi = tuple(c for c in columns if c in asked_quasi)
        if not anonymised:  # as before: in the order asked (k-anonymity is for anonymised data)
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
                sensitive=tuple(c for c in columns if c in known.sensitive) if anonymised else (),
                coarsen=tuple((c, known.coarsen[c]) for c in columns if c in known.coarsen)
                if anonymised
                else (),
                period_from=oslo_midnight(request.period.start)
                if request.period and plan_version >= 2
                else None,
                period_until=oslo_midnight(request.period.end + timedelta(days=1))
                if request.period and plan_version >= 2
                else None,
                population=population
                if population is not None
                and request.dataset != population.dataset
                and not request.whole_population
                else None,
            )
        )
    return ExtractPlan(
        current.permit_id,
        current.version,
        tuple(tables),
        min_k,
        specification.format,
        plan_version=plan_version,
    )
