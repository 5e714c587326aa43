"""Reception's Celery tasks: thin, they call compaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hdab.core import runtime
from hdab.core.celery_app import celery_app
from hdab.reception import compaction
from hdab.reception.crypto import storage_key

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # received versions reach the registry's Parquet within minutes: extracts read them there
    "reception-compact": {"task": "reception.compact", "schedule": timedelta(minutes=1)},
}


@celery_app.task(name="reception.compact", ignore_result=True)
def compact() -> int:
    settings = runtime.settings()
    assert settings.registry_dir is not None
    done = compaction.compact(
        runtime.database(), settings.registry_dir, storage_key(settings.reception_storage_key)
    )
    return sum(result.versions for result in done)
