"""`hdab catalog seed` and `hdab catalog import` as a user runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from hdab.catalog.rdf.namespaces import DCAT
from hdab.core.settings import Settings
from tests.support import backends
from tests.support.cli import clean_env, run_hdab

DRAFT = "dcat/examples/ckanext-dcat_dataset_health.ttl"


def hdab(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        HDAB_ENV="test",
        HDAB_DATA_DIR=str(settings.data_dir),
        HDAB_DATABASE_URL=settings.database_url,
        **backends.reference_env(),
    )
    return run_hdab(*args, env=env)


def test_seed_twice_then_import_a_harvested_record_keeping_its_iri(
    settings: Settings, tmp_path: Path
) -> None:
    first = hdab(settings, "catalog", "seed")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created (version 1)") == 8
    again = hdab(settings, "catalog", "seed")
    assert again.stdout.count("unchanged (version 1)") == 8

    from fastapi.testclient import TestClient

    from hdab.app import create_app

    with TestClient(create_app(settings)) as client:
        exported = client.get("/datasets/npr-tsb?format=ttl").text
    harvested_iri = "https://data.norge.no/datasets/abc-123"
    harvested = exported.replace(f"{settings.base_url}/datasets/npr-tsb", harvested_iri).replace(
        '"npr-tsb"', '"npr-tsb-harvested"'
    )
    harvested = harvested.replace("983744516", "971526920")  # another publisher: the command writes any
    path = tmp_path / "harvested.ttl"
    path.write_text(harvested)
    result = hdab(settings, "catalog", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "npr-tsb-harvested: created (version 1)"
    with TestClient(create_app(settings)) as client:
        served = Graph().parse(
            data=client.get("/datasets/npr-tsb-harvested?format=ttl").text, format="turtle"
        )
    assert list(served.subjects(RDF.type, DCAT.Dataset)) == [URIRef(harvested_iri)]


def test_import_of_a_nonconforming_file_stores_nothing_and_says_why(settings: Settings) -> None:
    backends.reference()  # the child process validates with the tests' reference folder
    draft = backends.reference(DRAFT) / DRAFT
    result = hdab(settings, "catalog", "import", str(draft))
    assert result.returncode == 1
    assert result.stderr.startswith("hdab: import refused, nothing stored:")
    assert result.stderr.count("\n  ") == 45


def test_import_of_an_unknown_format_is_refused(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("a,b")
    result = hdab(settings, "catalog", "import", str(path))
    assert result.returncode == 2
    assert "say --format" in result.stderr


def test_search_reindex_rebuilds_from_the_catalogue(settings: Settings) -> None:
    assert hdab(settings, "catalog", "seed").returncode == 0
    result = hdab(settings, "search", "reindex")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "indexed 8 datasets (embedded)"
