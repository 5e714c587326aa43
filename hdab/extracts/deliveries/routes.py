"""Deliveries' JSON API for recipients (machine clients of public bodies) and the access body's staff."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from hdab.core.access import require_roles
from hdab.core.auth import Principal, Role
from hdab.core.web import db_session, db_write_session
from hdab.extracts.deliveries import service
from hdab.extracts.deliveries.schemas import AccessLog, DeliveryList, DeliveryView, Receipt, delivery_view

router = APIRouter()
DB = Annotated[Session, Depends(db_session, scope="function")]
LoggedRead = Annotated[Session, Depends(db_write_session, scope="function")]  # a GET that writes a log entry
staff = require_roles(Role.CASEWORKER, Role.ADMIN)
Staff = Annotated[Principal, Depends(staff)]

Reader = Annotated[Principal, Depends(require_roles(Role.RECIPIENT, Role.CASEWORKER, Role.ADMIN))]


@router.get(
    "/api/deliveries",
    response_model=DeliveryList,
    tags=["deliveries"],
    summary="Your organisation's deliveries, in order",
)
def list_deliveries(
    principal: Reader,
    session: DB,
    permit_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    deliveries = service.visible_deliveries(session, principal, permit_id)
    receipts = service.receipts(session, [d.id for d in deliveries])
    return {"items": [delivery_view(d, receipts[d.id]) for d in deliveries]}


def _serve(session: Session, principal: Principal, delivery_id: str, name: str, request: Request) -> Response:
    delivery = service.delivery_for(session, principal, delivery_id)
    path, entry = service.delivered_file(delivery, name)
    service.log_access(session, principal, delivery, name, request.headers.get("range"))
    digest = base64.b64encode(bytes.fromhex(entry["sha256"])).decode()
    headers = {"X-Content-SHA256": entry["sha256"], "Repr-Digest": f"sha-256=:{digest}:"}
    media = "application/json" if name.endswith(".json") else "application/vnd.apache.parquet"
    return FileResponse(path, media_type=media, filename=name, headers=headers)


@router.get(
    "/api/deliveries/{delivery_id}/manifest",
    tags=["deliveries"],
    summary="The delivery's manifest: every file with SHA-256, the plan, the predecessor",
)
def get_manifest(delivery_id: str, principal: Reader, session: LoggedRead, request: Request) -> Response:
    return _serve(session, principal, delivery_id, "manifest.json", request)


@router.get(
    "/api/deliveries/{delivery_id}/files/{name}",
    tags=["deliveries"],
    summary="Download a delivered file (streamed; HTTP Range to resume; its SHA-256 in the headers)",
    responses={206: {"description": "the range asked for"}, 404: {"description": "no such delivery or file"}},
)
def get_file(
    delivery_id: str, name: str, principal: Reader, session: LoggedRead, request: Request
) -> Response:
    return _serve(session, principal, delivery_id, name, request)


@router.post(
    "/api/deliveries/{delivery_id}/receipt",
    response_model=DeliveryView,
    tags=["deliveries"],
    summary="Confirm receipt with the checksums you computed (recipients; a mismatch is flagged)",
    description="Each client of the recipient organisation keeps its own receipt beside the others';"
    " sending the same receipt again changes nothing, and a client confirming anew replaces only its own.",
)
def confirm_receipt(
    delivery_id: str,
    body: Receipt,
    principal: Annotated[Principal, Depends(require_roles(Role.RECIPIENT))],
    session: DB,
) -> dict[str, Any]:
    """Only the receiving organisation confirms receipt: staff may read a delivery, not sign for it."""
    delivery = service.confirm_receipt(session, principal, delivery_id, body.files)
    return delivery_view(delivery, service.receipts(session, [delivery.id])[delivery.id])


@router.get(
    "/api/deliveries-access-log",
    response_model=AccessLog,
    tags=["deliveries"],
    summary="Who read which delivered file of a permit, and when (Art. 73(1)(e))",
)
def access_log(
    permit_id: Annotated[str, Query(max_length=64)], principal: Staff, session: DB
) -> dict[str, Any]:
    return {
        "items": [
            {
                "delivery_id": a.delivery_id,
                "actor": a.actor,
                "organisation": a.organisation,
                "file": a.file,
                "range": a.byte_range,
                "at": a.at.isoformat(),
            }
            for a in service.access_log(session, permit_id)
        ]
    }
