"""Statistics answers (Art. 69): counted tables with primary and secondary cell suppression.

A table counts persons or records over catalogue variables (its dimensions) in a period, from the
registry as it was known when the request was approved, without persons who had opted out then.
Cells under the threshold are suppressed (primary). Every table is published with its margins:
the total of every line (all cells that differ in one dimension only) and the grand total. A line
with exactly one suppressed cell would give that cell away (margin minus the rest), so another
cell of the line is suppressed too, the smallest, until no line has exactly one (secondary). A
margin under the threshold is itself suppressed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from hdab.extracts.pipeline.plan import Disclosure, oslo_midnight
from hdab.extracts.pipeline.steps import (
    COARSEN_SQL,
    hmac_pads,
    hmac_sql,
    quote_name,
)
from hdab.registry.api import DIRECT_IDENTIFIERS, KNOWN_AT_FROM, KNOWN_AT_WHERE, SOURCES

TOTAL = "_total"

Cell = tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    title: str
    dataset: str
    dimensions: tuple[str, ...]
    measure: str  # persons or records
    period_start: date
    period_end: date
    coarsen: tuple[tuple[str, str], ...] = ()  # (dimension, month | year | county): the catalogue's


@dataclass(frozen=True)
class CountedTable:
    spec: TableSpec
    cells: dict[Cell, int]  # the true counts; never delivered as such
    suppressed: frozenset[Cell]  # cells (and margins) withheld
    primary: int
    secondary: int

    def rows(self) -> list[dict[str, Any]]:
        """Cells and margins as delivered: the count, or None where suppressed.

        A suppressed cell is left out altogether: its key alone would say that someone with that
        combination exists (the only man born in 1952 in a small municipality has diagnosis T90).
        A suppressed margin names one value of one dimension only, and is listed.
        """
        out = []
        for cell, count in sorted(self.with_margins().items()):
            if cell in self.suppressed and TOTAL not in cell:
                continue
            row: dict[str, Any] = dict(zip(self.spec.dimensions, cell, strict=True))
            row["count"] = None if cell in self.suppressed else count
            row["suppressed"] = cell in self.suppressed
            out.append(row)
        return out

    def with_margins(self) -> dict[Cell, int]:
        return {**self.cells, **margins(self.cells, len(self.spec.dimensions))}


def margins(cells: dict[Cell, int], dimensions: int) -> dict[Cell, int]:
    """Every sum over any subset of dimensions (written as TOTAL), the grand total included."""
    sums: dict[Cell, int] = defaultdict(int)
    for cell, count in cells.items():
        for mask in range(1, 2**dimensions):
            key = tuple(TOTAL if mask >> d & 1 else value for d, value in enumerate(cell))
            sums[key] += count
    return dict(sums)


def suppress(cells: dict[Cell, int], dimensions: int, k: int) -> tuple[frozenset[Cell], int, int]:
    """Primary and secondary suppression over the cells and all their margins."""
    full = {**cells, **margins(cells, dimensions)}
    hidden = {cell for cell, count in full.items() if 0 < count < k}
    primary = len(hidden)
    # lines: the cells of ``full`` that agree on every dimension but one, plus that line's margin
    lines: dict[tuple[int, Cell], list[Cell]] = defaultdict(list)
    for cell in full:
        for d in range(dimensions):
            lines[(d, (*cell[:d], TOTAL, *cell[d + 1 :]))].append(cell)
    changed = True
    while changed:
        changed = False
        for (d, key), members in lines.items():
            parts = [c for c in members if c[d] != TOTAL]
            in_line = [c for c in parts if c in hidden] + ([key] if key in hidden else [])
            if len(in_line) == 1:
                candidates = sorted((c for c in [*parts, key] if c not in hidden and full.get(c, 0) > 0),
                                    key=lambda c: (full[c], c))  # fmt: skip
                if candidates:
                    hidden.add(candidates[0])
                    changed = True
    return frozenset(hidden), primary, len(hidden) - primary


def count_table(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    registry: Path,
    as_of: datetime,
    opted_out: frozenset[str],
    optout_key: bytes,
    k: int,
) -> CountedTable:
    """Count one table from the registry as known at ``as_of``, opted-out persons left out; suppress."""
    source = SOURCES[spec.dataset]
    source.require_data(registry, as_of)
    coarse = dict(spec.coarsen)
    dims = ", ".join(
        COARSEN_SQL[coarse[d]].format(q=f"s.{quote_name(d)}")
        if d in coarse
        else f"CAST(s.{quote_name(d)} AS VARCHAR)"
        for d in spec.dimensions
    )
    con.execute("SET TimeZone = 'Europe/Oslo'")  # months and years are Norwegian ones
    measure = "count(DISTINCT s._person)" if spec.measure == "persons" else "count(*)"
    ipad, opad = hmac_pads(optout_key)
    # the opt-outs' hashes as one Arrow column, not inserted row by row
    con.register("_optouts", pa.table({"person": pa.array(sorted(opted_out), pa.string())}))
    rows = con.execute(
        f"""
        WITH s AS (
            SELECT s.*, s.{quote_name(source.person_column)} AS _person
            FROM {KNOWN_AT_FROM}
            WHERE {KNOWN_AT_WHERE}
              AND s.{quote_name(source.time_column)} >= $start AND s.{quote_name(source.time_column)} < $end
        ), kept AS (
            SELECT DISTINCT _person FROM s WHERE {hmac_sql("_person")} NOT IN (SELECT person FROM _optouts)
        )
        SELECT {dims}, {measure} FROM s SEMI JOIN kept USING (_person) GROUP BY ALL
        """,
        {
            "files": source.files(registry, known_at=as_of),
            "as_of": as_of,
            # the period in Norwegian days: "2023" ends at midnight in Oslo, not in UTC
            "start": oslo_midnight(spec.period_start),
            "end": oslo_midnight(spec.period_end + timedelta(days=1)),
            "ipad": ipad,
            "opad": opad,
        },
    ).fetchall()
    cells = {tuple("" if v is None else str(v) for v in row[:-1]): int(row[-1]) for row in rows}
    hidden, primary, secondary = suppress(cells, len(spec.dimensions), k)
    return CountedTable(spec, cells, hidden, primary, secondary)


def specs_from_request(
    tables: Sequence[Any], disclosure: Mapping[str, Disclosure] | None = None
) -> list[TableSpec]:
    """Table specifications from a statistics request's tables (one dataset per table).

    ``disclosure`` is the catalogue's classification: a direct identifier is never a dimension,
    and a dimension the catalogue generalises in anonymised releases is counted generalised.
    """
    out = []
    for table in tables:
        datasets = {d.dataset for d in table.dimensions}
        if len(datasets) != 1:
            raise ValueError(f"table {table.title!r}: dimensions must come from one dataset")
        dataset = datasets.pop()
        if dataset not in SOURCES:
            raise ValueError(f"table {table.title!r}: there is no source table for dataset {dataset!r} yet")
        known = (disclosure or {}).get(dataset, Disclosure())
        never = sorted({d.variable for d in table.dimensions} & (DIRECT_IDENTIFIERS | known.direct))
        if never:
            raise ValueError(
                f"table {table.title!r}: {', '.join(never)} identifies persons or records directly"
                " and cannot be a dimension of a statistics table"
            )
        out.append(
            TableSpec(
                table.title,
                dataset,
                tuple(d.variable for d in table.dimensions),
                table.measure.value,
                table.period.start,
                table.period.end,
                tuple(
                    (d.variable, known.coarsen[d.variable])
                    for d in table.dimensions
                    if d.variable in known.coarsen
                ),
            )
        )
    return out
