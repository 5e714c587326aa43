"""Extract jobs' JSON API: re-run a permit's extract, read a job, review a held one; statistics answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hdab.applications import api as applications
from hdab.core import audit
from hdab.core.auth import Principal, Role, current_principal, require_roles
from hdab.core.errors import NotFound
from hdab.core.web import db_session, db_write_session
from hdab.extracts.deliveries import service as deliveries
from hdab.extracts.jobs import service
from hdab.extracts.jobs.models import ExtractJob
from hdab.extracts.pipeline.failures import mask_person_numbers

router = APIRouter()
DB = Annotated[Session, Depends(db_session, scope="function")]
LoggedRead = Annotated[Session, Depends(db_write_session, scope="function")]  # a GET that writes a log entry
staff = require_roles(Role.CASEWORKER, Role.ADMIN)
Staff = Annotated[Principal, Depends(staff)]


class RerunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    permit_id: str = Field(min_length=1, max_length=64)


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["release", "reject"]
    note: str = Field(min_length=1, max_length=5000)


def job_view(session: Session, job: ExtractJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "permit_id": job.permit_id,
        "permit_version": job.permit_version,
        "application_id": job.application_id,
        "plan": job.plan,
        "held_reason": job.held_reason,
        "review": job.review,
        # masked here too: jobs that failed before errors became sentences stored the raw message
        "error": mask_person_numbers(job.error) if job.error is not None else None,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "delivery": {
            "id": job.delivery_id,
            "manifest_sha256": job.manifest_sha256,
            "registry_provenance": deliveries.registry_provenance(job.delivery_path),
        }
        if job.delivery_id
        else None,
        "steps": [
            {
                "attempt": s.attempt,
                "dataset": s.dataset,
                "name": s.name,
                "rows_in": s.rows_in,
                "rows_out": s.rows_out,
                "seconds": s.seconds,
                "details": s.details,
            }
            for s in service.job_steps(session, job.id)
        ],
    }


@router.post(
    "/api/extracts",
    status_code=201,
    tags=["extracts"],
    summary="Re-run the extract of a permit's current version (deliberate re-runs only)",
    responses={404: {"description": "no such permit"}, 409: {"description": "the permit has ended"}},
)
def rerun(body: RerunRequest, principal: Staff, session: DB) -> dict[str, Any]:
    job = service.rerun(session, principal, body.permit_id)
    return {"id": job.id, "status": job.status}


@router.get("/api/extracts/{job_id}", tags=["extracts"], summary="An extract job: status, steps, delivery")
def get_extract(job_id: str, principal: Staff, session: DB) -> dict[str, Any]:
    return job_view(session, service.get_job(session, job_id))


@router.post(
    "/api/extracts/{job_id}/review",
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
