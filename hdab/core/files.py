"""Small file helpers shared by the domains."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path


def create_once(path: Path, content: str) -> str:
    """Write ``content`` to ``path`` with mode 0600 unless the file exists; return what the file holds.

    Safe when several processes start at once: the file appears complete or not at all, and the first
    writer wins (``link()`` fails when the name is taken), so every process ends up reading the same key.
    """
    if path.exists():
        return path.read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # unique per process and thread
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text(encoding="utf-8")


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file as lower-case hex, read in chunks (files may be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
