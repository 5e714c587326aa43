"""One clock: settable and advanceable in tests, shared across processes, and the only source of now."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hdab.core import clock
from tests.support.backends import REPOSITORY_ROOT

# ruff through the interpreter running the tests: no assumption about where the clone or its venv is
RUFF = [sys.executable, "-m", "ruff"]


def test_set_freezes_and_advance_moves_the_clock() -> None:
    start = datetime(2029, 3, 26, 8, 0, tzinfo=UTC)
    clock.set(start)
    assert clock.now() == start
    assert clock.advance(timedelta(days=90)) == start + timedelta(days=90)
    assert clock.now() == start + timedelta(days=90)
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)  # noqa: TID251


def test_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2029, 1, 1))  # noqa: DTZ001


def test_oslo_time_is_the_same_instant() -> None:
    clock.set(datetime(2029, 6, 30, 22, 30, tzinfo=UTC))
    assert clock.now_oslo().isoformat() == "2029-07-01T00:30:00+02:00"


def test_shared_clock_file_is_read_by_every_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "clock.json"
    monkeypatch.setenv("HDAB_CLOCK_FILE", str(path))
    frozen = datetime(2030, 1, 1, tzinfo=UTC)
    clock.write_clock_file(path, instant=frozen)
    assert clock.now() == frozen
    clock.write_clock_file(path, offset=timedelta(days=365))
    assert clock.now() - datetime.now(UTC) > timedelta(days=364)  # noqa: TID251
    monkeypatch.setenv("HDAB_ENV", "production")
    assert clock.now() - datetime.now(UTC) < timedelta(seconds=5)  # noqa: TID251


@pytest.mark.parametrize(
    "call",
    ["datetime.now()", "datetime.now(UTC)", "datetime.utcnow()", "date.today()"],
)
def test_lint_forbids_reading_the_time_outside_the_clock(call: str) -> None:
    source = f"from datetime import UTC, date, datetime\n\nx = {call}\n"
    result = subprocess.run(
        [
            *RUFF,
            "check",
            "--select",
            "TID251",
            "--stdin-filename",
            "hdab/catalog/example.py",
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        cwd=REPOSITORY_ROOT,
        check=False,
    )
    assert result.returncode == 1
    assert "hdab.core.clock" in result.stdout


def test_no_module_reads_the_time_except_the_clock() -> None:
    result = subprocess.run(
        [*RUFF, "check", "--select", "TID251", "hdab", "bench"],
        capture_output=True,
        text=True,
        cwd=REPOSITORY_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout
