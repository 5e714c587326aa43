"""Extract jobs' JSON API: re-run a permit's extract, read a job, review a held one; statistics answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from hdab.applications import api as applications
from hdab.core import audit
from hdab.core.access import current_principal, require_roles
from hdab.core.auth import Principal, Role
from hdab.core.errors import NotFound
from hdab.core.web import db_session, db_write_session
from hdab.extracts.jobs import service
from hdab.extracts.jobs.schemas import ExtractJobRef, ExtractJobView, RerunRequest, Review, job_view

router = APIRouter()
DB = Annotated[Session, Depends(db_session, scope="function")]
LoggedRead = Annotated[Session, Depends(db_write_session, scope="function")]  # a GET that writes a log entry
staff = require_roles(Role.CASEWORKER, Role.ADMIN)
Staff = Annotated[Principal, Depends(staff)]


@router.post(
    "/api/extracts",
    response_model=ExtractJobRef,
    status_code=201,
    tags=["extracts"],
    summary="Re-run the extract of a permit's current version (deliberate re-runs only)",
    responses={404: {"description": "no such permit"}, 409: {"description": "the permit has ended"}},
)
def rerun(body: RerunRequest, principal: Staff, session: DB) -> dict[str, Any]:
    job = service.rerun(session, principal, body.permit_id)
    return {"id": job.id, "status": job.status}


@router.get(
    "/api/extracts/{job_id}",
    response_model=ExtractJobView,
    tags=["extracts"],
    summary="An extract job: status, steps, delivery",
)
def get_extract(job_id: str, principal: Staff, session: DB) -> dict[str, Any]:
    return job_view(session, service.get_job(session, job_id))


@router.post(
    "/api/extracts/{job_id}/review",
    response_model=ExtractJobRef,
    tags=["extracts"],
    summary="Release or reject a held extract (a caseworker other than the permit's assessor)",
    responses={403: {"description": "you assessed the permit"}, 409: {"description": "the job is not held"}},
)
def review_extract(job_id: str, body: Review, principal: Staff, session: DB) -> dict[str, Any]:
    job = service.review(session, principal, job_id, body.decision, body.note)
    return {"id": job.id, "status": job.status}


@router.get(
    "/api/statistics/{application_id}/answer",
    tags=["extracts"],
    summary="The disclosure-checked tables answering an approved statistics request (Art. 69)",
    responses={404: {"description": "no answer yet, or not a request you may see"}},
)
def statistics_answer(
    application_id: str, principal: Annotated[Principal, Depends(current_principal)], session: LoggedRead
) -> Any:
    if not applications.may_see_case(session, principal, application_id):
        raise NotFound("no answer for that request")
    answer = service.statistics_answer(session, application_id)
    audit.record(
        session,
        actor=principal.actor,
        action="statistics.answer_read",
        object_type="application",
        object_id=application_id,
    )
    return JSONResponse(answer)
