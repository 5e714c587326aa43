"""What `make run` starts: `hdab run` migrates and serves; a token from `hdab dev token` is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
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
