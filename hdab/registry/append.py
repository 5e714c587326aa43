"""The write side of the registry: new record versions go in as new parts, never into old ones.

The contract every writer keeps (``hdab synth`` today, the reception of providers' daily reports
next) and every reader relies on (``sources``: "as known at T" and changes since S):

- :func:`append` takes the rows of one dataset (a ``pyarrow.Table``): ``record_id`` (integer),
  ``version`` (integer, 1 for a record's first version), ``recorded_at`` (timestamp with time zone:
  when the registry learned that version) and the dataset's own columns, named as the catalogue
  names its variables. Rows of a dataset that has parts already must have the same columns, of
  the same types, as its newest part.
- A record's versions are learned in order: version ``n + 1`` is recorded after version ``n``
  (checked within the rows given). Corrections are new versions, never edits.
- Live writers stamp ``recorded_at`` with the time they append (``hdab.core.clock.now()``), so a
  reading as known at a past time never changes: nothing appended later was known then.
- The rows are split by the UTC day of ``recorded_at``; each day gets one new part,
  ``{table}/recorded_date=YYYY-MM-DD/part-{name}.parquet``, written whole or not at all (temporary
  files, fsynced, renamed into place once every part of the append is complete), so a reader never
  sees half of one and a failed append leaves none behind. ``name`` defaults to a
  unique, time-ordered one; a name a day already has is refused: parts are never replaced (only
  :func:`remove_parts`, for ``hdab synth`` replacing its own year, takes them away).
- Within a part, first versions and later versions are in separate row groups, so a reading that
  looks only for corrections (``version > 1``) skips the first versions by their statistics.

Appending a day's report is a few small files; a reading lists the parts when it starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hdab.core import clock
from hdab.registry.failures import RegistryFailure
from hdab.registry.sources import PARTITION, SOURCES, Source

ROW_GROUP = 1_000_000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
REQUIRED = ("record_id", "version", "recorded_at")


def _refuse(message: str, code: str = "registry_append_refused") -> RegistryFailure:
    return RegistryFailure(message, code=code)


def _check(source: Source, rows: pa.Table, existing: pa.Schema | None) -> None:
    missing = [c for c in REQUIRED if c not in rows.column_names]
    if missing:
        raise _refuse(f"rows for {source.dataset} lack {', '.join(missing)}")
    if not pa.types.is_integer(rows.schema.field("record_id").type):
        raise _refuse("record_id must be an integer")
    if not pa.types.is_integer(rows.schema.field("version").type):
        raise _refuse("version must be an integer")
    recorded = rows.schema.field("recorded_at").type
    if not pa.types.is_timestamp(recorded) or recorded.tz is None:
        raise _refuse("recorded_at must be a timestamp with a time zone")
    if rows.num_rows and (rows["record_id"].null_count or rows["version"].null_count):
        raise _refuse("record_id and version must have a value in every row")
    if rows["recorded_at"].null_count:
        raise _refuse("recorded_at must have a value in every row")
    if rows.num_rows and pc.min(rows["version"]).as_py() < 1:
        raise _refuse("versions start at 1")
    if source.person_column in rows.column_names and rows[source.person_column].null_count:
        raise _refuse(f"{source.person_column} must have a value in every row")
    if existing is not None and not rows.schema.remove_metadata().equals(existing.remove_metadata()):
        raise _refuse(
            f"rows for {source.dataset} do not have the columns and types of its parts: "
            f"{rows.schema.names} against {existing.names}",
            "registry_schema_mismatch",
        )
    _check_order(rows)


def _check_order(rows: pa.Table) -> None:
    """Within the rows given, a record's later version is recorded after its earlier one."""
    if rows.num_rows < 2:
        return
    ordered = rows.select(["record_id", "version", "recorded_at"]).sort_by(
        [("record_id", "ascending"), ("version", "ascending")]
    )
    ids = ordered["record_id"].to_numpy()
    versions = ordered["version"].to_numpy()
    recorded = ordered["recorded_at"].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    same = ids[1:] == ids[:-1]
    if np.any(same & (versions[1:] == versions[:-1])):
        raise _refuse("a record's version is given twice")
    if np.any(same & (recorded[1:] <= recorded[:-1])):
        raise _refuse("a record's later version must be recorded after its earlier one")


def newest_schema(source: Source, root: Path) -> pa.Schema | None:
    """The schema of the dataset's newest part (None: it has none yet)."""
    parts = source.parts(root)
    if not parts:
        return None
    newest = max(parts, key=lambda p: (p.parent.name, p.stat().st_mtime_ns, p.name))
    return pq.read_schema(newest)


def default_name() -> str:
    """A unique part name that sorts by when it was written."""
    return f"{clock.now().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"


def append(
    root: Path,
    dataset: str,
    rows: pa.Table,
    *,
    name: str | None = None,
    durable: bool = True,
    sources: Mapping[str, Source] = SOURCES,
) -> list[Path]:
    """Append record versions to ``dataset``: one new part per UTC day of ``recorded_at``.

    Returns the parts written, by day. See the module's docstring for the contract. ``durable``
    False skips the fsync of each part (``hdab synth``: data that can be made again).
    """
    source = sources.get(dataset)
    if source is None:
        raise _refuse(f"the registry has no dataset {dataset!r}", "registry_unknown_dataset")
    name = name or default_name()
    if not _NAME.fullmatch(name):
        raise _refuse(f"not a part name: {name!r}")
    _check(source, rows, newest_schema(source, root))
    if rows.num_rows == 0:
        return []
    days = pc.cast(pc.cast(rows["recorded_at"], pa.timestamp("us", tz="UTC")), pa.date32())
    order = pc.sort_indices(days)  # stable: within a day, the rows keep the order they came in
    rows, days = rows.take(order), days.take(order)
    day_numbers = days.to_numpy()
    starts = np.r_[0, np.flatnonzero(np.diff(day_numbers)) + 1]
    ends = np.r_[starts[1:], len(day_numbers)]
    folder = root / source.folder
    planned = [
        (folder / f"{PARTITION}={days[int(s)].as_py().isoformat()}" / f"part-{name}.parquet", int(s), int(e))
        for s, e in zip(starts, ends, strict=True)
    ]
    taken = [p for p, _, _ in planned if p.exists()]
    if taken:
        raise _refuse(f"{source.folder} already has the part {taken[0].parent.name}/{taken[0].name}",
                      "registry_part_exists")  # fmt: skip
    # every part is written to a temporary file first (in parallel: a year's load is some 650 parts),
    # and only when all are complete renamed into place: a failed append leaves no part behind
    temporary = [path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp") for path, _, _ in planned]

    def write(index: int) -> None:
        _, start, end = planned[index]
        _write(rows.slice(start, end - start), temporary[index], durable)

    try:
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            list(pool.map(write, range(len(planned))))
        for tmp, (path, _, _) in zip(temporary, planned, strict=True):
            os.replace(tmp, path)
    finally:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)
    return [path for path, _, _ in planned]


def _write(rows: pa.Table, tmp: Path, durable: bool) -> None:
    """One part's file: first versions, then later ones, in row groups of their own."""
    tmp.parent.mkdir(parents=True, exist_ok=True)
    later = pc.greater(rows["version"], 1)
    with pq.ParquetWriter(tmp, rows.schema, compression="zstd", write_statistics=True) as writer:
        for chunk in (rows.filter(pc.invert(later)), rows.filter(later)):
            if chunk.num_rows:
                writer.write_table(chunk, row_group_size=ROW_GROUP)
    if durable:
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())


def remove_parts(root: Path, dataset: str, name: str, *, sources: Mapping[str, Source] = SOURCES) -> int:
    """Remove every part called ``part-{name}.parquet`` of a dataset (``hdab synth`` replacing its year)."""
    source = sources[dataset]
    removed = 0
    for path in source.parts(root):
        if path.name == f"part-{name}.parquet":
            path.unlink()
            removed += 1
            with contextlib.suppress(OSError):  # the day folder, when that was its only part
                path.parent.rmdir()
    return removed
