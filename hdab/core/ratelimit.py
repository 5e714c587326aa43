"""Rate limits per client address: sign-in, invalid tokens and imports answer 429 with Retry-After.

A fixed window of one minute per (bucket, address). The counts live in the process by default; with
``HDAB_RATE_LIMIT_URL`` (Redis) every server process shares them, so two workers do not each allow
the full limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis
from fastapi import Request

from hdab.core import clock
from hdab.core.errors import ProblemError
from hdab.core.settings import Settings

WINDOW_SECONDS = 60


class TooManyRequests(ProblemError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many requests from your address: try again in {retry_after} seconds",
            429,
            "too-many-requests",
            headers={"Retry-After": str(retry_after)},
        )


class Counter(Protocol):
    def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one request under ``key``: (requests so far in this window, seconds until it ends)."""


class MemoryCounter:
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> tuple[int, int]:
        now = self._now()
        current = int(now // window)
        with self._lock:
            started, count = self._windows.get(key, (current, 0))
            count = count + 1 if started == current else 1
            self._windows[key] = (current, count)
            if len(self._windows) > 100_000:  # forget finished windows
                self._windows = {k: v for k, v in self._windows.items() if v[0] == current}
        return count, max(1, int((current + 1) * window - now + 0.999))


class RedisCounter:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2)

    def hit(self, key: str, window: int) -> tuple[int, int]:
        now = clock.now().timestamp()
        current = int(now // window)
        name = f"hdab:ratelimit:{key}:{current}"
        pipeline = self._redis.pipeline()
        pipeline.incr(name)
        pipeline.expire(name, window + 1)
        count, _ = pipeline.execute()
        return int(count), max(1, int((current + 1) * window - now + 0.999))


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.counter: Counter = (
            RedisCounter(settings.rate_limit_url) if settings.rate_limit_url else MemoryCounter()
        )

    def check(self, request: Request, bucket: str, per_minute: int) -> None:
        """Count this request against ``bucket``; raise 429 when the address went over ``per_minute``."""
        address = request.client.host if request.client else "unknown"
        count, retry_after = self.counter.hit(f"{bucket}:{address}", WINDOW_SECONDS)
        if count > per_minute:
            raise TooManyRequests(retry_after)


def count(request: Request, bucket: str, setting: str) -> None:
    """Count this request under the app's limits, against the limit named by ``setting``."""
    limits: RateLimits = request.app.state.rate_limits
    limits.check(request, bucket, int(getattr(limits.settings, setting)))


def limited(bucket: str, setting: str) -> Callable[[Request], None]:
    """A route dependency applying the limit named by ``setting`` (e.g. ``rate_limit_signin``)."""

    def dependency(request: Request) -> None:
        count(request, bucket, setting)

    return dependency
