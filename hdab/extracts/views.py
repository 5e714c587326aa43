"""The extract pages for the access body's staff: a job (review a held one, run a failed one again)
and a permit's deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hdab.applications import api as applications
from hdab.core.access import require_roles
from hdab.core.auth import Principal, Role
from hdab.core.errors import InvalidInput
from hdab.core.templating import templates
from hdab.core.web import db_session
from hdab.extracts import labels
from hdab.extracts.deliveries import service as deliveries
from hdab.extracts.jobs import service
from hdab.extracts.jobs.domain import JobStatus, ReviewDecision
from hdab.extracts.jobs.schemas import job_view
from hdab.extracts.provenance import synthetic_notice

LABELS = {
    "job_statuses": labels.JOB_STATUSES,
    "job_kinds": labels.JOB_KINDS,
    "steps": labels.STEPS,
    "review": labels.REVIEW,
    "schedules": labels.SCHEDULES,
    "modes": labels.MODES,
    "status_label": applications.status_label,
}

router = APIRouter(include_in_schema=False)
staff = require_roles(Role.CASEWORKER, Role.ADMIN)


@router.get("/extracts/{job_id}", response_class=HTMLResponse)
def job_page(
    job_id: str,
    request: Request,
    principal: Principal = Depends(staff),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    row = service.get_job(session, job_id)
    job = job_view(session, row)
    notice = synthetic_notice(job["delivery"]["registry_provenance"]) if job["delivery"] else None
    failed = row.status == JobStatus.FAILED
    may_rerun = failed and service.rerun_refusal(session, row) is None
    # a failed job that has been followed up names the job after it (and offers no second re-run)
    newer = service.newer_job(session, row) if failed else None
    return templates.TemplateResponse(
        request,
        "extracts/job.html",
        {
            "job": job,
            "principal": principal,
            "notice": notice,
            "may_rerun": may_rerun,
            "newer": newer,
            **LABELS,
        },
    )


@router.post("/extracts/{job_id}/review")
async def review_page(
    job_id: str,
    request: Request,
    principal: Principal = Depends(staff),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    form = await request.form()
    decision, note = str(form.get("decision") or ""), str(form.get("note") or "").strip()
    if decision not in tuple(ReviewDecision) or not note:
        raise InvalidInput("choose release or reject and write a note")
    service.review(session, principal, job_id, decision, note)
    return RedirectResponse(f"/extracts/{job_id}", status_code=303)


@router.post("/extracts/{job_id}/rerun")
def rerun_page(
    job_id: str,
    principal: Principal = Depends(staff),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    """Run a failed permit job again (what ``POST /api/extracts`` does), then show the new job."""
    job = service.rerun_failed(session, principal, job_id)
    return RedirectResponse(f"/extracts/{job.id}", status_code=303)


@router.get("/extracts/permits/{permit_id}", response_class=HTMLResponse)
def permit_deliveries_page(
    permit_id: str,
    request: Request,
    principal: Principal = Depends(staff),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    """For caseworkers: a permit's schedule, deliveries and receipts, access log and coming deletion."""
    standing = applications.permit_standing(session, permit_id)
    version = applications.permit_version(session, permit_id)
    delivered = deliveries.of_permit(session, permit_id)
    # delivery id -> the synthetic-data notice its manifest calls for (deleted deliveries no longer say)
    notices = {
        d.id: notice
        for d in delivered
        if (notice := synthetic_notice(deliveries.registry_provenance(None if d.deleted_at else d.path)))
    }
    return templates.TemplateResponse(
        request,
        "extracts/permit.html",
        {
            "principal": principal,
            "permit_id": permit_id,
            "standing": standing,
            "recurrence": version.specification.recurrence,
            "deliveries": delivered,
            "receipts": deliveries.receipts(session, [d.id for d in delivered]),
            "notices": notices,
            "jobs": service.of_permit(session, permit_id),
            "access": deliveries.access_log(session, permit_id),
            **LABELS,
        },
    )
