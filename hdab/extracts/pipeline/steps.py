"""The steps of an extract, each a pure transformation over DuckDB tables.

Why DuckDB: the work is relational (an as-of selection over record versions, anti-joins against
the opt-out registry, group counts for k-anonymity) and must stream a year of NPR (16 million
rows) from Parquet to Parquet in bounded memory. DuckDB reads and writes Parquet natively,
runs the keyed hashes vectorised in SQL (HMAC-SHA-256 from its sha256 function), spills to disk
under a memory limit, and the same SQL would run on a distributed SQL engine later.

Each step reads the previous step's table and creates its own, and returns its counts. The person
column is dropped by ``pseudonymise``; nothing after it sees an identifier.
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


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(row[0]) if row else 0


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a column name: {name!r}")
    return f'"{name}"'


def minimise(con: duckdb.DuckDBPyConnection, plan: TablePlan, registry: Path, out: str) -> StepResult:
    """The permitted columns of the permitted rows, as the registry knew them at the as-of time."""
    source = SOURCES[plan.dataset]
    files = source.files(registry)

    def col(name: str) -> str:
        return f"s.{quote_name(name)}"

    params: dict[str, Any] = {"as_of": plan.as_of, "files": files}
    conditions = ["s.recorded_at <= $as_of", "s.version = coalesce(l.latest, 1)"]
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
    # The latest version of each record as known at the as-of time. Corrections are few, so the
    # records that have any are found first (a small table); every other record is its version 1.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _latest AS
        SELECT record_id, max(version) AS latest FROM read_parquet($files)
        WHERE version > 1 AND recorded_at <= $as_of GROUP BY record_id
        """,
        {"files": files, "as_of": plan.as_of},
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE "{out}" AS
        SELECT s.record_id, {col(source.person_column)} AS _person, {", ".join(col(c) for c in plan.columns)}
        FROM read_parquet($files) s LEFT JOIN _latest l ON s.record_id = l.record_id
        WHERE {" AND ".join(conditions)}
        """,
        params,
    )
    con.execute("DROP TABLE _latest")
    total = con.execute("SELECT count(*) FROM read_parquet($files)", {"files": files}).fetchone()
    return StepResult(int(total[0]) if total else 0, _count(con, out), {"as_of": plan.as_of.isoformat()})


def _alias(con: duckdb.DuckDBPyConnection, source: str, out: str) -> None:
    """Pass the rows on unchanged (a step with nothing to do costs nothing)."""
    con.execute(f'CREATE OR REPLACE VIEW "{out}" AS SELECT * FROM "{source}"')


def optout_filter(
    con: duckdb.DuckDBPyConnection, source: str, out: str, opted_out: frozenset[str], optout_key: bytes
) -> StepResult:
    """Drop everyone opted out at the as-of time (their keyed hashes are ``opted_out``).

    The keyed hash is computed once per person (``_persons``), not once per row; the rows that
    remain are a view, read once when the extract is written.
    """
    rows_in = _count(con, source)
    con.execute("CREATE OR REPLACE TEMP TABLE _optouts (person VARCHAR PRIMARY KEY)")
    if opted_out:
        con.executemany("INSERT INTO _optouts VALUES (?)", [[p] for p in sorted(opted_out)])
    ipad, opad = hmac_pads(optout_key)
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE _persons AS SELECT DISTINCT _person FROM "{source}"',
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _removed AS
        SELECT _person FROM _persons WHERE {hmac_sql("_person")} IN (SELECT person FROM _optouts)
        """,
        {"ipad": ipad, "opad": opad},
    )
    removed = _count(con, "_removed")
    if removed:
        con.execute(
            f'CREATE OR REPLACE VIEW "{out}" AS '
            f'SELECT s.* FROM "{source}" s ANTI JOIN _removed USING (_person)'
        )
        gone = con.execute(f'SELECT count(*) FROM "{source}" SEMI JOIN _removed USING (_person)').fetchone()
        rows_removed = int(gone[0]) if gone else 0
    else:
        _alias(con, source, out)
        rows_removed = 0
    return StepResult(rows_in, rows_in - rows_removed, {"persons_removed": removed})


def pseudonymise(
    con: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    source: str,
    out: str,
    key: bytes,
    rows_in: int,
    minimised: str | None = None,
) -> StepResult:
    """Replace the person by the permit's pseudonym (pseudonymised) or by nothing (anonymised).

    The pseudonym is computed once per person (for the persons the opt-out filter kept) and joined
    to the rows. Given the ``minimised`` table under the opt-out view, the join reads it directly:
    joining only kept persons is the opt-out filter, so the rows pass through one join, not two.
    """
    columns = ", ".join(f"s.{quote_name(c)}" for c in plan.columns)
    if plan.pseudonymised:
        ipad, opad = hmac_pads(key)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _pseudonyms AS
            SELECT _person, left({hmac_sql("_person")}, 32) AS {PSEUDONYM_COLUMN}
            FROM _persons ANTI JOIN _removed USING (_person)
            """,
            {"ipad": ipad, "opad": opad},
        )
        con.execute(
            f"""CREATE OR REPLACE VIEW "{out}" AS
            SELECT s.record_id, p.{PSEUDONYM_COLUMN}, {columns}
            FROM "{minimised or source}" s JOIN _pseudonyms p USING (_person)"""
        )
    else:
        con.execute(f'CREATE OR REPLACE VIEW "{out}" AS SELECT s.record_id, {columns} FROM "{source}" s')
    return StepResult(rows_in, rows_in, {"pseudonymised": plan.pseudonymised})


def generalise(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, source: str, out: str, rows: int
) -> StepResult:
    """Coarsen quasi-identifiers as the permit says: dates to month, municipality to county."""
    source_info = SOURCES[plan.dataset]
    select = []
    for column in plan.columns:
        q = quote_name(column)
        if "dates_to_month" in plan.generalisations and column in source_info.date_columns:
            select.append(f"strftime({q}, '%Y-%m') AS {q}")
        elif "municipality_to_county" in plan.generalisations and column in ("kommunenummer", "bydel"):
            select.append(f"left(CAST({q} AS VARCHAR), 2) AS {q}")
        else:
            select.append(q)
    if plan.pseudonymised:
        select.insert(0, PSEUDONYM_COLUMN)
    con.execute(f'CREATE OR REPLACE VIEW "{out}" AS SELECT record_id, {", ".join(select)} FROM "{source}"')
    return StepResult(rows, rows, {"generalisations": list(plan.generalisations)})


@dataclass(frozen=True)
class Disclosure:
    k: int | None  # smallest group over the quasi-identifiers after suppression; None: nothing to check
    suppressed: int
    held: bool
    reason: str | None


def disclosure_check(
    con: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    source: str,
    out: str,
    rows_in: int,
    min_k: int,
    max_suppressed_share: float = MAX_SUPPRESSED_SHARE,
) -> tuple[StepResult, Disclosure]:
    """Anonymised microdata must be k-anonymous over the quasi-identifiers: suppress rows of small groups.

    When more than 5 % of the rows would go, the job is held for a caseworker instead.
    """
    quasi = [quote_name(q) for q in plan.quasi_identifiers]
    if plan.pseudonymised or not quasi:
        _alias(con, source, out)
        return StepResult(rows_in, rows_in, {"k": None}), Disclosure(None, 0, False, None)
    keys = ", ".join(quasi)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE "{out}" AS
        SELECT * EXCLUDE (_group) FROM (
            SELECT *, count(*) OVER (PARTITION BY {keys}) AS _group FROM "{source}"
        ) WHERE _group >= {int(min_k)}
        """
    )
    rows_out = _count(con, out)
    suppressed = rows_in - rows_out
    smallest = con.execute(
        f'SELECT min(n) FROM (SELECT count(*) AS n FROM "{out}" GROUP BY {keys})'
    ).fetchone()
    k = int(smallest[0]) if smallest and smallest[0] is not None else None
    held = rows_in > 0 and suppressed / rows_in > max_suppressed_share
    reason = (
        f"reaching k={min_k} over {', '.join(plan.quasi_identifiers)} would suppress {suppressed} of "
        f"{rows_in} rows (more than {MAX_SUPPRESSED_SHARE:.0%})"
        if held
        else None
    )
    details = {
        "k": k,
        "min_k": min_k,
        "suppressed": suppressed,
        "quasi_identifiers": list(plan.quasi_identifiers),
    }
    return StepResult(rows_in, rows_out, details), Disclosure(k, suppressed, held, reason)


def write_parquet(con: duckdb.DuckDBPyConnection, source: str, path: Path, rows: int) -> StepResult:
    """Write the table in a fixed order (by source record), so the same input gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""COPY (SELECT * EXCLUDE (record_id) FROM "{source}" ORDER BY record_id)
        TO {_literal(str(path))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"""
    )
    return StepResult(rows, rows, {"file": path.name})
