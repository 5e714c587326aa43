"""The one clock of the system.

Every deadline, token expiry, audit timestamp and scheduled delivery reads the time here, so tests
can set and advance it. No other module may call ``datetime.now()`` (ruff TID251 enforces it).

Three sources, checked in this order:

1. an in-process override set with :func:`set` / :func:`advance` (unit tests);
2. a shared clock file named by ``HDAB_CLOCK_FILE`` (only honoured outside production), so a test
   can move the time of a server and a Celery worker running in other processes;
3. the system clock.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")

_lock = threading.Lock()
_override: datetime | None = None


@dataclass(frozen=True)
class _FileReading:
    mtime_ns: int
    instant: datetime | None
    offset: timedelta


_file_cache: dict[str, _FileReading] = {}


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("the clock only takes timezone-aware datetimes")
    return instant.astimezone(UTC)


def _read_clock_file(path: str) -> datetime | None:
    """Read the shared test clock file: {"instant": ISO} freezes, {"offset_seconds": N} shifts."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    cached = _file_cache.get(path)
    if cached is None or cached.mtime_ns != stat.st_mtime_ns:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        instant = data.get("instant")
        cached = _FileReading(
            mtime_ns=stat.st_mtime_ns,
            instant=_aware(datetime.fromisoformat(instant)) if instant else None,
            offset=timedelta(seconds=float(data.get("offset_seconds", 0))),
        )
        _file_cache[path] = cached
    if cached.instant is not None:
        return cached.instant
    return datetime.now(UTC) + cached.offset


class OutOfRange(ValueError):
    """A time that cannot be told in UTC: it falls before year 1 or after year 9999 there."""


def in_utc(instant: datetime) -> datetime:
    """A timezone-aware ``instant`` in UTC, as the database stores it; :class:`OutOfRange` (a
    ValueError) rather than OverflowError when, like 0001-01-01T00:00+14:00, it has no UTC form."""
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise OutOfRange("the time falls outside the years 1 to 9999 in UTC") from None


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    override = _override
    if override is not None:
        return override
    path = os.environ.get("HDAB_CLOCK_FILE")
    if path and os.environ.get("HDAB_ENV", "dev") != "production":
        shared = _read_clock_file(path)
        if shared is not None:
            return shared
    return datetime.now(UTC)


def now_oslo() -> datetime:
    """The current instant in Europe/Oslo time (statutory periods are counted in Oslo time)."""
    return now().astimezone(OSLO)


def set(instant: datetime) -> None:
    """Freeze the clock at ``instant`` (tests only)."""
    global _override
    with _lock:
        _override = _aware(instant)


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward (freezing it at the current time first)."""
    global _override
    with _lock:
        _override = (_override or now()) + delta
        return _override


def reset() -> None:
    """Return to the system clock."""
    global _override
    with _lock:
        _override = None


def write_clock_file(path: Path, instant: datetime | None = None, offset: timedelta | None = None) -> None:
    """Write the shared clock file that other processes read (tests only)."""
    data: dict[str, object] = {}
    if instant is not None:
        data["instant"] = _aware(instant).isoformat()
    if offset is not None:
        data["offset_seconds"] = offset.total_seconds()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
