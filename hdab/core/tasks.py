"""Core Celery tasks: the outbox relay, the daily audit-chain check and the hourly checkpoint of its head.

Thin: they call core services.
"""

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


@celery_app.task(name="core.audit_checkpoint", ignore_result=True)
def audit_checkpoint() -> int | None:
    """Append the chain's head, signed, to the checkpoint file; a broken chain is logged, not checkpointed."""
    try:
        with runtime.database().session() as session:
            made = audit.checkpoint(session)
    except audit.ChainBroken as exc:
        log.error("audit chain broken, not checkpointed: %s", exc.result.problem)
        return None
    except OSError as exc:
        log.error("audit checkpoint could not be written: %s", exc)
        return None
    return made.seq
