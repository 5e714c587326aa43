"""fetch-shapes against a local HTTP server that serves the reference folder as the official sites would."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hdab.catalog.rdf.profiles import write_dataset
from hdab.catalog.rdf.shacl import ShapesBundle
from hdab.catalog.seed import seed_records
from hdab.catalog.shapes_fetch import FetchError, fetch_shapes, load_manifest
from tests.support import backends


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    source = backends.reference(*(entry.path for entry in load_manifest()))
    root = tmp_path / "mirror"
    # Serve a copy, so a test may tamper with a file without touching the shared folder.
    import shutil

    shutil.copytree(source, root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined,method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_manifest_pins_every_shape_file_with_a_checksum() -> None:
    from hdab.catalog.rdf.shacl import SHAPE_FILES

    entries = load_manifest()
    paths = {e.path for e in entries}
    assert set(SHAPE_FILES) <= paths
    assert all(len(e.sha256) == 64 and e.url.startswith("https://") for e in entries)
    assert not any(e.confirmed for e in entries)  # none could be checked against the official sources here


def test_fetch_installs_a_complete_validating_set(mirror: str, tmp_path: Path) -> None:
    target = tmp_path / "shapes"
    lock = fetch_shapes(target, mirror=mirror)
    assert all(item["pinned_sha256_matched"] for item in lock)
    assert json.loads((target / "manifest.lock.json").read_text())["files"] == lock
    bundle = ShapesBundle(target)
    for record in seed_records("https://hdab.example.no"):
        assert bundle.validate(write_dataset(record)).violations == ()


def test_a_tampered_file_installs_nothing(mirror: str, tmp_path: Path) -> None:
    from urllib.parse import urlparse

    served = tmp_path / "mirror"
    assert urlparse(mirror).hostname == "127.0.0.1"
    victim = served / "dcat/healthdcat-ap-r8/validator/shapes/non-public-shapes.ttl"
    victim.chmod(0o644)
    victim.write_text(victim.read_text() + "\n# changed\n")
    target = tmp_path / "shapes"
    with pytest.raises(FetchError, match=r"non-public-shapes\.ttl: SHA-256"):
        fetch_shapes(target, mirror=mirror)
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".shapes-")]


def test_unreachable_source_installs_nothing(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="cannot fetch"):
        fetch_shapes(tmp_path / "shapes", mirror="http://127.0.0.1:1")
    assert not (tmp_path / "shapes").exists()


def test_fetch_installs_the_dcat_ap_no_shapes_too(mirror: str, tmp_path: Path) -> None:
    from hdab.catalog.rdf.dcat_ap_no import to_dcat_ap_no
    from hdab.catalog.rdf.shacl import NO_ONTOLOGIES, NO_SHAPE_FILES, ShapesBundle

    paths = {entry.path for entry in load_manifest()}
    assert {*NO_SHAPE_FILES, NO_ONTOLOGIES} <= paths
    target = tmp_path / "shapes"
    lock = fetch_shapes(target, mirror=mirror)
    assert {item["path"] for item in lock} >= {*NO_SHAPE_FILES, NO_ONTOLOGIES}
    assert all(item["pinned_sha256_matched"] for item in lock)
    bundle = ShapesBundle(target, NO_SHAPE_FILES, NO_ONTOLOGIES)
    for record in seed_records("https://hdab.example.no")[:2]:
        graph = write_dataset(record)
        assert bundle.validate(to_dcat_ap_no(graph)).violations == ()
        assert bundle.validate(graph).violations != ()  # the DCAT-AP 3 form breaks them: the check can fail
