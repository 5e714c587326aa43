"""What the hash chain costs: audit.record() against a plain insert of the same row, one transaction each.

Baseline and candidate run in the same process on the same database, interleaved round by round,
so the ratio holds on any machine. SQLite always; PostgreSQL too when HDAB_BENCH_DATABASE_URL is set.

    python -m bench            # or: make bench
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, insert, text

from hdab.core import audit, clock, migrate, runtime
from hdab.core.db import Database
from hdab.core.settings import Settings

ENTRIES_PER_ROUND = 300
ROUNDS = 7

_baseline_meta = MetaData()
baseline_table = Table(
    "bench_plain_log",
    _baseline_meta,
    Column("id", Integer, primary_key=True),
    Column("actor", String(255)),
    Column("action", String(100)),
    Column("object_type", String(100)),
    Column("object_id", String(255)),
    Column("details", JSON()),
    Column("occurred_at", String(40)),
)


def _plain(database: Database, index: int) -> None:
    with database.session() as session:
        session.execute(
            insert(baseline_table).values(
                actor="caseworker-1",
                action="application.viewed",
                object_type="application",
                object_id=f"app-{index}",
                details={"index": index},
                occurred_at=clock.now().isoformat(),
            )
        )


def _chained(database: Database, index: int) -> None:
    with database.session() as session:
        audit.record(
            session,
            actor="caseworker-1",
            action="application.viewed",
            object_type="application",
            object_id=f"app-{index}",
            details={"index": index},
        )


def _per_entry_seconds(database: Database, write: Callable[[Database, int], None]) -> float:
    start = time.perf_counter()
    for index in range(ENTRIES_PER_ROUND):
        write(database, index)
    return (time.perf_counter() - start) / ENTRIES_PER_ROUND


def run(label: str, database: Database) -> None:
    _baseline_meta.create_all(database.engine)
    plain, chained = [], []
    for _ in range(ROUNDS):
        plain.append(_per_entry_seconds(database, _plain))
        chained.append(_per_entry_seconds(database, _chained))
    with database.session() as session:
        start = time.perf_counter()
        result = audit.verify(session)
        verify_seconds = time.perf_counter() - start
    assert result.ok, result.problem
    plain_median, chained_median = statistics.median(plain), statistics.median(chained)
    print(
        f"audit_chain[{label}]: plain insert {plain_median * 1e6:.0f} us/entry, "
        f"audit.record {chained_median * 1e6:.0f} us/entry, ratio {chained_median / plain_median:.2f}x "
        f"(median of {ROUNDS} rounds x {ENTRIES_PER_ROUND}); "
        f"verify {result.entries_checked / verify_seconds:,.0f} entries/s"
    )
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE bench_plain_log"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        runtime.configure(Settings(env="test", data_dir=Path(tmp), database_url=url))
        run("sqlite", runtime.database())
        runtime.database().dispose()
    pg = os.environ.get("HDAB_BENCH_DATABASE_URL")
    if pg:
        migrate.upgrade(pg)
        runtime.configure(Settings(env="test", data_dir=Path(tempfile.gettempdir()), database_url=pg))
        run("postgresql", runtime.database())
        runtime.database().dispose()


if __name__ == "__main__":
    main()
