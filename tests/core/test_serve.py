"""What `make run` starts: `hdab run` migrates and serves; a token from `hdab dev token` is accepted."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli import clean_env, run_hdab


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = clean_env(HDAB_DATA_DIR=str(tmp_path / "var"), HDAB_PORT=str(port), HDAB_HOST="127.0.0.1")
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "hdab.core.cli", "run"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError((tmp_path / "server.log").read_text(errors="replace"))
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base, env
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


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
