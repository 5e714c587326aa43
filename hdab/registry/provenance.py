"""Where the registry's data came from: ``PROVENANCE.json`` at the root of the registry folder.

It says where the data came from (``hdab synth`` writes one that says they are synthetic) and which
data files it speaks for; every delivery made from the registry copies it, or, once the files are no
longer those, a provenance that claims nothing.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from hdab.registry.failures import RegistryFailure

PROVENANCE = "PROVENANCE.json"


def registry_files(root: Path) -> dict[str, int]:
    """The registry's data files and their sizes, by path under the root: every dataset folder's
    loose files (``dataset/name.parquet``) and its parts (``dataset/recorded_date=.../part-*.parquet``)."""
    found = [*root.glob("*/*.parquet"), *root.glob("*/*=*/*.parquet")]
    return {
        path.relative_to(root).as_posix(): path.stat().st_size for path in sorted(found) if path.is_file()
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
    SHA-256): while the registry's data files are exactly those, of those sizes, it is returned
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
        raise RegistryFailure(
            f"the registry's {PROVENANCE} is not a JSON object: correct it or remove it",
            code="registry_provenance_unreadable",
        )
    reason = _unvouched(content.get("files"), registry_files(root))
    if reason is not None:
        return {"synthetic": None, "stale": True, "reason": reason}
    return content


def write_provenance(root: Path, provenance: dict[str, Any]) -> Path:
    """Write ``root/PROVENANCE.json`` whole or not at all (a reader never sees half of it)."""
    path = root / PROVENANCE
    tmp = root / f".{PROVENANCE}.{uuid.uuid4().hex}.tmp"
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(provenance, ensure_ascii=False, indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    return path
