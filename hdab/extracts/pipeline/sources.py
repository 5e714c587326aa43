"""How the registries' source tables are laid out: one folder of Parquet files per catalogue dataset.

Each table holds one row per record version (``record_id``, ``version``, ``recorded_at``); tables
of persons have ``fodselsnummer``. Column names are the catalogue's variable names. The root may
hold ``PROVENANCE.json``, saying where the data came from (``hdab synth`` writes one that says
they are synthetic); every delivery made from the registry copies it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hdab.extracts.pipeline.failures import JobFailure, no_registry_data

PROVENANCE = "PROVENANCE.json"


@dataclass(frozen=True)
class Source:
    dataset: str
    time_column: str  # the period of care a permit's period is read against
    person_column: str = "fodselsnummer"
    birth_date_column: str | None = None
    birth_year_column: str | None = "fodselsar"
    municipality_column: str | None = "kommunenummer"
    date_columns: tuple[str, ...] = ()

    def files(self, root: Path) -> str:
        return str(root / self.dataset / "*.parquet")

    def has_data(self, root: Path) -> bool:
        folder = root / self.dataset
        return folder.is_dir() and any(folder.glob("*.parquet"))

    def require_data(self, root: Path, as_of: datetime) -> None:
        """Refuse, in words people can act on, to read a dataset the registry holds no files for.

        Without this a fresh install's first extract fails with DuckDB's "No files found that
        match the pattern", which tells a caseworker nothing.
        """
        folder = root / self.dataset
        if not folder.is_dir():
            raise no_registry_data(self.dataset, as_of, f"the registry has no folder {self.dataset}")
        if not any(folder.glob("*.parquet")):
            raise no_registry_data(self.dataset, as_of, f"the folder {self.dataset} holds no Parquet files")


SOURCES = {
    "npr-somatikk": Source(
        "npr-somatikk",
        time_column="innskrivningstidspunkt",
        date_columns=(
            "innskrivningstidspunkt",
            "utskrivningstidspunkt",
            "mottatt_dato",
            "vurdert_dato",
            "frist_start_behandling",
            "dodsdato",
        ),
    ),
    "kpr-kuhr": Source("kpr-kuhr", time_column="kontakttidspunkt", date_columns=("kontakttidspunkt",)),
}

# Columns that identify a person or a source record directly; they never leave the pipeline.
DIRECT_IDENTIFIERS = frozenset({"fodselsnummer"})
BOOKKEEPING = ("record_id", "version", "recorded_at")


def read_provenance(root: Path) -> dict[str, Any] | None:
    """The registry's ``PROVENANCE.json`` (None when it has none), copied into every delivery."""
    path = root / PROVENANCE
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        content = None
    if not isinstance(content, dict):
        raise JobFailure(
            f"the registry's {PROVENANCE} is not a JSON object: correct it or remove it",
            code="registry_provenance_unreadable",
        )
    return content
