"""Catalogue Celery tasks: thin, they call the service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from hdab.catalog import service
from hdab.core import runtime
from hdab.core.celery_app import celery_app

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # The MQA's accessibility indicators are about URLs that answer; check them daily.
    "catalog-check-urls": {"task": "catalog.check_urls", "schedule": timedelta(hours=24)},
}


@celery_app.task(name="catalog.check_urls", ignore_result=True)
def check_urls() -> int:
    with httpx.Client(timeout=10, follow_redirects=True) as client, runtime.database().session() as session:
        return len(service.check_urls(session, client))
