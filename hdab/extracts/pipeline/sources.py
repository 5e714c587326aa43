"""How the registries' source tables are laid out: one folder of Parquet files per catalogue dataset.

Each table holds one row per record version (``record_id``, ``version``, ``recorded_at``); tables
of persons have ``fodselsnummer``. Column names are the catalogue's variable names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
