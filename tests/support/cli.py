"""Running `hdab` as a user would: a fresh process whose only HDAB_* settings are the given ones."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.backends import REPOSITORY_ROOT


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDAB_")}
    env.update(settings)
    return env


def run_hdab(
    *args: str, env: dict[str, str], cwd: Path = REPOSITORY_ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hdab.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def hdab_run(workdir: Path, timeout: float = 90, **settings: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Start `hdab run` (as `make run` does) on a free port; yield base URL and environment once it is up."""
    port = free_port()
    env = clean_env(
        HDAB_DATA_DIR=str(workdir / "var"), HDAB_HOST="127.0.0.1", HDAB_PORT=str(port), **settings
    )
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hdab.cli", "run"],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        try:
            while True:
                if process.poll() is not None:
                    raise AssertionError(log_path.read_text(errors="replace"))
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"server did not answer /healthz within {timeout:.0f} s")
                time.sleep(0.2)
            yield base, env
        finally:
            process.terminate()
            process.wait(timeout=15)
