"""How the registries' source tables are laid out, which there are, and how they are read as of a time.

One folder per source table, named after the catalogue dataset it holds, partitioned hive-style by
the UTC day the registry learned each row (``recorded_at``)::

    {root}/{table}/recorded_date=2025-07-01/part-{name}.parquet

Each table holds one row per record version (``record_id``, ``version``, ``recorded_at``); tables
of persons have ``fodselsnummer``. Column names are the catalogue's variable names. Parts are only
ever added (``registry.append``), never changed, so what was known at a time stays what it was.
Parquet files directly in the table's folder (no ``recorded_date=`` folder) are read too, by every
reading, since their days are unknown: hand-placed files and tests. Which source tables exist is
data (``sources.json`` beside this module: dataset, table, time column, person column, ...), not
code: a new registry is a new entry there and a new folder of files.

A reading is always "as the registry knew it at T": the latest version of each record recorded by
T (``known_at``), so an extract made today of a permit approved last year reads what was known then.
Only the parts of the days up to T are read; a reading of what changed since S (changes mode) reads
only the parts of the days from S to T (:meth:`Source.parts`). That is enough because a record's
versions are learned in order: the version that supersedes a row is recorded after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from hdab.registry.failures import no_registry_data


@dataclass(frozen=True)
class Source:
    """One source table of the registry: which catalogue dataset it holds, where, and its key columns."""

    dataset: str
    time_column: str  # the period of care a permit's period is read against
    person_column: str = "fodselsnummer"
    birth_date_column: str | None = None
    birth_year_column: str | None = "fodselsar"
    municipality_column: str | None = "kommunenummer"
    date_columns: tuple[str, ...] = ()
    table: str = ""  # the folder of its files under the registry root; "" means the dataset's name

    @property
    def folder(self) -> str:
        return self.table or self.dataset

    def parts(
        self, root: Path, known_at: datetime | None = None, recorded_after: datetime | None = None
    ) -> list[Path]:
        """The table's data files, sorted: the parts of the days a reading needs, and the loose files.

        ``known_at``: only the days up to its UTC day (later parts hold nothing known then);
        ``recorded_after``: only the days from its UTC day on (earlier parts hold nothing learned
        since). Files with no day (loose in the table's folder) are always in.
        """
        folder = root / self.folder
        if not folder.is_dir():
            return []
        last = known_at.astimezone(UTC).date() if known_at is not None else None
        first = recorded_after.astimezone(UTC).date() if recorded_after is not None else None
        found = sorted(folder.glob("*.parquet"))
        for day_folder in sorted(folder.glob(f"{PARTITION}=*")):
            day = partition_day(day_folder.name)
            if day is None or (last is not None and day > last) or (first is not None and day < first):
                continue
            found.extend(sorted(day_folder.glob("*.parquet")))
        return [p for p in found if p.is_file()]

    def files(
        self, root: Path, known_at: datetime | None = None, recorded_after: datetime | None = None
    ) -> list[str]:
        """What DuckDB's ``read_parquet`` reads for a reading (see :meth:`parts`), never an empty list.

        When no part holds a day the reading needs, the earliest part stands in: its rows are all
        recorded after ``known_at`` (or before ``recorded_after``), so the reading's own conditions
        keep none of them, and the query still has the table's columns.
        """
        chosen = self.parts(root, known_at, recorded_after)
        if not chosen:
            every = self.parts(root)
            chosen = every[:1]
        return [str(p) for p in chosen]

    def has_data(self, root: Path) -> bool:
        return bool(self.parts(root))

    def require_data(self, root: Path, as_of: datetime) -> None:
        """Refuse, in words people can act on, to read a dataset the registry holds no files for.

        Without this a fresh install's first extract fails with DuckDB's "No files found that
        match the pattern", which tells a caseworker nothing.
        """
        if self.has_data(root):
            return
        detail = (
            f"the folder {self.folder} holds no Parquet files"
            if (root / self.folder).is_dir()
            else f"the registry has no folder {self.folder}"
        )
        raise no_registry_data(self.dataset, as_of, detail)

    def listing(self, root: Path) -> list[tuple[str, int, int]]:
        """Its files' names, sizes and modification times: what the source was, cheaply."""
        folder = root / self.folder
        return sorted(
            (p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in self.parts(root)
        )


PARTITION = "recorded_date"  # the hive-style key of a table's day folders: recorded_date=YYYY-MM-DD


def partition_day(name: str) -> date | None:
    """The day of a day folder's name (``recorded_date=2025-07-01``); None for any other name."""
    key, _, value = name.partition("=")
    if key != PARTITION:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def source_from(entry: Mapping[str, Any]) -> Source:
    """One entry of the source list (a JSON object) as a :class:`Source`."""
    fields = dict(entry)
    if "date_columns" in fields:
        fields["date_columns"] = tuple(fields["date_columns"])
    return Source(**fields)


def load_sources(text: str) -> dict[str, Source]:
    """The source list (a JSON array of entries), by dataset; a dataset listed twice is an error."""
    found: dict[str, Source] = {}
    for entry in json.loads(text):
        source = source_from(entry)
        if source.dataset in found:
            raise ValueError(f"the source list names {source.dataset} twice")
        found[source.dataset] = source
    return found


SOURCES: Mapping[str, Source] = load_sources(
    resources.files("hdab.registry").joinpath("sources.json").read_text(encoding="utf-8")
)

# Columns that identify a person or a source record directly; they never leave the pipeline.
DIRECT_IDENTIFIERS = frozenset({"fodselsnummer"})
BOOKKEEPING = ("record_id", "version", "recorded_at")

# The latest version of each record as known at ``$as_of``, over ``read_parquet($files)`` as ``s``.
# Corrections are few, so the records that have any are found first (a small table ``l``); every
# other record is its version 1. Rows are kept where KNOWN_AT_WHERE holds. The day folders' names
# are not read as a column (``hive_partitioning = false``): ``s.*`` is the table's own columns.
KNOWN_AT_FROM = """read_parquet($files, hive_partitioning = false) s LEFT JOIN (
    SELECT record_id, max(version) AS latest FROM read_parquet($files, hive_partitioning = false)
    WHERE version > 1 AND recorded_at <= $as_of GROUP BY record_id
) l ON s.record_id = l.record_id"""
KNOWN_AT_WHERE = "s.recorded_at <= $as_of AND s.version = coalesce(l.latest, 1)"


def known_at(
    source: Source, root: Path, as_of: datetime, changed_since: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """A query of the source's rows as the registry knew them at ``as_of``, with its parameters.

    ``changed_since``: only the rows learned after it (changes mode), read from the parts of the
    days since then alone.
    """
    source.require_data(root, as_of)
    params: dict[str, Any] = {"files": source.files(root, as_of, changed_since), "as_of": as_of}
    where = KNOWN_AT_WHERE
    if changed_since is not None:
        where += " AND s.recorded_at > $since"
        params["since"] = changed_since
    return f"SELECT s.* FROM {KNOWN_AT_FROM} WHERE {where}", params
