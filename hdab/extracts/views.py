"""The extract pages for the access body's staff: a job (review a held one, run a failed one again)
and a permit's deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hdab.core.access import require_roles
from hdab.core.auth import Principal, Role
from hdab.core.errors import InvalidInput
from hdab.core.templating import templates
from hdab.core.web import db_session
from hdab.extracts import service
from hdab.extracts.provenance import synthetic_notice
from hdab.extracts.routes import job_view

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
    failed = row.status == service.JobStatus.FAILED
    may_rerun = failed and service.rerun_refusal(session, row) is None
    # a failed job that has been followed up names the job after it (and offers no second re-run)
    newer = service.newer_job(session, row) if failed else None
    return templates.TemplateResponse(
        request,
        "extracts/job.html",
        {"job": job, "principal": principal, "notice": notice, "may_rerun": may_rerun, "newer": newer},
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
    if decision not in ("release", "reject") or not note:
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
    from sqlalchemy import select

    from hdab.applications import api as applications
    from hdab.extracts.models import Delivery, ExtractJob

    standing = applications.permit_standing(session, permit_id)
    version = applications.permit_version(session, permit_id)
    deliveries = list(
        session.scalars(select(Delivery).where(Delivery.permit_id == permit_id).order_by(Delivery.number))
    )
    # delivery id -> the synthetic-data notice its manifest calls for (deleted deliveries no longer say)
    notices = {
        d.id: notice
        for d in deliveries
        if (notice := synthetic_notice(service.registry_provenance(None if d.deleted_at else d.path)))
    }
    jobs = session.scalars(
        select(ExtractJob).where(ExtractJob.permit_id == permit_id).order_by(ExtractJob.created_at)
    )
    return templates.TemplateResponse(
        request,
        "extracts/permit.html",
        {
            "principal": principal,
            "permit_id": permit_id,
            "standing": standing,
            "recurrence": version.specification.recurrence,
            "deliveries": deliveries,
            "receipts": service.receipts(session, [d.id for d in deliveries]),
            "notices": notices,
            "jobs": list(jobs),
            "access": service.access_log(session, permit_id),
        },
    )
