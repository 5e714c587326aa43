"""Applications Celery tasks: thin, they call the service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hdab.applications import mail
from hdab.applications.models import Notification
from hdab.applications.service import run_due_tasks
from hdab.core import clock, runtime
from hdab.core.celery_app import celery_app

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Art. 68(4) incompleteness and Art. 68(12) expiry are counted in days; hourly is prompt enough.
    "applications-due": {"task": "applications.run_due", "schedule": timedelta(hours=1)},
}


@celery_app.task(name="applications.run_due", ignore_result=True)
def run_due() -> dict[str, int]:
    return run_due_tasks()


@celery_app.task(
    name="applications.send_notification",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def send_notification(notification_id: int) -> bool:
    """Mail one notification once; a repeated message finds it sent and does nothing."""
    settings = runtime.settings()
    with runtime.database().session() as session:
        note = session.get(Notification, notification_id)
        if note is None or note.sent_at is not None or not note.email or not settings.smtp_url:
            return False
        mail.send(settings.smtp_url, settings.mail_from, note.email, note.title, note.body)
        note.sent_at = clock.now()
    return True
