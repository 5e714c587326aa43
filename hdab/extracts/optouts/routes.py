"""The opt-out registry's JSON API: citizens (Art. 71) and the external registry import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from sqlalchemy.orm import Session

from hdab.core import runtime
from hdab.core.access import require_roles
from hdab.core.auth import Principal, Role
from hdab.core.errors import InvalidInput, ProblemError
from hdab.core.ratelimit import limited
from hdab.core.web import db_session
from hdab.extracts.optouts import service
from hdab.extracts.optouts.domain import Action
from hdab.extracts.optouts.schemas import OptOutImport, OptOutRecorded, OptOutReversed, OptOutStatus

router = APIRouter()
DB = Annotated[Session, Depends(db_session, scope="function")]
Citizen = Annotated[Principal, Depends(require_roles(Role.CITIZEN))]


@router.get(
    "/api/optouts/me",
    response_model=OptOutStatus,
    summary="Whether you have opted out of secondary use (Art. 71)",
)
def my_optout(principal: Citizen, session: DB) -> dict[str, Any]:
    return {"opted_out": service.citizen_status(session, principal)}


@router.post(
    "/api/optouts/me",
    response_model=OptOutRecorded,
    status_code=201,
    summary="Opt out of secondary use of your health data (Art. 71)",
    responses={409: {"description": "you have already opted out"}},
)
def opt_out(principal: Citizen, session: DB) -> dict[str, Any]:
    at = service.citizen_record(session, principal, Action.OPT_OUT)
    return {"opted_out": True, "since": at.isoformat()}


@router.delete(
    "/api/optouts/me",
    response_model=OptOutReversed,
    summary="Reverse your opt-out (Art. 71)",
    responses={409: {"description": "you have not opted out"}},
)
def reverse(principal: Citizen, session: DB) -> dict[str, Any]:
    at = service.citizen_record(session, principal, Action.REVERSE)
    return {"opted_out": False, "reversed_at": at.isoformat()}


@router.post(
    "/api/optouts/import",
    response_model=OptOutImport,
    dependencies=[Depends(limited("import-optouts", "rate_limit_import"))],
    summary="Import an external opt-out registry file (CSV: identifier,time,action)",
    responses={
        413: {"description": "the file is too large"},
        422: {"description": "invalid lines, by number; nothing was imported"},
    },
)
def import_registry(
    body: Annotated[bytes, Body(media_type="text/csv", description="identifier,time,action")],
    principal: Annotated[Principal, Depends(require_roles(Role.ADMIN))],
    session: DB,
) -> dict[str, Any]:
    limit = runtime.settings().import_max_bytes
    if len(body) > limit:
        raise ProblemError(f"the file is larger than {limit} bytes", 413, "too-large")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the file must be UTF-8 text") from None
    result = service.import_registry(session, principal.actor, text)
    return {"lines": result.lines, "added": result.added, "sha256": result.file_sha256}
