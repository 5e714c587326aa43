"""The receiver's JSON API, in SLASH's shape under ``/api/reception``: keys, message types, message, validate.

``POST /message`` and ``POST /validate`` answer with a receipt (``delivered``, ``errors``) and an
``X-Correlation-ID`` header, whatever went wrong, including a body over the 15 MB limit: this route
reads its body itself under that limit (the app's 1 MiB limit does not apply to it).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from hdab.catalog import api as catalog
from hdab.core import clock, dpop, ratelimit, runtime
from hdab.core.access import current_principal
from hdab.core.auth import Principal, TokenVerifier
from hdab.core.errors import OWN_ERROR_BODIES, FieldError, Forbidden, InvalidInput, NotFound, Unauthenticated
from hdab.reception import quality, schemas, service, status, submitters
from hdab.reception.crypto import storage_key
from hdab.reception.domain import MAX_BODY_BYTES, Code, Error, Receipt, Refused, refused
from hdab.reception.keys import receiver_keys
from hdab.reception.types import MESSAGE_TYPES, message_type

log = logging.getLogger(__name__)

PREFIX = "/api/reception"
MESSAGE_PATH = f"{PREFIX}/message"
VALIDATE_PATH = f"{PREFIX}/validate"
OWN_LIMIT_PATHS = frozenset({MESSAGE_PATH, VALIDATE_PATH})
# where HelseID puts the EPJ vendor's organisation number when it sends for a unit (multi-tenant)
SUPPLIER_CLAIMS = ("helseid://claims/client/claims/orgnr_supplier", "orgnr_supplier")

router = APIRouter(prefix=PREFIX, tags=["reception"])

RECEIPT_STATUSES = (400, 401, 403, 409, 413, 503)  # answered with a receipt, not a problem
RECEIPT_RESPONSES: dict[int | str, dict[str, Any]] = {
    status_code: {"model": schemas.ReceiptOut, "description": description}
    for status_code, description in (
        (200, "delivered (or, for /validate, valid); X-Correlation-ID names the delivery"),
        (400, "refused: fix the message and send it again from the last accepted one"),
        (401, "the token or its DPoP proof is not valid"),
        (403, "the organisation may not send this message type"),
        (409, "out of order: the receipt says which number comes next"),
        (413, "over 15 MB (error 2009)"),
        (503, "not stored: send the same message again"),
    )
}


WIRE_BODY = {
    "requestBody": {"content": {"text/plain": {"schema": {"type": "string", "format": "byte"}}}},
    OWN_ERROR_BODIES: list(RECEIPT_STATUSES),
}


@router.get("/keys", summary="The receiver's public keys: wrap the message key under the one expiring last")
def keys() -> list[schemas.PublicKeyOut]:
    settings = runtime.settings()
    return [
        schemas.PublicKeyOut(id=k.id, expirationDate=k.expires, publicKey=k.public_pem)
        for k in receiver_keys(settings).published()
    ]


@router.get("/types", summary="The message types and versions received, with their schemas and examples")
def types(request: Request) -> list[schemas.MessageTypeOut]:
    return [schemas.message_type_out(t, request.url_for) for t in MESSAGE_TYPES.values()]


@router.get("/types/{name}/{version}/schema", summary="A message type's JSON Schema", name="reception_schema")
def schema(name: str, version: str) -> JSONResponse:
    kind = message_type(name, version)
    if kind is None:
        raise NotFound(f"no message type {name} version {version}")
    return JSONResponse(dict(kind.schema), media_type="application/schema+json")


@router.get(
    "/types/{name}/{version}/example",
    summary="An example payload of a message type",
    name="reception_example",
)
def example(name: str, version: str) -> JSONResponse:
    kind = message_type(name, version)
    if kind is None:
        raise NotFound(f"no message type {name} version {version}")
    return JSONResponse(kind.example)


@router.post(
    "/message",
    summary="Deliver a message (SLASH wire shape): stored before the 200",
    response_model=schemas.ReceiptOut,
    responses=RECEIPT_RESPONSES,
    openapi_extra=WIRE_BODY,
)
async def message(request: Request) -> JSONResponse:
    return await _receive(request, dry_run=False)


@router.post(
    "/validate",
    summary="Check a message as /message would, storing nothing (the vendor's test mode)",
    response_model=schemas.ReceiptOut,
    responses=RECEIPT_RESPONSES,
    openapi_extra=WIRE_BODY,
)
async def validate(request: Request) -> JSONResponse:
    return await _receive(request, dry_run=True)


@router.get(
    "/quality/{dataset}",
    summary="A dataset's quality figures from reception (DQV measurements, JSON-LD)",
    response_class=JSONResponse,
)
def dataset_quality(dataset: str) -> JSONResponse:
    settings = runtime.settings()
    with runtime.database().session(write=False) as session:
        if catalog.dataset(session, dataset) is None or dataset not in {
            t.dataset for t in MESSAGE_TYPES.values()
        }:
            raise NotFound(f"no dataset {dataset} is fed by reception")
        values = quality.figures(session, dataset)
    body = quality.measurements(
        f"{settings.base_url}/datasets/{dataset}",
        f"{settings.base_url}{PREFIX}/quality/{dataset}",
        values,
        clock.now(),
    )
    return JSONResponse(body, media_type="application/ld+json")


@router.get("/status", summary="Where your unit's series stand: last accepted, gaps, error rate, lag")
def unit_status(request: Request, principal: Principal = Depends(current_principal)) -> schemas.StatusOut:
    unit = request.query_params.get("unit")
    with runtime.database().session(write=False) as session:
        return status.for_caller(session, principal, unit, runtime.settings().registry_organisation)


@router.post(
    "/submitters",
    summary="Import the register of submitters (CSV: organisation,name,kind,category,message_types)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    dependencies=[Depends(ratelimit.limited("import", "rate_limit_import"))],
)
async def import_submitters(
    request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, int]:
    if not status.is_staff(principal, runtime.settings().registry_organisation):
        raise Forbidden("this needs data_holder of the registry's organisation, or admin")
    text = (await request.body()).decode("utf-8", errors="replace")
    return await run_in_threadpool(_import, principal, text)


def _import(principal: Principal, text: str) -> dict[str, int]:
    try:
        with runtime.database().session() as session:
            result = submitters.import_csv(session, principal.actor, text)
    except submitters.ImportRefused as exc:
        raise InvalidInput(
            str(exc), [FieldError(f"line {p.line}", p.message) for p in exc.problems]
        ) from None
    return {"rows": result.rows, "units": result.units, "vendors": result.vendors}


async def _receive(request: Request, *, dry_run: bool) -> JSONResponse:
    correlation_id = str(uuid.uuid4())
    body = await _limited_body(request)
    if body is None:
        receipt = Receipt(
            correlation_id,
            False,
            (Error(Code.PAYLOAD_SIZE_LIMIT_EXCEEDED, f"the payload is larger than {MAX_BODY_BYTES} bytes"),),
        )
        return _answer(receipt, dry_run)
    try:
        submission = _submission(request, body)
    except Refused as exc:
        return _answer(Receipt(correlation_id, False, exc.errors), dry_run)
    receipt = await run_in_threadpool(_process, submission, correlation_id, dry_run)
    return _answer(receipt, dry_run)


def _process(submission: service.Submission, correlation_id: str, dry_run: bool) -> Receipt:
    settings = runtime.settings()
    key = storage_key(settings.reception_storage_key)
    try:
        with runtime.database().session() as session:
            receipt = service.receive(
                session,
                submission,
                receiver_keys(settings),
                key,
                correlation_id=correlation_id,
                dry_run=dry_run,
            )
        # committed: the message is durable before the sender hears "delivered"
    except Refused as exc:
        receipt = Receipt(correlation_id, False, exc.errors, dry_run=dry_run)
        _count_rejection(submission, receipt)
    except SQLAlchemyError as exc:
        log.warning("reception %s not stored: %s", correlation_id, type(exc).__name__)
        receipt = Receipt(
            correlation_id,
            False,
            (Error(Code.STORAGE_ERROR, "the message could not be stored; send it again"),),
        )
    log.info(
        "reception %s unit=%s delivered=%s codes=%s records=%d",
        receipt.correlation_id,
        submission.principal.organisation,
        receipt.delivered,
        [int(e.code) for e in receipt.errors],
        receipt.records,
    )
    return receipt


def _count_rejection(submission: service.Submission, receipt: Receipt) -> None:
    """The refused message's proof is used up (its transaction was rolled back), and counted."""
    unit = submission.principal.organisation
    kind = submission.proof.get("msg_type")
    if not any(e.code is Code.NOT_AUTHENTICATED for e in receipt.errors):  # a replay's jti is recorded
        with contextlib.suppress(dpop.InvalidProof, SQLAlchemyError), runtime.database().session() as session:
            dpop.remember_in(session, str(submission.proof.get("jti", "")))
    if unit is None or receipt.dry_run:
        return
    try:
        with runtime.database().session() as session:
            service.record_rejection(session, unit, str(kind or "?"), receipt.errors)
    except SQLAlchemyError:
        log.warning("reception: a rejection of %s could not be counted", unit)


def _answer(receipt: Receipt, dry_run: bool) -> JSONResponse:
    shown = (
        receipt
        if receipt.dry_run == dry_run
        else Receipt(
            receipt.correlation_id,
            receipt.delivered,
            receipt.errors,
            receipt.records,
            receipt.deletions,
            receipt.sequence,
            dry_run,
        )
    )
    return JSONResponse(
        shown.as_json(), status_code=shown.status, headers={"X-Correlation-ID": receipt.correlation_id}
    )


async def _limited_body(request: Request) -> bytes | None:
    """The body, or None when it is over the limit (read no further than the limit)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _submission(request: Request, body: bytes) -> service.Submission:
    """Who sends (the token, bound to the DPoP proof's key) and what the proof binds; Refused if invalid."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    try:
        if scheme.lower() != "dpop" or not token:
            raise Unauthenticated("send the HelseID access token as Authorization: DPoP <token>")
        verifier: TokenVerifier = request.app.state.token_verifier
        principal, jkt = verifier.verify_bound(token)
        if jkt is None:
            raise Unauthenticated("the token is not bound to a key (DPoP)")
        proofs = request.headers.getlist("dpop")
        if len(proofs) != 1:
            raise dpop.InvalidProof("send exactly one DPoP header with the request")
        proof = dpop.verify(
            proofs[0],
            method=request.method,
            url=runtime.settings().base_url + request.url.path,
            access_token=token,
            jkt=jkt,
            remember=False,  # recorded in the message's own transaction (service.receive)
        )
    except Unauthenticated as exc:
        ratelimit.count(request, "token-failures", "rate_limit_token_failures")
        raise refused(Code.NOT_AUTHENTICATED, exc.detail) from None
    return service.Submission(
        body=body,
        headers={k.lower(): v for k, v in request.headers.items()},
        proof=proof,
        principal=principal,
        supplier=_supplier(token),
    )


def _supplier(token: str) -> str | None:
    """The vendor's organisation number in a verified token (read again: the principal does not keep it)."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    for name in SUPPLIER_CLAIMS:
        value = claims.get(name) if isinstance(claims, dict) else None
        if isinstance(value, str) and len(value) == 9 and value.isdigit():
            return value
    return None
