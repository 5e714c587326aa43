"""Running `hdab` as a user would: a fresh process whose only HDAB_* settings are the given ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hdab.core.settings import REPOSITORY_ROOT


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDAB_")}
    env.update(settings)
    return env


def run_hdab(
    *args: str, env: dict[str, str], cwd: Path = REPOSITORY_ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hdab.core.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
