"""The steps of an extract, each a pure transformation over DuckDB tables.

Why DuckDB: the work is relational (an as-of selection over record versions, anti-joins against
the opt-out registry, group counts for k-anonymity) and must stream a year of NPR (16 million
rows) from Parquet to Parquet in bounded memory. DuckDB reads and writes Parquet natively,
runs the keyed hashes vectorised in SQL (HMAC-SHA-256 from its sha256 function), spills to disk
under a memory limit, and the same SQL would run on a distributed SQL engine later.

Each step runs on its own (one Celery task each) and leaves its result as a small Parquet artifact
in the job's work folder: ``persons`` (each person of the permitted rows and their number of rows),
``removed`` (persons opted out), ``pseudonyms`` (kept persons and their pseudonyms),
``suppressed`` (groups under k). The artifacts are encrypted under the job's key and private to the
service (``workfiles``): the first three hold the person column.

The permitted rows themselves are never copied into the work folder: every step that needs them
(the disclosure check, the write) reads them again from the registry, through the same query over
the same files (``m``, :func:`define_rows`). Minimise freezes which files those are and their sizes
and times (``source.json``); the registry only ever adds parts, so a later step finds them as they
were, and refuses, with a reason to run the job again, when one was replaced. Reading the source
twice costs less than writing all its rows to an encrypted file and reading them back, and the
opt-out filter and the pseudonyms work on the persons alone (a fifth of the rows), not on the rows.
The written file is one query over the source and those artifacts, so a step killed half-way is
simply run again, and the steps before it are not. The person column never reaches a written file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hdab.extracts.pipeline.failures import JobFailure
from hdab.extracts.pipeline.plan import Population, TablePlan
from hdab.extracts.pipeline.workfiles import WorkFolder, dataset, store, write_text
from hdab.registry.api import KNOWN_AT_FROM, KNOWN_AT_WHERE, SOURCES

PSEUDONYM_COLUMN = "pseudonym"
MAX_SUPPRESSED_SHARE = 0.05  # more than this suppressed to reach k: a human decides


def permit_key(master: str, permit_id: str) -> bytes:
    """The permit's own pseudonym key: HKDF-SHA-256 from the master secret and the permit's id.

    One permit, one key: a person has the same pseudonym in NPR and KPR and in every delivery of
    that permit, and unlinkable pseudonyms across permits. The key lives only in memory here.
    """
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"hdab-pseudonym-v1", info=permit_id.encode("utf-8")
    ).derive(master.encode("utf-8"))


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def hmac_sql(column: str) -> str:
    """HMAC-SHA-256 of a text column as lower-case hex, given ``$ipad``/``$opad`` parameters (RFC 2104)."""
    return f"sha256($opad::BLOB || unhex(sha256($ipad::BLOB || encode({column}))))"


def hmac_python(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class StepResult:
    rows_in: int
    rows_out: int
    details: dict[str, Any]
    held: str | None = None  # a disclosure risk the step could not resolve


def _one(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any] | None = None) -> Any:
    """The first column of a one-row query, its result read to the end (nothing left pending)."""
    rows = con.execute(query, params or {}).fetchall()
    return rows[0][0] if rows else None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a column name: {name!r}")
    return f'"{name}"'


def _copy(
    con: duckdb.DuckDBPyConnection, query: str, path: Path, params: dict[str, Any] | None = None
) -> None:
    """Write a query's rows to ``path`` (a delivered file: no identifiers) whole or not at all."""
    tmp = path.with_suffix(".parquet.tmp")
    con.execute(f"COPY ({query}) TO {_literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd)", params or {})
    tmp.replace(path)


def attach(con: duckdb.DuckDBPyConnection, work: WorkFolder) -> None:
    """The artifacts of the steps before, as views: _persons, _removed, _pseudonyms, _suppressed."""
    for view, name in (("_persons", "persons"), ("_removed", "removed"), ("_pseudonyms", "pseudonyms"),
                       ("_suppressed", "suppressed")):  # fmt: skip
        path = work.artifact(name)
        if path.exists():
            con.register(view, dataset(path, work.key))


SOURCE_FILES = "source.json"  # the registry's files minimise read, with their sizes and times


def _listing(registry: Path, files: list[str]) -> list[list[Any]]:
    found = []
    for name in files:
        stat = Path(name).stat()
        found.append([Path(name).relative_to(registry).as_posix(), stat.st_size, stat.st_mtime_ns])
    return found


def freeze_source(plan: TablePlan, registry: Path, work: WorkFolder) -> dict[str, Any]:
    """Choose the files the rows are read from (and the population's) and keep their listing."""
    source = SOURCES[plan.dataset]
    source.require_data(registry, plan.as_of)
    # only the days the reading needs: up to the as-of time, and in changes mode from the last run on
    frozen: dict[str, Any] = {
        "files": _listing(registry, source.files(registry, plan.as_of, plan.changed_since))
    }
    if plan.population is not None:
        population = SOURCES[plan.population.dataset]
        population.require_data(registry, plan.population.as_of)
        frozen["population_files"] = _listing(registry, population.files(registry, plan.population.as_of))
    write_text(work.path / SOURCE_FILES, json.dumps(frozen, sort_keys=True))
    return frozen


def frozen_source(registry: Path, work: WorkFolder) -> dict[str, list[str]]:
    """The files minimise chose, as paths; refused when one is no longer as it was then."""
    path = work.path / SOURCE_FILES
    if not path.is_file():  # a job whose minimise ran before the rows were read again, never copied
        raise JobFailure(
            "this job's minimise step did not record which registry files it read: run the extract again",
            code="registry_changed",
        )
    frozen = json.loads(path.read_text(encoding="utf-8"))
    paths: dict[str, list[str]] = {}
    for key, listing in frozen.items():
        paths[key] = []
        for name, size, mtime in listing:
            path = registry / name
            try:
                stat = path.stat()
                same = (stat.st_size, stat.st_mtime_ns) == (size, mtime)
            except FileNotFoundError:
                same = False
            if not same:
                raise JobFailure(
                    f"the registry's file {name} changed or went away after this job's minimise step "
                    "read it: run the extract again",
                    code="registry_changed",
                )
            paths[key].append(str(path))
    return paths


def rows_query(plan: TablePlan, files: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    """The permitted columns of the permitted rows, as the registry knew them at the as-of time."""
    source = SOURCES[plan.dataset]

    def col(name: str) -> str:
        return f"s.{quote_name(name)}"

    params: dict[str, Any] = {"as_of": plan.as_of, "files": files["files"]}
    conditions = [KNOWN_AT_WHERE]
    if plan.changed_since is not None:  # changes mode: what the registry learned since the last run
        conditions.append("s.recorded_at > $since")
        params["since"] = plan.changed_since
    start: date | datetime | None
    end: date | datetime | None
    if plan.period_from is not None or plan.period_until is not None:  # plan version 2: Norwegian days
        start, end = plan.period_from, plan.period_until
    else:  # plan version 1, as permits extracted before read it (dates compared as UTC days)
        start = plan.period_start
        end = plan.period_end + timedelta(days=1) if plan.period_end is not None else None
    conditions += _rows_in(plan.time_column, start, end, plan.cohort, params, "")
    if plan.population is not None:
        conditions.append(
            f"{col(source.person_column)} IN "
            f"({_population_sql(plan.population, files['population_files'], params)})"
        )
    query = f"""
        SELECT s.record_id, {col(source.person_column)} AS _person, {", ".join(col(c) for c in plan.columns)}
        FROM {KNOWN_AT_FROM}
        WHERE {" AND ".join(conditions)}
        """
    return query, params


def define_rows(con: duckdb.DuckDBPyConnection, plan: TablePlan, registry: Path, work: WorkFolder) -> None:
    """The permitted rows as the view ``m``, read from the files minimise froze (never copied)."""
    query, params = rows_query(plan, frozen_source(registry, work))
    con.sql(query, params=params).create_view("m", replace=True)


def minimise(con: duckdb.DuckDBPyConnection, plan: TablePlan, registry: Path, work: WorkFolder) -> StepResult:
    """Which persons the permitted rows hold, and how many rows each: one pass over the source.

    The rows are the permitted columns of the permitted rows, as the registry knew them at the
    as-of time (:func:`rows_query`); the later steps read them again through the same query.
    """
    frozen = freeze_source(plan, registry, work)
    define_rows(con, plan, registry, work)
    store(con, "SELECT _person, count(*) AS n FROM m GROUP BY _person", work, "persons")
    files = [str(registry / name) for name, _, _ in frozen["files"]]
    total = int(_one(con, "SELECT count(*) FROM read_parquet($files)", {"files": files}) or 0)
    attach(con, work)
    rows = int(_one(con, "SELECT coalesce(sum(n), 0) FROM _persons") or 0)
    return StepResult(total, rows, {"as_of": plan.as_of.isoformat()})


def _rows_in(
    time_column: str,
    start: Any,
    end: Any,
    cohort: tuple[tuple[str, tuple[str, ...]], ...],
    params: dict[str, Any],
    prefix: str,
) -> list[str]:
    """Conditions on ``s``: in the period (``start`` inclusive, ``end`` exclusive) and the cohort."""
    conditions = []
    if start is not None:
        conditions.append(f"s.{quote_name(time_column)} >= ${prefix}start")
        params[f"{prefix}start"] = start
    if end is not None:
        conditions.append(f"s.{quote_name(time_column)} < ${prefix}end")
        params[f"{prefix}end"] = end
    for i, (variable, prefixes) in enumerate(cohort):
        alternatives = []
        for j, code in enumerate(prefixes):
            params[f"{prefix}p{i}_{j}"] = code
            alternatives.append(f"starts_with(CAST(s.{quote_name(variable)} AS VARCHAR), ${prefix}p{i}_{j})")
        conditions.append("(" + " OR ".join(alternatives) + ")")
    return conditions


def _population_sql(population: Population, files: list[str], params: dict[str, Any]) -> str:
    """The persons of the study population: in its dataset's rows, its period and cohort, as of then."""
    source = SOURCES[population.dataset]
    params["pop_files"] = files
    params["pop_as_of"] = population.as_of
    known_at = KNOWN_AT_FROM.replace("$files", "$pop_files").replace("$as_of", "$pop_as_of")
    conditions = [KNOWN_AT_WHERE.replace("$as_of", "$pop_as_of")]
    conditions += _rows_in(
        population.time_column,
        population.period_start,
        population.period_end,
        population.cohort,
        params,
        "pop_",
    )
    return f"SELECT s.{quote_name(source.person_column)} FROM {known_at} WHERE {' AND '.join(conditions)}"


def optout_filter(
    con: duckdb.DuckDBPyConnection, work: WorkFolder, opted_out: frozenset[str], optout_key: bytes
) -> StepResult:
    """Find everyone in the rows opted out at the as-of time (their keyed hashes are ``opted_out``).

    The keyed hash is computed once per person, not once per row; the opt-outs' hashes go to
    DuckDB as one Arrow column, not row by row.
    """
    attach(con, work)
    rows_in = int(_one(con, "SELECT coalesce(sum(n), 0) FROM _persons") or 0)
    con.register("_optouts", pa.table({"person": pa.array(sorted(opted_out), pa.string())}))
    ipad, opad = hmac_pads(optout_key)
    store(
        con,
        f"""SELECT _person, n FROM _persons
        WHERE {hmac_sql("_person")} IN (SELECT person FROM _optouts) ORDER BY _person""",
        work,
        "removed",
        {"ipad": ipad, "opad": opad},
    )
    con.unregister("_optouts")
    attach(con, work)
    removed, rows_removed = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM _removed").fetchall()[0]
    return StepResult(
        rows_in,
        rows_in - int(rows_removed),
        {"persons_removed": int(removed), "rows_removed": int(rows_removed)},
    )


def pseudonymise(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, work: WorkFolder, key: bytes, rows_in: int
) -> StepResult:
    """Give every kept person the permit's pseudonym (pseudonymised); anonymised data get none.

    The pseudonym is computed once per person; joining the rows to kept persons only is also
    what takes the opted-out persons' rows out, in the one pass that writes the file.
    """
    attach(con, work)
    ipad, opad = hmac_pads(key)
    pseudonym = f"left({hmac_sql('_person')}, 32)" if plan.pseudonymised else "NULL"
    store(
        con,
        f"""SELECT _person, {pseudonym} AS {PSEUDONYM_COLUMN}
        FROM _persons ANTI JOIN _removed USING (_person)""",
        work,
        "pseudonyms",
        {"ipad": ipad, "opad": opad} if plan.pseudonymised else {},
    )
    return StepResult(rows_in, rows_in, {"pseudonymised": plan.pseudonymised})


# How much each generalisation coarsens a value; when two apply to a column, the coarser one wins.
_COARSENESS = {"month": 1, "year": 2, "county": 1}


def coarsening(plan: TablePlan) -> dict[str, str]:
    """Per column the generalisation it gets: the application's, and in an anonymised release the
    catalogue's default (``plan.coarsen``), the coarser where both apply."""
    source_info = SOURCES[plan.dataset]
    kinds: dict[str, list[str]] = {}
    for column in plan.columns:
        if "dates_to_month" in plan.generalisations and column in source_info.date_columns:
            kinds.setdefault(column, []).append("month")
        if "municipality_to_county" in plan.generalisations and column in ("kommunenummer", "bydel"):
            kinds.setdefault(column, []).append("county")
    for column, kind in plan.coarsen:
        kinds.setdefault(column, []).append(kind)
    return {c: max(k, key=lambda kind: _COARSENESS.get(kind, 0)) for c, k in kinds.items()}


# A generalisation as SQL over the column expression ``{q}`` (extract rows and statistics cells alike).
COARSEN_SQL = {
    "month": "strftime({q}, '%Y-%m')",
    "year": "strftime({q}, '%Y')",
    "county": "left(CAST({q} AS VARCHAR), 2)",
}


def _generalised(plan: TablePlan) -> list[str]:
    kinds = coarsening(plan)
    select = []
    for column in plan.columns:
        q = quote_name(column)
        kind = kinds.get(column)
        select.append(f"{COARSEN_SQL[kind].format(q=f'm.{q}')} AS {q}" if kind else f"m.{q}")
    return select


def rows_sql(plan: TablePlan, *, suppressed: bool, person: bool = False) -> str:
    """The delivered rows: kept persons only, generalised, without suppressed groups.

    ``person`` adds the ``_person`` column, for counting persons; it never reaches a written file.
    """
    select = [
        "m.record_id",
        *(["m._person"] if person else []),
        *([f"p.{PSEUDONYM_COLUMN}"] if plan.pseudonymised else []),
        *_generalised(plan),
    ]
    query = f"SELECT {', '.join(select)} FROM m JOIN _pseudonyms p USING (_person)"
    if suppressed and plan.quasi_identifiers and not plan.pseudonymised:
        # NULL is a value of a quasi-identifier like any other: match it as such
        same = " AND ".join(
            f"r.{quote_name(q)} IS NOT DISTINCT FROM x.{quote_name(q)}" for q in plan.quasi_identifiers
        )
        query = f"SELECT r.* FROM ({query}) r ANTI JOIN _suppressed x ON {same}"
    return query


def generalise(plan: TablePlan, rows: int) -> StepResult:
    """Coarsen quasi-identifiers as the permit says (dates to month, municipality to county)."""
    return StepResult(
        rows, rows, {"generalisations": list(plan.generalisations), "select": _generalised(plan)}
    )


def disclosure_check(
    con: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    registry: Path,
    work: WorkFolder,
    rows_in: int,
    min_k: int,
    max_suppressed_share: float = MAX_SUPPRESSED_SHARE,
    min_l: int = 2,
) -> StepResult:
    """Anonymised microdata must be k-anonymous and l-diverse: suppress the groups that are not.

    A group is the rows with equal (generalised) quasi-identifiers. It must hold at least ``min_k``
    distinct persons (not rows: one person's many contacts are one person), and at least ``min_l``
    distinct values of each sensitive variable (distinct l-diversity), or all its rows go.
    When more than 5 % of the rows would go, the job is held for a caseworker instead.
    """
    quasi = [quote_name(q) for q in plan.quasi_identifiers]
    if plan.pseudonymised or not quasi:
        return StepResult(rows_in, rows_in, {"k": None, "suppressed": 0})
    attach(con, work)
    define_rows(con, plan, registry, work)
    keys = ", ".join(quasi)
    # no value (NULL) is a value like any other: "no further condition" tells as much as one
    diverse = [
        f"(count(DISTINCT {quote_name(s)}) + (count(*) > count({quote_name(s)}))::INTEGER)"
        for s in plan.sensitive
    ]
    l_of = f"least({', '.join(diverse)})" if len(diverse) > 1 else (diverse[0] if diverse else "NULL")
    groups = f"""SELECT {keys}, count(*) AS n, count(DISTINCT _person) AS persons, {l_of} AS l
        FROM ({rows_sql(plan, suppressed=False, person=True)}) GROUP BY {keys}"""
    too_small = f"persons < {int(min_k)}" + (f" OR l < {int(min_l)}" if diverse else "")
    store(
        con,
        f"SELECT {keys}, n, persons, l FROM ({groups}) WHERE {too_small} ORDER BY {keys}",
        work,
        "suppressed",
    )
    attach(con, work)
    gone = con.execute(
        """SELECT coalesce(sum(n), 0), count(*), coalesce(sum(n) FILTER (WHERE persons < $k), 0)
        FROM _suppressed""",
        {"k": int(min_k)},
    ).fetchall()[0]
    suppressed, groups_suppressed, for_k = (int(v) for v in gone) if gone else (0, 0, 0)
    smallest = con.execute(
        f"""SELECT min(persons), min(l) FROM (SELECT count(DISTINCT _person) AS persons, {l_of} AS l
        FROM ({rows_sql(plan, suppressed=True, person=True)}) GROUP BY {keys})"""
    ).fetchall()[0]
    k = int(smallest[0]) if smallest and smallest[0] is not None else None
    l_value = int(smallest[1]) if diverse and smallest and smallest[1] is not None else None
    held = None
    if rows_in > 0 and suppressed / rows_in > max_suppressed_share:
        reaching = f"k={min_k}" + (f" and l={min_l} over {', '.join(plan.sensitive)}" if diverse else "")
        held = (
            f"reaching {reaching} over {', '.join(plan.quasi_identifiers)} would suppress {suppressed} of "
            f"{rows_in} rows (more than {max_suppressed_share:.0%})"
        )
    details = {
        "k": k,
        "min_k": min_k,
        "suppressed": suppressed,
        "suppressed_groups": groups_suppressed,
        "suppressed_for_k": for_k,
        "quasi_identifiers": list(plan.quasi_identifiers),
        **({"l": l_value, "min_l": min_l, "sensitive": list(plan.sensitive)} if diverse else {}),
    }
    return StepResult(rows_in, rows_in - suppressed, details, held)


def write_parquet(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, registry: Path, work: WorkFolder, path: Path, rows: int
) -> StepResult:
    """Write the rows in the order of their record ids, so the same input gives the same bytes."""
    attach(con, work)
    define_rows(con, plan, registry, work)
    path.parent.mkdir(parents=True, exist_ok=True)
    _copy(
        con,
        f"SELECT * EXCLUDE (record_id) FROM ({rows_sql(plan, suppressed=True)}) ORDER BY record_id",
        path,
    )
    return StepResult(rows, rows, {"file": path.name})
