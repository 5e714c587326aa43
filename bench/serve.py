"""The real server (`hdab serve`) in a child process, for the benchmarks that load it over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def server(env: dict[str, str], port: int, log: Path | None, *extra: str) -> Iterator[str]:
    """``hdab serve`` on ``port``, its log appended to ``log`` (or dropped); the base URL once it answers."""
    with open(log if log is not None else os.devnull, "ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "hdab.cli", "serve", "--port", str(port), *extra],
            env=env,
            cwd=REPOSITORY_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("server did not start" + (f"; see {log}" if log is not None else ""))
        time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
