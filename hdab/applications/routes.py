"""Applications JSON API: cases and their commands, permits and their signatures, the public register.

Every command has its own route (``POST /api/applications/{id}/{command}``) so that OpenAPI shows
its body. 409 means the case's state does not allow the command now, 403 that the caller's role
never may; both say which and why.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hdab.applications import flows, handlers, register, repository, service
from hdab.applications.auth import Caller
from hdab.applications.domain import Status
from hdab.applications.models import Application, Notification, Permit, PermitVersionRow
from hdab.applications.schemas import (
    ApplicationPage,
    CaseOut,
    Created,
    KeySet,
    NewApplication,
    NotificationList,
    PermitOut,
    RegisterPage,
    case_view,
    notification_view,
    permit_view,
    summary,
)
from hdab.applications.signing import MEDIA_TYPE
from hdab.core import clock
from hdab.core.access import require_roles
from hdab.core.auth import Principal, Role
from hdab.core.errors import NotFound
from hdab.core.web import Paging, db_session, paging

router = APIRouter(tags=["applications"])
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "your role may never use this"},
    404: {"description": "no such case, or not one you may see"},
    409: {"description": "the case's state does not allow this now"},
    422: {"description": "the body is not valid; errors name each field"},
}


DB = Annotated[Session, Depends(db_session, scope="function")]


def _view(session: Session, principal: Principal, loaded: service.Loaded) -> JSONResponse:
    # The view is JSON-ready already: answering it directly spares FastAPI's generic encoder,
    # which costs more than the command itself on a case with a long timeline.
    return JSONResponse(case_view(loaded, service.allowed(principal, loaded)))


@router.post(
    "/api/applications",
    status_code=201,
    summary="Start a draft application (access, Art. 67) or statistics request (Art. 69)",
    response_model=Created,
    responses=ERRORS,
)
def create_application(body: NewApplication, principal: Caller, session: DB) -> Created:
    loaded = service.create(session, principal, body.type, body.form)
    return Created(id=loaded.row.id, status=loaded.state.status.value)


@router.get("/api/applications", summary="The applications you may see", response_model=ApplicationPage)
def list_applications(
    principal: Caller,
    session: DB,
    page: Annotated[Paging, Depends(paging)],
    status: Annotated[Status | None, Query(description="only cases with this status")] = None,
) -> dict[str, Any]:
    query = repository.visible_to(principal)
    if status is not None:
        query = query.where(
            (Application.status == status.value) | (Application.permit_status == status.value)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    today = clock.now_oslo().date()
    rows = session.scalars(
        query.order_by(Application.updated_at.desc(), Application.id)
        .offset(page.offset)
        .limit(page.page_size)
    )
    return {
        "items": [summary(r, today) for r in rows],
        "page": page.page,
        "page_size": page.page_size,
        "total": total,
    }


@router.get(
    "/api/inbox",
    summary="Open cases, what is due first at the top; overdue ones flagged",
    response_model=ApplicationPage,
    dependencies=[Depends(require_roles(Role.CASEWORKER, Role.DECISION_MAKER, Role.ADMIN))],
)
def inbox(session: DB, page: Annotated[Paging, Depends(paging)]) -> dict[str, Any]:
    query = repository.inbox()
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    today = clock.now_oslo().date()
    rows = session.scalars(query.offset(page.offset).limit(page.page_size))
    return {
        "items": [summary(r, today) for r in rows],
        "page": page.page,
        "page_size": page.page_size,
        "total": total,
    }


@router.get(
    "/api/applications/{case_id}",
    summary="A case: status, deadlines, events, permit",
    responses=ERRORS,
    response_model=CaseOut,
)
def get_application(case_id: str, principal: Caller, session: DB) -> JSONResponse:
    return _view(session, principal, service.visible(session, principal, case_id))


@router.patch(
    "/api/applications/{case_id}",
    summary="Change fields of a draft",
    responses=ERRORS,
    response_model=CaseOut,
)
def patch_application(
    case_id: str,
    principal: Caller,
    session: DB,
    changes: Annotated[dict[str, Any], Body(description="top-level fields of the application form")],
) -> JSONResponse:
    return _view(session, principal, service.update_draft(session, principal, case_id, changes))


def _command_route(name: str, model: type[BaseModel], *, permit: bool) -> None:
    """One route per command, its body documented in OpenAPI by the command's own model."""
    id_name = "permit_id" if permit else "case_id"

    def run(**kwargs: Any) -> JSONResponse:
        principal: Principal = kwargs["principal"]
        session: Session = kwargs["session"]
        body = kwargs["body"]
        service.begin_command(session)
        payload = body if body is not None else service.parse_payload(name, None)
        case_id = service.case_of_permit(session, principal, kwargs[id_name]) if permit else kwargs[id_name]
        return _view(session, principal, service.execute(session, principal, case_id, name, payload))

    keyword = inspect.Parameter.KEYWORD_ONLY
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(id_name, keyword, annotation=str),
            inspect.Parameter("principal", keyword, annotation=Caller),
            inspect.Parameter("session", keyword, annotation=DB),
            inspect.Parameter("body", keyword, annotation=Annotated[model | None, Body()], default=None),
        ]
    )
    router.add_api_route(
        f"/api/{'permits' if permit else 'applications'}/{{{id_name}}}/{name}",
        run,
        methods=["POST"],
        response_model=CaseOut,
        summary=f"{'Permit command' if permit else 'Command'}: {name}",
        responses=ERRORS,
        name=f"{'permit' if permit else 'application'}_{name.replace('-', '_')}",
        tags=["permits" if permit else "applications"],
    )


for _name, _model in handlers.PAYLOADS.items():
    if _name in ("update-draft", "expire", "close-incomplete"):
        continue  # PATCH edits drafts; the scheduler alone closes and expires
    _command_route(_name, _model, permit=_name in handlers.PERMIT_COMMANDS)


@router.get(
    "/api/permits/{permit_id}",
    summary="A permit: status, current version, its versions",
    tags=["permits"],
    response_model=PermitOut,
    responses=ERRORS,
)
def get_permit(permit_id: str, principal: Caller, session: DB) -> dict[str, Any]:
    service.case_of_permit(session, principal, permit_id)
    permit = session.get(Permit, permit_id)
    assert permit is not None
    return permit_view(permit, service.permit_versions(session, permit_id))


@router.get(
    "/api/permits/{permit_id}/jws",
    summary="A permit version signed as a compact JWS (ES256; keys at /.well-known/jwks.json)",
    tags=["permits"],
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}, **ERRORS},
)
def get_permit_jws(
    permit_id: str,
    principal: Caller,
    session: DB,
    version: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="default: the current version")
    ] = None,
) -> Response:
    service.case_of_permit(session, principal, permit_id)
    query = select(PermitVersionRow).where(PermitVersionRow.permit_id == permit_id)
    query = (
        query.where(PermitVersionRow.version == version)
        if version
        else query.order_by(PermitVersionRow.version.desc())
    )
    row = session.scalars(query.limit(1)).first()
    if row is None:
        raise NotFound(f"permit {permit_id} has no version {version}")
    return Response(row.jws, media_type=MEDIA_TYPE, headers={"X-Permit-Version": str(row.version)})


@router.get(
    "/.well-known/jwks.json",
    summary="The public keys that sign permits",
    tags=["permits"],
    response_model=KeySet,
)
def jwks() -> JSONResponse:
    return JSONResponse(flows.current_signer().jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get(
    "/api/register",
    summary="Public register of applications and decisions (Art. 57(1)(j), 58)",
    tags=["register"],
    response_model=RegisterPage,
)
def public_register(
    session: DB,
    page: Annotated[Paging, Depends(paging)],
    dataset: Annotated[
        str | None, Query(max_length=128, description="only cases asking for this dataset")
    ] = None,
    purpose: Annotated[
        str | None, Query(pattern="^[a-f]$", description="only this Art. 53(1) purpose")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="words in the title or organisation")] = None,
) -> dict[str, Any]:
    return register.listing(session, page, dataset=dataset, purpose=purpose, text=q)


@router.get("/api/notifications", summary="Your notifications, newest first", response_model=NotificationList)
def notifications(principal: Caller, session: DB, page: Annotated[Paging, Depends(paging)]) -> dict[str, Any]:
    query = select(Notification).where(
        (Notification.subject == principal.actor) | (Notification.email == principal.email)
        if principal.email
        else Notification.subject == principal.actor
    )
    rows = session.scalars(query.order_by(Notification.id.desc()).offset(page.offset).limit(page.page_size))
    return {"items": [notification_view(n) for n in rows]}


@router.post("/api/notifications/{notification_id}/read", summary="Mark a notification read", status_code=204)
def read_notification(
    notification_id: Annotated[int, Path(ge=1, le=2_147_483_647)], principal: Caller, session: DB
) -> Response:
    note = session.get(Notification, notification_id)
    if note is None or not (
        note.subject == principal.actor or (principal.email and note.email == principal.email)
    ):
        raise NotFound("no such notification")
    note.read_at = note.read_at or clock.now()
    return Response(status_code=204)
