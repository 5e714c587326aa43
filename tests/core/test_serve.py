"""What `make run` starts: `hdab run` migrates, prepares and serves; `hdab dev token` tokens are accepted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from tests.support.cli import clean_env, hdab_run, run_hdab


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with hdab_run(tmp_path, timeout=60) as (base, env):
        yield base, env


def test_token_from_the_cli_is_accepted_by_the_running_server(
    served: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, env = served
    result = run_hdab(
        "dev",
        "token",
        "--role",
        "caseworker",
        "--role",
        "decision_maker",
        "--sub",
        "kari",
        "--org",
        "983744516",
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    response = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "kari"
    assert response.json()["roles"] == ["caseworker", "decision_maker"]
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    assert (tmp_path / "var" / "hdab.db").exists()  # migrated on the embedded default

    # The CLI need not be started with the server's address: the same data folder is enough.
    elsewhere = {**env, "HDAB_PORT": "1", "HDAB_BASE_URL": "https://somewhere.example"}
    other = run_hdab("dev", "token", "--role", "applicant", "--sub", "ola", env=elsewhere, cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    me = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {other.stdout.strip()}"})
    assert me.status_code == 200, me.text
    # Another data folder has another key: refused, saying so.
    stranger = run_hdab(
        "dev", "token", "--role", "admin", "--sub", "x", env={**env, "HDAB_DATA_DIR": str(tmp_path / "other")}
    )
    refused = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {stranger.stdout.strip()}"})
    assert refused.status_code == 401
    assert "same HDAB_DATA_DIR as the server" in refused.json()["detail"]


def test_run_on_a_new_data_folder_makes_a_synthetic_registry_once(tmp_path: Path) -> None:
    registry = tmp_path / "var" / "registry"
    with hdab_run(tmp_path, timeout=90) as (base, _env):
        ready = httpx.get(f"{base}/readyz").json()
    log = (tmp_path / "server.log").read_text()
    assert "wrote a synthetic registry for development" in log
    assert ready["checks"]["registry"] == "ok (synthetic test data)"
    persons = pq.read_table(registry / "npr-somatikk", columns=["fodselsnummer"]).column(0).unique()
    assert 15_000 < len(persons) <= 20_000  # 20,000 persons, most of whom had a somatic episode
    provenance = json.loads((registry / "PROVENANCE.json").read_text())
    assert provenance["synthetic"] is True and provenance["seed"] == 1 and provenance["patients"] == 20_000
    # Honest about the shapes: installed, or named as missing in /readyz and in the start-up output.
    if ready["checks"]["shapes"] == "missing":
        assert "WITHOUT the DCAT-AP / HealthDCAT-AP validation" in log
        assert any(n["component"] == "shapes" for n in ready["notices"])
    else:
        assert (tmp_path / "var" / "shapes" / "manifest.lock.json").exists()

    written = min((registry / "npr-somatikk").rglob("*.parquet"))  # one of its parts by recorded day
    stamp = written.stat().st_mtime_ns
    (tmp_path / "server.log").unlink()
    with hdab_run(tmp_path, timeout=90):
        pass
    assert "synthetic registry" not in (tmp_path / "server.log").read_text()  # never over a registry
    assert written.stat().st_mtime_ns == stamp


def test_run_in_test_or_production_never_makes_a_registry(tmp_path: Path) -> None:
    env = clean_env(HDAB_ENV="test", HDAB_DATA_DIR=str(tmp_path / "var"))
    result = run_hdab("extract", "prepare", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "var" / "registry").exists()


def test_dev_token_refuses_bad_arguments(tmp_path: Path) -> None:
    env = clean_env(HDAB_DATA_DIR=str(tmp_path))
    for args, message in (
        (["--role", "caseworker", "--sub", "x", "--org", "12345"], "9 digits"),
        (["--role", "citizen", "--sub", "x", "--pid", "01010012357"], "control digits"),
        (["--role", "superuser", "--sub", "x"], "superuser"),
    ):
        result = run_hdab("dev", "token", *args, env=env, timeout=60)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert result.stdout == ""


def test_a_registry_folder_that_cannot_be_made_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    env = clean_env(HDAB_DATA_DIR=str(tmp_path / "var"), HDAB_REGISTRY_DIR="/proc/hdab-no-registry")
    result = run_hdab("extract", "prepare", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "could not write a synthetic registry" in result.stderr
    dangling = tmp_path / "registry-link"
    dangling.symlink_to(tmp_path / "nowhere")
    result = run_hdab("extract", "prepare", env={**env, "HDAB_REGISTRY_DIR": str(dangling)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "nowhere").exists()  # a link someone made is theirs: nothing written through it


def test_synth_refuses_the_production_registry(tmp_path: Path) -> None:
    env = clean_env(
        HDAB_ENV="production",
        HDAB_DATA_DIR=str(tmp_path / "var"),
        HDAB_DATABASE_URL="postgresql://hdab@127.0.0.1:1/hdab",
        HDAB_BASE_URL="https://hdab.example.no",
        HDAB_SECRET_KEY="s" * 40,
        HDAB_PSEUDONYM_MASTER_KEY="p" * 40,
        HDAB_OPTOUT_HASH_KEY="o" * 40,
        HDAB_AUDIT_MAC_KEY="a" * 40,
        HDAB_RECEPTION_STORAGE_KEY="r" * 40,
    )
    result = run_hdab("synth", "--patients", "10", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "refusing to write synthetic data into the production registry" in result.stderr
    assert not (tmp_path / "var" / "registry").exists()
    assert run_hdab("extract", "prepare", env=env, cwd=tmp_path).returncode == 0
    assert not (tmp_path / "var" / "registry").exists()  # `hdab run` never makes one in production
