"""How the registries' source tables are laid out, which there are, and how they are read as of a time.

One folder of Parquet files per source table, named after the catalogue dataset it holds. Each table
holds one row per record version (``record_id``, ``version``, ``recorded_at``); tables of persons
have ``fodselsnummer``. Column names are the catalogue's variable names. Which source tables exist
is data (``sources.json`` beside this module: dataset, table, time column, person column, ...), not
code: a new registry is a new entry there and a new folder of files.

A reading is always "as the registry knew it at T": the latest version of each record recorded by
T (``known_at``), so an extract made today of a permit approved last year reads what was known then.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
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

    def files(self, root: Path) -> str:
        return str(root / self.folder / "*.parquet")

    def has_data(self, root: Path) -> bool:
        folder = root / self.folder
        return folder.is_dir() and any(folder.glob("*.parquet"))

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
        return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.glob("*.parquet"))


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
# other record is its version 1. Rows are kept where KNOWN_AT_WHERE holds.
KNOWN_AT_FROM = """read_parquet($files) s LEFT JOIN (
    SELECT record_id, max(version) AS latest FROM read_parquet($files)
    WHERE version > 1 AND recorded_at <= $as_of GROUP BY record_id
) l ON s.record_id = l.record_id"""
KNOWN_AT_WHERE = "s.recorded_at <= $as_of AND s.version = coalesce(l.latest, 1)"


def known_at(source: Source, root: Path, as_of: datetime) -> tuple[str, dict[str, Any]]:
    """A query of the source's rows as the registry knew them at ``as_of``, with its parameters."""
    source.require_data(root, as_of)
    return (
        f"SELECT s.* FROM {KNOWN_AT_FROM} WHERE {KNOWN_AT_WHERE}",
        {"files": source.files(root), "as_of": as_of},
    )
