"""Extracts JSON API: the opt-out registry (citizens, the external registry import) and extract jobs."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from hdab.core import audit, runtime
from hdab.core.access import current_principal, require_roles
from hdab.core.auth import Principal, Role
from hdab.core.errors import InvalidInput, NotFound, ProblemError
from hdab.core.ratelimit import limited
from hdab.core.web import db_session, db_write_session
from hdab.extracts import optout, service
from hdab.extracts.models import Delivery, DeliveryReceipt, ExtractJob
from hdab.extracts.pipeline.failures import mask_person_numbers

router = APIRouter(tags=["opt-out"])
DB = Annotated[Session, Depends(db_session, scope="function")]
LoggedRead = Annotated[Session, Depends(db_write_session, scope="function")]  # a GET that writes a log entry
Citizen = Annotated[Principal, Depends(require_roles(Role.CITIZEN))]


@router.get("/api/optouts/me", summary="Whether you have opted out of secondary use (Art. 71)")
def my_optout(principal: Citizen, session: DB) -> dict[str, Any]:
    return {"opted_out": service.citizen_status(session, principal)}


@router.post(
    "/api/optouts/me",
    status_code=201,
    summary="Opt out of secondary use of your health data (Art. 71)",
    responses={409: {"description": "you have already opted out"}},
)
def opt_out(principal: Citizen, session: DB) -> dict[str, Any]:
    at = service.citizen_record(session, principal, optout.Action.OPT_OUT)
    return {"opted_out": True, "since": at.isoformat()}


@router.delete(
    "/api/optouts/me",
    summary="Reverse your opt-out (Art. 71)",
    responses={409: {"description": "you have not opted out"}},
)
def reverse(principal: Citizen, session: DB) -> dict[str, Any]:
    at = service.citizen_record(session, principal, optout.Action.REVERSE)
    return {"opted_out": False, "reversed_at": at.isoformat()}


@router.post(
    "/api/optouts/import",
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


# --- extract jobs ---------------------------------------------------------------------------------

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
            "registry_provenance": service.registry_provenance(job.delivery_path),
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
    from hdab.applications import api as applications

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


# --- deliveries for recipients (machine clients of public bodies) --------------------------------------

Reader = Annotated[Principal, Depends(require_roles(Role.RECIPIENT, Role.CASEWORKER, Role.ADMIN))]


def delivery_view(delivery: Delivery, receipts: list[DeliveryReceipt]) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "permit_id": delivery.permit_id,
        "number": delivery.number,
        "predecessor": delivery.predecessor,
        "permit_version": delivery.permit_version,
        "delivered_at": delivery.delivered_at.isoformat(),
        "files": [
            {"name": f["name"], "sha256": f["sha256"], "bytes": f.get("bytes")} for f in delivery.files
        ],
        "manifest_sha256": delivery.manifest_sha256,
        "receipts": [
            {
                "by": r.client,
                "organisation": r.organisation,
                "at": r.at.isoformat(),
                "checksums": r.checksums,
                "mismatched": r.mismatched,
                "unknown": r.unknown,
                "mismatch": r.mismatch,
            }
            for r in receipts
        ],
        "receipt_mismatch": any(r.mismatch for r in receipts),
    }


@router.get("/api/deliveries", tags=["deliveries"], summary="Your organisation's deliveries, in order")
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


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=255)],
        Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")],
    ] = Field(description="file name -> the SHA-256 (hex) the recipient computed", max_length=1000)


@router.post(
    "/api/deliveries/{delivery_id}/receipt",
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
