"""How the registries' source tables are laid out: one folder of Parquet files per catalogue dataset.

Each table holds one row per record version (``record_id``, ``version``, ``recorded_at``); tables
of persons have ``fodselsnummer``. Column names are the catalogue's variable names. The root may
hold ``PROVENANCE.json``, saying where the data came from (``hdab synth`` writes one that says
they are synthetic) and which data files it speaks for; every delivery made from the registry
copies it, or, once the files are no longer those, a provenance that claims nothing.
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
        if self.has_data(root):
            return
        detail = (
            f"the folder {self.dataset} holds no Parquet files"
            if (root / self.dataset).is_dir()
            else f"the registry has no folder {self.dataset}"
        )
        raise no_registry_data(self.dataset, as_of, detail)


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


def registry_files(root: Path) -> dict[str, int]:
    """The registry's data files (``dataset/name.parquet``, every dataset folder) and their sizes."""
    return {
        f"{path.parent.name}/{path.name}": path.stat().st_size
        for path in sorted(root.glob("*/*.parquet"))
        if path.is_file()
    }


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _unvouched(listed: Any, current: dict[str, int]) -> str | None:
    """Why ``PROVENANCE.json`` cannot vouch for the registry's files as they are now (None: it can).

    Sizes only, no hashing: cheap enough to check at every delivery, and a replaced file is almost
    never exactly the size of the one it replaced. (The SHA-256 it lists is there to check by hand.)
    """
    if not isinstance(listed, dict):
        return f"{PROVENANCE} does not list the registry's data files, so it cannot vouch for them"
    sizes: dict[str, int] = {}
    for name, entry in listed.items():
        size = entry.get("bytes") if isinstance(entry, dict) else None
        if not isinstance(size, int) or isinstance(size, bool):
            return f"{PROVENANCE} lists {name} without its size, so it cannot vouch for the registry's files"
        sizes[name] = size
    added = sorted(set(current) - set(sizes))
    missing = sorted(set(sizes) - set(current))
    changed = sorted(name for name in set(current) & set(sizes) if current[name] != sizes[name])
    if not (added or missing or changed):
        return None
    details = [
        f"{label} {_names(names)}"
        for label, names in (("added", added), ("missing", missing), ("changed", changed))
        if names
    ]
    return f"the registry's files changed since {PROVENANCE} was written ({'; '.join(details)})"


def read_provenance(root: Path) -> dict[str, Any] | None:
    """The registry's ``PROVENANCE.json`` (None when it has none), copied into every delivery.

    It vouches only for the data files it lists (``files``: ``dataset/name.parquet`` -> bytes and
    SHA-256): while the registry's ``*/*.parquet`` are exactly those, of those sizes, it is returned
    as written. Otherwise it no longer says where the data came from (real data may have replaced
    synthetic ones), and what is returned claims nothing: ``{"synthetic": None, "stale": True,
    "reason": ...}``, so that no page calls the data synthetic.
    """
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
    reason = _unvouched(content.get("files"), registry_files(root))
    if reason is not None:
        return {"synthetic": None, "stale": True, "reason": reason}
    return content
