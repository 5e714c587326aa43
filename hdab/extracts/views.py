"""The extract job page for the access body's staff."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hdab.core.auth import Principal, Role, require_roles
from hdab.core.errors import InvalidInput
from hdab.core.templating import templates
from hdab.core.web import db_session
from hdab.extracts import service
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
    job = job_view(session, service.get_job(session, job_id))
    return templates.TemplateResponse(request, "extracts/job.html", {"job": job, "principal": principal})


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
    deliveries = session.scalars(
        select(Delivery).where(Delivery.permit_id == permit_id).order_by(Delivery.number)
    )
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
            "deliveries": list(deliveries),
            "jobs": list(jobs),
            "access": service.access_log(session, permit_id),
        },
    )
