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
    _trace(str(self.request.id), marker)


def _trace(task_id: str, marker: str) -> None:
    with runtime.database().session() as session:
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action=TRACE_ACTION,
            object_type="outbox_message",
            object_id=task_id,
            details={"marker": marker},
        )


@celery_app.task(name="tests.leave_trace_later", bind=True, ignore_result=True, background=True)
def leave_trace_later(self: Any, marker: str) -> None:
    """:func:`leave_trace` as long work: without a broker it runs in the background thread."""
    _trace(str(self.request.id), marker)
