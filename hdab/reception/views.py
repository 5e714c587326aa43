"""The registry staff's pages on reception: the submitters' series at a glance, one unit's status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hdab.core import runtime
from hdab.core.access import current_principal
from hdab.core.auth import Principal
from hdab.core.errors import Forbidden, InvalidInput
from hdab.core.identifiers import InvalidIdentifier, validate_organisation_number
from hdab.core.templating import templates
from hdab.core.web import db_session
from hdab.reception import status
from hdab.reception.models import Message, Rejection, Stream, Submitter, Watermark

router = APIRouter(include_in_schema=False)


def registry_staff(principal: Principal = Depends(current_principal)) -> Principal:
    if not status.is_staff(principal, runtime.settings().registry_organisation):
        raise Forbidden("this page is for the registry's staff (data holders of its organisation) and admins")
    return principal


@router.get("/reception", response_class=HTMLResponse)
def overview(
    request: Request,
    principal: Principal = Depends(registry_staff),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    totals = {
        "units": session.scalar(select(func.count()).select_from(Submitter).where(Submitter.kind == "unit")),
        "vendors": session.scalar(
            select(func.count()).select_from(Submitter).where(Submitter.kind == "vendor")
        ),
        "messages": session.scalar(select(func.count()).select_from(Message)),
        "rejected": session.scalar(select(func.count()).select_from(Rejection)),
    }
    streams = session.scalars(
        select(Stream).order_by(Stream.missing_days.desc(), Stream.last_received_at.desc()).limit(200)
    ).all()
    marks = session.scalars(select(Watermark).order_by(Watermark.dataset)).all()
    return templates.TemplateResponse(
        request,
        "reception/overview.html",
        {"principal": principal, "totals": totals, "streams": streams, "marks": marks},
    )


@router.get("/reception/units/{organisation}", response_class=HTMLResponse)
def unit_page(
    organisation: str,
    request: Request,
    principal: Principal = Depends(registry_staff),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    try:
        validate_organisation_number(organisation)
    except InvalidIdentifier as exc:
        raise InvalidInput(str(exc)) from None
    return templates.TemplateResponse(
        request,
        "reception/unit.html",
        {"principal": principal, "unit": status.of_unit(session, organisation)},
    )
