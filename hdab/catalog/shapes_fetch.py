"""`hdab catalog fetch-shapes`: install the official shapes and vocabularies from a pinned manifest.

Each file is downloaded from its pinned URL (or from a mirror laid out like the reference folder),
checked against the manifest's SHA-256, converted to the target's syntax when the source differs,
and the whole set is installed at once: into a temporary folder, renamed into HDAB_SHAPES_DIR only
when every file passed. A lock file records what was installed and from where.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from rdflib import Graph

from hdab.core import clock

# Codes the current EU tables hold but the pinned 2022 tables lack; written here, not downloaded.
NEWER_CODES = """@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<http://publications.europa.eu/resource/authority/file-type/PARQUET> a skos:Concept ;
    skos:inScheme <http://publications.europa.eu/resource/authority/file-type> ;
    skos:prefLabel "Parquet"@en .
"""
NEWER_CODES_PATH = "dcat/nal/hdab-newer-codes.ttl"


class FetchError(Exception):
    """A file could not be fetched or failed its check; nothing was installed."""


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    url: str
    sha256: str
    confirmed: bool
    note: str


def load_manifest() -> list[ManifestEntry]:
    text = resources.files("hdab.catalog").joinpath("shapes_manifest.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return [ManifestEntry(**entry) for entry in data["files"]]


def _syntax(name: str) -> str:
    return "xml" if name.endswith((".rdf", ".xml", ".owl")) else "turtle"


def _safe_target(root: Path, relative: str) -> Path:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise FetchError(f"manifest path {relative!r} leaves the shapes folder")
    return target


def fetch_shapes(
    target_dir: Path,
    *,
    mirror: str | None = None,
    accept_unconfirmed: bool = False,
    client: httpx.Client | None = None,
) -> list[dict[str, Any]]:
    """Download, check and install every manifest file; returns the lock entries."""
    entries = load_manifest()
    http = client or httpx.Client(timeout=60, follow_redirects=True)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".shapes-", dir=target_dir.parent))
    lock: list[dict[str, Any]] = []
    try:
        for entry in entries:
            url = f"{mirror.rstrip('/')}/{entry.path}" if mirror else entry.url
            try:
                response = http.get(url)
            except httpx.HTTPError as exc:
                raise FetchError(f"{entry.path}: cannot fetch {url}: {type(exc).__name__}") from None
            if response.status_code != 200:
                raise FetchError(f"{entry.path}: {url} answered {response.status_code}")
            data = response.content
            digest = hashlib.sha256(data).hexdigest()
            matches = digest == entry.sha256
            if not matches and (entry.confirmed or not accept_unconfirmed):
                raise FetchError(
                    f"{entry.path}: SHA-256 {digest} differs from the pinned {entry.sha256}"
                    + ("" if entry.confirmed else " (unconfirmed pin: --accept-unconfirmed takes it)")
                )
            target = _safe_target(staging, entry.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if _syntax(url) != _syntax(entry.path):
                graph = Graph().parse(data=data, format=_syntax(url))
                target.write_text(graph.serialize(format=_syntax(entry.path)), encoding="utf-8")
            else:
                target.write_bytes(data)
            lock.append({"path": entry.path, "url": url, "sha256": digest, "pinned_sha256_matched": matches})
        extra = _safe_target(staging, NEWER_CODES_PATH)
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text(NEWER_CODES, encoding="utf-8")
        (staging / "manifest.lock.json").write_text(
            json.dumps({"installed_at": clock.now().isoformat(), "files": lock}, indent=2), encoding="utf-8"
        )
        # Install all at once: the old folder is replaced only after every file passed.
        backup = None
        if target_dir.exists():
            backup = target_dir.with_name(target_dir.name + ".old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(target_dir, backup)
        os.replace(staging, target_dir)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if client is None:
            http.close()
    return lock
