"""The steps of an extract, each a pure transformation over DuckDB tables.

Why DuckDB: the work is relational (an as-of selection over record versions, anti-joins against
the opt-out registry, group counts for k-anonymity) and must stream a year of NPR (16 million
rows) from Parquet to Parquet in bounded memory. DuckDB reads and writes Parquet natively,
runs the keyed hashes vectorised in SQL (HMAC-SHA-256 from its sha256 function), spills to disk
under a memory limit, and the same SQL would run on a distributed SQL engine later.

Each step runs on its own (one Celery task each) and leaves its result as a small Parquet artifact
in the job's work folder: ``minimised`` (the permitted rows, the only large one), ``removed``
(persons opted out), ``pseudonyms`` (kept persons and their pseudonyms), ``suppressed`` (groups
under k). The artifacts are encrypted under the job's key and private to the service
(``workfiles``): the first three still hold the person column. The written file is one query over
those artifacts, so a step killed half-way is simply run again, and the steps before it are not.
The person column never reaches a written file.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hdab.extracts.pipeline.plan import TablePlan
from hdab.extracts.pipeline.sources import SOURCES
from hdab.extracts.pipeline.workfiles import WorkFolder, dataset, store

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


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(_one(con, f"SELECT count(*) FROM {table}") or 0)


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
    """The artifacts of the steps before, as views: m, _removed, _pseudonyms, _suppressed."""
    for view, name in (("m", "minimised"), ("_removed", "removed"), ("_pseudonyms", "pseudonyms"),
                       ("_suppressed", "suppressed")):  # fmt: skip
        path = work.artifact(name)
        if path.exists():
            con.register(view, dataset(path, work.key))


# The latest version of each record as known at ``$as_of``, over ``read_parquet($files)`` as ``s``.
# Corrections are few, so the records that have any are found first (a small table ``l``); every
# other record is its version 1. Rows are kept where KNOWN_AT_WHERE holds.
KNOWN_AT_FROM = """read_parquet($files) s LEFT JOIN (
    SELECT record_id, max(version) AS latest FROM read_parquet($files)
    WHERE version > 1 AND recorded_at <= $as_of GROUP BY record_id
) l ON s.record_id = l.record_id"""
KNOWN_AT_WHERE = "s.recorded_at <= $as_of AND s.version = coalesce(l.latest, 1)"


def minimise(con: duckdb.DuckDBPyConnection, plan: TablePlan, registry: Path, work: WorkFolder) -> StepResult:
    """The permitted columns of the permitted rows, as the registry knew them at the as-of time."""
    source = SOURCES[plan.dataset]
    source.require_data(registry, plan.as_of)
    files = source.files(registry)

    def col(name: str) -> str:
        return f"s.{quote_name(name)}"

    params: dict[str, Any] = {"as_of": plan.as_of, "files": files}
    conditions = [KNOWN_AT_WHERE]
    if plan.changed_since is not None:  # changes mode: what the registry learned since the last run
        conditions.append("s.recorded_at > $since")
        params["since"] = plan.changed_since
    if plan.period_start is not None:
        conditions.append(f"{col(plan.time_column)} >= $start")
        params["start"] = plan.period_start
    if plan.period_end is not None:
        conditions.append(f"{col(plan.time_column)} < $end")
        params["end"] = plan.period_end + timedelta(days=1)
    for i, (variable, prefixes) in enumerate(plan.cohort):
        alternatives = []
        for j, prefix in enumerate(prefixes):
            params[f"p{i}_{j}"] = prefix
            alternatives.append(f"starts_with(CAST({col(variable)} AS VARCHAR), $p{i}_{j})")
        conditions.append("(" + " OR ".join(alternatives) + ")")
    store(
        con,
        f"""
        SELECT s.record_id, {col(source.person_column)} AS _person, {", ".join(col(c) for c in plan.columns)}
        FROM {KNOWN_AT_FROM}
        WHERE {" AND ".join(conditions)}
        """,
        work,
        "minimised",
        params,
    )
    total = int(_one(con, "SELECT count(*) FROM read_parquet($files)", {"files": files}) or 0)
    attach(con, work)
    return StepResult(total, _count(con, "m"), {"as_of": plan.as_of.isoformat()})


def optout_filter(
    con: duckdb.DuckDBPyConnection, work: WorkFolder, opted_out: frozenset[str], optout_key: bytes
) -> StepResult:
    """Find everyone in the rows opted out at the as-of time (their keyed hashes are ``opted_out``).

    The keyed hash is computed once per person, not once per row.
    """
    attach(con, work)
    rows_in = _count(con, "m")
    con.execute("CREATE OR REPLACE TEMP TABLE _optouts (person VARCHAR PRIMARY KEY)")
    if opted_out:
        con.executemany("INSERT INTO _optouts VALUES (?)", [[p] for p in sorted(opted_out)])
    ipad, opad = hmac_pads(optout_key)
    store(
        con,
        f"""SELECT _person FROM (SELECT DISTINCT _person FROM m)
        WHERE {hmac_sql("_person")} IN (SELECT person FROM _optouts) ORDER BY _person""",
        work,
        "removed",
        {"ipad": ipad, "opad": opad},
    )
    attach(con, work)
    removed = _count(con, "_removed")
    rows_removed = int(_one(con, "SELECT count(*) FROM m SEMI JOIN _removed USING (_person)") or 0)
    return StepResult(
        rows_in, rows_in - rows_removed, {"persons_removed": removed, "rows_removed": rows_removed}
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
        FROM (SELECT DISTINCT _person FROM m) ANTI JOIN _removed USING (_person) ORDER BY _person""",
        work,
        "pseudonyms",
        {"ipad": ipad, "opad": opad} if plan.pseudonymised else {},
    )
    return StepResult(rows_in, rows_in, {"pseudonymised": plan.pseudonymised})


def _generalised(plan: TablePlan) -> list[str]:
    source_info = SOURCES[plan.dataset]
    select = []
    for column in plan.columns:
        q = quote_name(column)
        if "dates_to_month" in plan.generalisations and column in source_info.date_columns:
            select.append(f"strftime(m.{q}, '%Y-%m') AS {q}")
        elif "municipality_to_county" in plan.generalisations and column in ("kommunenummer", "bydel"):
            select.append(f"left(CAST(m.{q} AS VARCHAR), 2) AS {q}")
        else:
            select.append(f"m.{q}")
    return select


def rows_sql(plan: TablePlan, *, suppressed: bool) -> str:
    """The delivered rows: kept persons only, generalised, without suppressed groups."""
    select = ["m.record_id", *([f"p.{PSEUDONYM_COLUMN}"] if plan.pseudonymised else []), *_generalised(plan)]
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
    work: WorkFolder,
    rows_in: int,
    min_k: int,
    max_suppressed_share: float = MAX_SUPPRESSED_SHARE,
) -> StepResult:
    """Anonymised microdata must be k-anonymous over the quasi-identifiers: suppress the small groups.

    When more than 5 % of the rows would go, the job is held for a caseworker instead.
    """
    attach(con, work)
    quasi = [quote_name(q) for q in plan.quasi_identifiers]
    if plan.pseudonymised or not quasi:
        return StepResult(rows_in, rows_in, {"k": None, "suppressed": 0})
    keys = ", ".join(quasi)
    store(
        con,
        f"""SELECT {keys}, count(*) AS n FROM ({rows_sql(plan, suppressed=False)})
        GROUP BY ALL HAVING count(*) < {int(min_k)} ORDER BY ALL""",
        work,
        "suppressed",
    )
    attach(con, work)
    suppressed = int(_one(con, "SELECT coalesce(sum(n), 0) FROM _suppressed") or 0)
    smallest = _one(
        con,
        f"SELECT min(c) FROM (SELECT count(*) AS c FROM ({rows_sql(plan, suppressed=True)}) GROUP BY {keys})",
    )
    k = int(smallest) if smallest is not None else None
    held = None
    if rows_in > 0 and suppressed / rows_in > max_suppressed_share:
        held = (
            f"reaching k={min_k} over {', '.join(plan.quasi_identifiers)} would suppress {suppressed} of "
            f"{rows_in} rows (more than {max_suppressed_share:.0%})"
        )
    details = {
        "k": k,
        "min_k": min_k,
        "suppressed": suppressed,
        "quasi_identifiers": list(plan.quasi_identifiers),
    }
    return StepResult(rows_in, rows_in - suppressed, details, held)


def write_parquet(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, work: WorkFolder, path: Path, rows: int
) -> StepResult:
    """Write the rows in source order, so the same input gives the same bytes."""
    attach(con, work)
    path.parent.mkdir(parents=True, exist_ok=True)
    _copy(
        con,
        f"SELECT * EXCLUDE (record_id) FROM ({rows_sql(plan, suppressed=True)}) ORDER BY record_id",
        path,
    )
    return StepResult(rows, rows, {"file": path.name})
