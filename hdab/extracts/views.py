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
