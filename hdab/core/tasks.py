"""Core Celery tasks: the outbox relay and the daily audit-chain check. Thin: they call core services."""

from __future__ import annotations

import logging

from hdab.core import audit, outbox, runtime
from hdab.core.celery_app import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name="core.outbox_relay", ignore_result=True)
def outbox_relay() -> int:
    """Send every outbox message still unsent (the safety net behind the after-commit relay)."""
    return outbox.relay(runtime.database().engine)


@celery_app.task(name="core.audit_verify", ignore_result=True)
def audit_verify() -> bool:
    """Verify the audit chain; a broken chain is logged as an error for the operators' alerting."""
    with runtime.database().session() as session:
        result = audit.verify(session)
    if result.ok:
        log.info("audit chain intact: %d entries", result.entries_checked)
    else:
        log.error("audit chain broken: %s", result.problem)
    return result.ok
