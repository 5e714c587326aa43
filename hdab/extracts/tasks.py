"""Extracts Celery tasks: the receiving end of the hand-over from applications.

The extract pipeline itself (plan, minimise, opt-out filter, pseudonymise, disclosure check,
deliver) is not built yet; until it is, these tasks check that what was handed over can be read
through ``applications/api.py`` and log that it is waiting, so nothing is lost silently.
"""

from __future__ import annotations

import logging

from hdab.applications import api as applications
from hdab.core import runtime
from hdab.core.celery_app import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name="permit.issued", ignore_result=True)
def permit_issued(permit_id: str, version: int) -> str:
    with runtime.database().session() as session:
        permit = applications.permit_version(session, permit_id, version)
    log.info(
        "permit %s version %d received (%d datasets); no extract pipeline yet",
        permit_id,
        version,
        len(permit.specification.datasets),
    )
    return permit.permit_id


@celery_app.task(name="statistics_request.approved", ignore_result=True)
def statistics_request_approved(application_id: str) -> str:
    with runtime.database().session() as session:
        request = applications.statistics_request(session, application_id)
    log.info(
        "statistics request %s received (%d tables); no extract pipeline yet",
        application_id,
        len(request.specification.tables),
    )
    return request.application_id
