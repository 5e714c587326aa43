"""The one Celery app. Redis broker from ``HDAB_BROKER_URL``; with none set, tasks run in-process.

Core names no domain: the top layer (``hdab.tasks``) imports every task module, which registers its
tasks with this app, and adds each domain's periodic tasks with :func:`add_periodic_tasks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab

from hdab.core import clock
from hdab.core.settings import Settings


class HdabCelery(Celery):
    """Celery whose beat scheduler reads the system's one clock."""

    def now(self) -> datetime:
        return clock.now().astimezone(self.timezone)


celery_app = HdabCelery("hdab", set_as_current=True)

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Catches messages whose send failed or whose process died between commit and send.
    "outbox-relay": {"task": "core.outbox_relay", "schedule": timedelta(seconds=15)},
    # A tampered audit chain should be noticed within a day, not at the next inspection.
    "audit-verify": {"task": "core.audit_verify", "schedule": crontab(hour="3", minute="17")},
    # The chain's head, signed, outside the database: truncating the log is caught at the next verify.
    "audit-checkpoint": {"task": "core.audit_checkpoint", "schedule": crontab(minute="41")},
}
# the domains' periodic tasks, added by the top layer (hdab.tasks); kept across configure_celery()
_domain_schedule: dict[str, dict[str, Any]] = {}


def add_periodic_tasks(schedule: Mapping[str, dict[str, Any]]) -> None:
    """Add a domain's periodic tasks to the beat schedule (the in-process scheduler reads it too)."""
    _domain_schedule.update(schedule)
    celery_app.conf.beat_schedule = beat_schedule()


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Core's periodic tasks, then every domain's."""
    return {**BEAT_SCHEDULE, **_domain_schedule}


def is_eager() -> bool:
    return bool(celery_app.conf.task_always_eager)


def configure_celery(settings: Settings) -> Celery:
    """Point the app at the configured broker, or make it run tasks in-process when there is none."""
    eager = not settings.broker_url
    celery_app.conf.update(
        broker_url=settings.broker_url or "memory://",
        result_backend=None,
        task_always_eager=eager,
        task_eager_propagates=False,
        task_serializer="json",
        accept_content=["json"],
        timezone="Europe/Oslo",
        enable_utc=True,
        # A task is acknowledged after it ran, and re-delivered if its worker died: every task
        # must therefore be idempotent (the outbox message id is the task id).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        broker_transport_options={"socket_connect_timeout": 3, "socket_timeout": 10},
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(),
    )
    # Drop connections made for an earlier broker (tests switch between backends).
    celery_app._pool = None  # type: ignore[attr-defined]
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    return celery_app
