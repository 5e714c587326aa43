"""Periodic tasks without a beat process, for the embedded default (no broker).

With a broker, ``hdab beat`` runs Celery beat. Without one, the server runs this small loop in a
thread: the same schedule, the same clock, each due task run in-process.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import BaseSchedule, schedule

from hdab.core import clock
from hdab.core.celery_app import celery_app

log = logging.getLogger(__name__)


def _as_schedule(value: Any) -> BaseSchedule:
    if isinstance(value, timedelta):
        return schedule(run_every=value, app=celery_app)
    if isinstance(value, BaseSchedule):
        value.app = celery_app
        return value
    return schedule(run_every=timedelta(seconds=float(value)), app=celery_app)


class InProcessScheduler:
    def __init__(self, tick: float = 1.0) -> None:
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        started = clock.now()
        self._entries: dict[str, tuple[str, BaseSchedule]] = {
            name: (entry["task"], _as_schedule(entry["schedule"]))
            for name, entry in celery_app.conf.beat_schedule.items()
        }
        self._last_run: dict[str, datetime] = dict.fromkeys(self._entries, started)

    def run_due(self) -> list[str]:
        ran = []
        for name, (task, sched) in self._entries.items():
            due, _next = sched.is_due(self._last_run[name])
            if due:
                self._last_run[name] = clock.now()
                try:
                    celery_app.tasks[task].apply()
                except Exception:
                    log.exception("scheduled task %s failed", task)
                ran.append(name)
        return ran

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            self.run_due()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="hdab-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
