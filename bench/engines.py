"""Why DuckDB: the core of an extract on DuckDB and on Polars, on the same synthetic NPR year.

The core: read the source as known at an as-of time (latest version per record), keep one period,
give every person a keyed pseudonym (HMAC-SHA-256, computed once per person), and write the
permitted columns with the pseudonym to Parquet in source order (for byte-identical output).
Each engine runs in a fresh process; prints the median seconds and peak memory of each.

    python -m bench.engines [--patients 2800000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.extract import VARIABLES, in_fresh_process, registry_for, source_files

AS_OF = datetime(2026, 9, 1, tzinfo=UTC)
KEY = b"engines-bench-key-engines-bench-key"


def _duckdb(registry: Path, out: Path, queue: Any) -> None:
    import duckdb

    from hdab.extracts.pipeline.steps import hmac_pads, hmac_sql

    started = time.perf_counter()
    con = duckdb.connect(config={"memory_limit": "1.5GB", "temp_directory": str(out)})
    con.execute("SET enable_progress_bar = false")
    files = source_files(registry)
    columns = ", ".join(f's."{c}"' for c in VARIABLES)
    con.execute(
        "CREATE TEMP TABLE latest AS SELECT record_id, max(version) AS v "
        "FROM read_parquet($f, hive_partitioning = false) "
        "WHERE version > 1 AND recorded_at <= $t GROUP BY record_id",
        {"f": files, "t": AS_OF},
    )
    con.execute(
        f"""CREATE TABLE m AS SELECT s.record_id, s.fodselsnummer AS p, {columns}
        FROM read_parquet($f, hive_partitioning = false) s LEFT JOIN latest l USING (record_id)
        WHERE s.recorded_at <= $t AND s.version = coalesce(l.v, 1)""",
        {"f": files, "t": AS_OF},
    )
    ipad, opad = hmac_pads(KEY)
    con.execute(
        f"CREATE TABLE ps AS SELECT p, left({hmac_sql('p')}, 32) AS pseudonym "
        "FROM (SELECT DISTINCT p FROM m)",
        {"ipad": ipad, "opad": opad},
    )
    plain = ", ".join(f'"{c}"' for c in VARIABLES)
    con.execute(
        f"COPY (SELECT pseudonym, {plain} FROM m JOIN ps USING (p) ORDER BY record_id) "
        f"TO '{out / 'duckdb.parquet'}' (FORMAT parquet, COMPRESSION zstd)"
    )
    queue.put((time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))


def _polars(registry: Path, out: Path, queue: Any) -> None:
    import hashlib
    import hmac

    import polars as pl

    started = time.perf_counter()
    source = pl.scan_parquet(source_files(registry), hive_partitioning=False)
    known = source.filter(pl.col("recorded_at") <= AS_OF)
    latest = known.filter(pl.col("version") > 1).group_by("record_id").agg(pl.col("version").max().alias("v"))
    rows = (
        known.join(latest, on="record_id", how="left")
        .filter(pl.col("version") == pl.col("v").fill_null(1))
        .select(["record_id", "fodselsnummer", *VARIABLES])
        .collect()
    )
    persons = rows.get_column("fodselsnummer").unique()
    # Polars has no keyed hash: it is computed in Python, once per person
    pseudonyms = pl.DataFrame(
        {
            "fodselsnummer": persons,
            "pseudonym": [
                hmac.new(KEY, p.encode(), hashlib.sha256).hexdigest()[:32] for p in persons.to_list()
            ],
        }
    )
    (
        rows.join(pseudonyms, on="fodselsnummer")
        .sort("record_id")
        .select(["pseudonym", *VARIABLES])
        .write_parquet(out / "polars.parquet", compression="zstd")
    )
    queue.put((time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2_800_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()
    registry = registry_for(args.patients, args.seed)
    results: dict[str, list[tuple[float, int]]] = {"duckdb": [], "polars": []}
    for _ in range(args.rounds):
        results["duckdb"].append(in_fresh_process(_duckdb, registry))
        results["polars"].append(in_fresh_process(_polars, registry))
    figures = {
        name: (statistics.median(s for s, _ in runs), statistics.median(m for _, m in runs) / 2**30)
        for name, runs in results.items()
    }
    print(
        f"engines: {args.patients} patients; "
        + "; ".join(f"{name} {sec:.1f} s, peak {mem:.2f} GB" for name, (sec, mem) in figures.items())
        + f"; polars / duckdb {figures['polars'][0] / figures['duckdb'][0]:.2f} (medians of {args.rounds})"
    )


if __name__ == "__main__":
    main()
