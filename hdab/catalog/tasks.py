"""Catalogue Celery tasks: thin, they call the service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from hdab.catalog import service
from hdab.catalog.search import sync
from hdab.core import runtime
from hdab.core.celery_app import celery_app

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # The MQA's accessibility indicators are about URLs that answer; check them daily.
    "catalog-check-urls": {"task": "catalog.check_urls", "schedule": timedelta(hours=24)},
    # A search update that failed every retry, or a process killed mid-way, is caught here.
    "catalog-reconcile-search": {"task": "catalog.reconcile_search", "schedule": timedelta(minutes=5)},
}


@celery_app.task(name="catalog.check_urls", ignore_result=True)
def check_urls() -> int:
    with httpx.Client(timeout=10, follow_redirects=True) as client:
        return len(service.check_urls(runtime.database(), client))


@celery_app.task(
    name="catalog.index_dataset",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def index_dataset(identifier: str) -> str:
    """Update one dataset's search entry; the reconciliation below catches what retries cannot."""
    return sync.index_dataset(runtime.database(), identifier)


@celery_app.task(
    name="catalog.index_datasets",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def index_datasets(identifiers: list[str]) -> int:
    """Update the search entries of a batch of datasets (an import's) in one pass."""
    return sync.index_datasets(runtime.database(), identifiers)


@celery_app.task(name="catalog.reconcile_search", ignore_result=True)
def reconcile_search() -> int:
    """Re-index every dataset whose index entry is missing, stale or should be gone."""
    with runtime.database().session() as session:
        identifiers = sync.stale(session)
    for identifier in identifiers:
        sync.index_dataset(runtime.database(), identifier)
    return len(identifiers)
