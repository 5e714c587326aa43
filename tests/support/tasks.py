"""A task for the outbox and worker tests: it leaves a trace a test can see, an audit entry.

Loaded into a real worker with ``hdab worker --include tests.support.tasks``.
"""

from __future__ import annotations

from typing import Any

from hdab.core import audit, runtime
from hdab.core.celery_app import celery_app

TRACE_ACTION = "test.task_ran"


@celery_app.task(name="tests.leave_trace", bind=True, ignore_result=True)
def leave_trace(self: Any, marker: str, fail: bool = False) -> None:
    if fail:
        raise RuntimeError("this task was asked to fail")
    with runtime.database().session() as session:
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action=TRACE_ACTION,
            object_type="outbox_message",
            object_id=str(self.request.id),
            details={"marker": marker},
        )
