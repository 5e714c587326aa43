"""Receiving a message: headers, proof claims, type, authorisation, keys, decryption, schema, order, store.

The checks run in SLASH's order and each refusal names its code (:mod:`hdab.reception.domain`).
An accepted message is stored, in the caller's transaction, with every record as a new version of
its (unit, message type, local id): the message itself (its payload encrypted under the storage
key), a key row per record the unit has not sent before, a version row per record or deletion, and
the unit's stream moved on by one. The caller commits before it answers 200.

Order: a unit's messages of one type carry the sequence numbers 1, 2, 3, ... (header
``x-message-sequence``); the stream's row is locked while a message is checked and stored, so two
messages of one unit never interleave, and a number skipped or sent twice with another payload is
refused. The same message sent again (same number, same hash) gets the first receipt again and is
stored once.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hdab.core import clock, dpop
from hdab.core.auth import Principal, Role
from hdab.reception import crypto
from hdab.reception.domain import (
    EXTRACTION_HEADER,
    PROOF_CLAIMS,
    SEQUENCE_HEADER,
    VENDOR_HEADERS,
    Code,
    Error,
    Receipt,
    Refused,
    refused,
)
from hdab.reception.keys import ExpiredKey, ReceiverKeys, UnknownKey
from hdab.reception.models import Message, RecordKey, RecordVersion, Rejection, Stream, Submitter
from hdab.reception.types import Item, MessageType, message_type

# A message's recorded_at is taken when its checks begin; compaction reads only messages received
# more than COMPACTION_GRACE ago, and a message whose store would commit later than MAX_STORE_DELAY
# after its recorded_at is refused (503, the sender retries): so no message can commit behind the
# compaction watermark, and an extract "as known at T" sees exactly what was received by T.
MAX_STORE_DELAY = timedelta(seconds=10)
COMPACTION_GRACE = timedelta(seconds=30)
CHUNK = 500


@dataclass(frozen=True)
class Submission:
    """One POST as the receiver saw it: the body, the headers, the DPoP proof's claims and the caller."""

    body: bytes
    headers: Mapping[str, str]  # lower-case names
    proof: Mapping[str, Any]
    principal: Principal
    supplier: str | None  # the EPJ vendor sending for the unit (HelseID orgnr_supplier), if any


@dataclass(frozen=True)
class Checked:
    """A message that passed every check but order: ready to store."""

    type: MessageType
    unit: str
    sequence: int
    extraction: date
    software: dict[str, str]
    plaintext: bytes
    msg_hash: str
    items: list[Item]


def receive(
    session: Session,
    submission: Submission,
    keys: ReceiverKeys,
    storage_key: bytes,
    *,
    correlation_id: str,
    dry_run: bool = False,
) -> Receipt:
    """Check ``submission`` and (unless ``dry_run``) store it; raises :class:`Refused` with the reasons.

    The DPoP proof's jti is recorded first, in this transaction: a replay is refused before anything
    else, and an accepted message costs one commit. (A refused message's transaction is rolled back;
    the receiver records that proof's jti with the refusal.)"""
    try:
        dpop.remember_in(session, str(submission.proof.get("jti", "")))
    except dpop.InvalidProof as exc:
        raise refused(Code.NOT_AUTHENTICATED, exc.detail) from None
    checked = check(session, submission, keys)
    stream = _locked_stream(session, checked.unit, checked.type.name, dry_run=dry_run)
    # taken under the stream's lock: a unit's later message is always received after its earlier one
    received_at = clock.now()
    last = stream.last_sequence if stream is not None else 0
    earlier = (
        session.scalars(
            select(Message).where(
                Message.unit == checked.unit,
                Message.message_type == checked.type.name,
                Message.sequence == checked.sequence,
            )
        ).one_or_none()
        if checked.sequence <= last  # a number not yet accepted has no message to send again
        else None
    )
    if earlier is not None:
        if hmac.compare_digest(earlier.msg_hash, checked.msg_hash):
            # the same message again: the same receipt, nothing stored twice
            return Receipt(
                earlier.id, not dry_run, (), earlier.records, earlier.deletions, earlier.sequence, dry_run
            )
        raise refused(
            Code.SEQUENCE_ALREADY_USED,
            f"message {checked.sequence} of this unit and type was accepted with another payload",
            SEQUENCE_HEADER,
        )
    if checked.sequence != last + 1:
        raise refused(
            Code.OUT_OF_ORDER,
            f"the next message of this unit and type must be number {last + 1}",
            SEQUENCE_HEADER,
            {"expected": last + 1, "received": checked.sequence},
        )
    if stream is not None and stream.last_extraction and checked.extraction < stream.last_extraction:
        raise refused(
            Code.EXTRACTION_DATE_BACKWARDS,
            "the extraction date is earlier than that of the last accepted message",
            EXTRACTION_HEADER,
        )
    records = sum(1 for i in checked.items if i.values is not None)
    deletions = len(checked.items) - records
    if dry_run:
        return Receipt(correlation_id, False, (), records, deletions, checked.sequence, True)
    assert stream is not None
    _store(session, checked, stream, submission, correlation_id, received_at, storage_key)
    if clock.now() - received_at > MAX_STORE_DELAY:
        raise refused(Code.STORAGE_ERROR, "storing the message took too long; send it again")
    return Receipt(correlation_id, True, (), records, deletions, checked.sequence)


def check(session: Session, submission: Submission, keys: ReceiverKeys) -> Checked:
    """Every check that needs no lock, in SLASH's order."""
    extraction, sequence, software = _headers(submission.headers)
    claims = _proof_claims(submission.proof)
    kind = message_type(claims["msg_type"], claims["msg_version"])
    if kind is None:
        raise refused(
            Code.INVALID_MESSAGE_TYPE_VERSION,
            f"no message type {claims['msg_type']!r} version {claims['msg_version']!r}"
            " (see /api/reception/types)",
            "msg_type",
        )
    unit = authorise(session, submission.principal, kind)
    plaintext = _decrypt(submission.body, claims, keys)
    items = _validated(kind, plaintext)
    return Checked(kind, unit, sequence, extraction, software, plaintext, claims["msg_hash"], items)


def _headers(headers: Mapping[str, str]) -> tuple[date, int, dict[str, str]]:
    missing = [
        h for h in (*VENDOR_HEADERS, EXTRACTION_HEADER, SEQUENCE_HEADER) if not headers.get(h, "").strip()
    ]
    if missing:
        raise Refused(*(Error(Code.HTTP_HEADER_MISSING, f"the header {h} is missing", h) for h in missing))
    errors = [
        Error(Code.HTTP_HEADER_VALIDATION, f"the header {h} is longer than 200 characters", h)
        for h in VENDOR_HEADERS
        if len(headers[h]) > 200
    ]
    try:
        day, month, year = headers[EXTRACTION_HEADER].strip().split(".")
        if not (len(day) == 2 and len(month) == 2 and len(year) == 4):
            raise ValueError
        extraction = date(int(year), int(month), int(day))
    except ValueError:
        errors.append(Error(Code.HTTP_HEADER_VALIDATION, "the date must be dd.MM.yyyy", EXTRACTION_HEADER))
        extraction = date.min
    else:
        if extraction > clock.now_oslo().date():
            errors.append(
                Error(Code.HTTP_HEADER_VALIDATION, "the extraction date is in the future", EXTRACTION_HEADER)
            )
    raw_sequence = headers[SEQUENCE_HEADER].strip()
    sequence = int(raw_sequence) if raw_sequence.isascii() and raw_sequence.isdigit() else 0
    if not 1 <= sequence < 2**62:
        errors.append(
            Error(Code.HTTP_HEADER_VALIDATION, "the sequence must be a whole number from 1", SEQUENCE_HEADER)
        )
    if errors:
        raise Refused(*errors)
    return extraction, sequence, {h: headers[h].strip() for h in VENDOR_HEADERS}


def _proof_claims(proof: Mapping[str, Any]) -> dict[str, str]:
    missing = [c for c in PROOF_CLAIMS if c not in proof]
    if missing:
        raise Refused(
            *(Error(Code.MISSING_SIGNATURE_CLAIM, f"the DPoP proof has no claim {c}", c) for c in missing)
        )
    bad = [c for c in PROOF_CLAIMS if not isinstance(proof[c], str) or not 0 < len(proof[c]) <= 2048]
    if bad:
        raise Refused(*(Error(Code.BAD_SIGNATURE_CLAIM, f"the claim {c} must be a string", c) for c in bad))
    return {c: str(proof[c]) for c in PROOF_CLAIMS}


def authorise(session: Session, principal: Principal, kind: MessageType) -> str:
    """The reporting unit the token speaks for, if it is registered and may send this type."""
    if not principal.has_role(Role.SUBMITTER):
        raise refused(Code.ORGANISATION_NOT_ALLOWED_MESSAGE_TYPE, "the token does not grant reporting")
    unit = principal.organisation
    if unit is None:
        raise refused(Code.MISSING_ORGANISATION_NUMBER_CLAIM, "the token names no organisation number")
    submitter = session.get(Submitter, unit)
    if submitter is None or not submitter.active or submitter.kind != "unit":
        raise refused(
            Code.ORGANISATION_NOT_ALLOWED_MESSAGE_TYPE, "the organisation is not a registered reporting unit"
        )
    if kind.name not in submitter.message_types:
        raise refused(
            Code.ORGANISATION_NOT_ALLOWED_MESSAGE_TYPE,
            f"the organisation may not send {kind.name}",
            "msg_type",
        )
    return unit


def _decrypt(body: bytes, claims: Mapping[str, str], keys: ReceiverKeys) -> bytes:
    try:
        expected = crypto.b64url_decode(claims["msg_hash"])
    except ValueError:
        expected = b""
    if len(expected) != 32:
        raise refused(Code.INVALID_DIGEST, "msg_hash must be base64url of a SHA-256 digest", "msg_hash")
    try:
        private = keys.private(claims["enc_key_id"])
    except UnknownKey:
        raise refused(
            Code.INVALID_KEY_ID, "no key of that id: fetch /api/reception/keys", "enc_key_id"
        ) from None
    except ExpiredKey:
        raise refused(
            Code.EXPIRED_KEY, "that key has expired: fetch /api/reception/keys", "enc_key_id"
        ) from None
    try:
        key = crypto.unwrap(claims["enc_sym_key"], private)
    except crypto.UnwrapFailed:
        raise refused(
            Code.DECRYPTION_ERROR_FOR_ASYMMETRICAL_KEY,
            "enc_sym_key does not unwrap under that key",
            "enc_sym_key",
        ) from None
    try:
        plaintext = crypto.open_body(body, key)
    except crypto.DecryptFailed:
        raise refused(
            Code.DECRYPTION_ERROR_FOR_SYMMETRICAL_KEY, "the body does not decrypt (AES-256-GCM) under the key"
        ) from None
    if not hmac.compare_digest(crypto.message_hash(plaintext), claims["msg_hash"]):
        raise refused(Code.PAYLOAD_HASH_MISMATCH, "the payload's SHA-256 is not msg_hash", "msg_hash")
    return plaintext


def _validated(kind: MessageType, plaintext: bytes) -> list[Item]:
    try:
        payload = json.loads(plaintext)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise refused(Code.INVALID_JSON_MESSAGE, "the decrypted payload is not JSON") from None
    problems = kind.problems(payload)
    if problems:
        details = [{"Location": p.location, "Errors": [{"Value": p.message}]} for p in problems]
        raise refused(Code.SCHEMA_VALIDATION_FAILED, "the payload does not follow the schema", None, details)
    items = list(kind.items(payload))
    seen: set[str] = set()
    twice = sorted({i.local_id for i in items if i.local_id in seen or seen.add(i.local_id)})  # type: ignore[func-returns-value]
    if twice:
        raise refused(
            Code.DUPLICATE_LOCAL_ID,
            f"{len(twice)} record(s) appear more than once in the message",
            kind.local_id,
            {"count": len(twice)},
        )
    return items


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _locked_stream(session: Session, unit: str, kind: str, *, dry_run: bool) -> Stream | None:
    """The unit's stream of this type, locked until the transaction ends (made on its first message)."""
    query = select(Stream).where(Stream.unit == unit, Stream.message_type == kind)
    if dry_run:
        return session.scalars(query).one_or_none()
    found = session.scalars(query.with_for_update()).one_or_none()
    if found is None:
        session.execute(
            _insert(session)(Stream)
            .values(
                unit=unit,
                message_type=kind,
                last_sequence=0,
                messages=0,
                records=0,
                missing_days=0,
                lag_seconds=0,
            )
            .on_conflict_do_nothing()
        )
        found = session.scalars(query.with_for_update()).one_or_none()
    return found


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _store(
    session: Session,
    checked: Checked,
    stream: Stream,
    submission: Submission,
    correlation_id: str,
    received_at: datetime,
    storage_key: bytes,
) -> None:
    kind = checked.type
    records = sum(1 for i in checked.items if i.values is not None)
    session.add(
        Message(
            id=correlation_id,
            unit=checked.unit,
            supplier=submission.supplier,
            client=submission.principal.actor,
            message_type=kind.name,
            message_version=kind.version,
            dataset=kind.dataset,
            sequence=checked.sequence,
            msg_hash=checked.msg_hash,
            extraction_date=checked.extraction,
            received_at=received_at,
            records=records,
            deletions=len(checked.items) - records,
            software=checked.software,
            sealed=crypto.store_seal(checked.plaintext, storage_key, correlation_id),
            compacted=False,
        )
    )
    # one statement for every record's key: made on its first version, its latest version moved on
    # by one otherwise; it returns each record's key and its new version (a deletion of a record
    # never received is a tombstone of a key of its own, version 1: the unit said so)
    upsert = _insert(session)(RecordKey)
    upsert = upsert.on_conflict_do_update(
        index_elements=[RecordKey.unit, RecordKey.message_type, RecordKey.local_id],
        set_={"latest_version": RecordKey.latest_version + 1},
    ).returning(RecordKey.id, RecordKey.local_id, RecordKey.latest_version)
    known: dict[str, tuple[int, int]] = {}
    for chunk in _chunks([i.local_id for i in checked.items]):
        rows = [
            {"unit": checked.unit, "message_type": kind.name, "local_id": lid, "latest_version": 1}
            for lid in chunk
        ]
        for key_id, local_id, version in session.execute(upsert, rows):
            known[local_id] = (key_id, version)
    versions = [
        {
            "key_id": known[item.local_id][0],
            "version": known[item.local_id][1],
            "message_id": correlation_id,
            "item": index,
            "recorded_at": received_at,
            "deleted": item.values is None,
        }
        for index, item in enumerate(checked.items)
    ]
    session.flush()  # the message before the versions that name it
    session.execute(insert(RecordVersion), versions)
    skipped = (checked.extraction - stream.last_extraction).days - 1 if stream.last_extraction else 0
    lag = received_at - datetime.combine(checked.extraction, datetime.min.time(), tzinfo=received_at.tzinfo)
    stream.last_sequence = checked.sequence
    stream.last_extraction = checked.extraction
    stream.last_received_at = received_at
    stream.messages += 1
    stream.records += len(versions)
    stream.missing_days += max(0, skipped)
    stream.lag_seconds += max(0, int(lag.total_seconds()))
    session.flush()


def record_rejection(session: Session, unit: str, kind: str, errors: Sequence[Error]) -> None:
    session.add(
        Rejection(unit=unit, message_type=kind[:60], codes=[int(e.code) for e in errors], at=clock.now())
    )


def count_messages(session: Session, unit: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Message).where(Message.unit == unit)) or 0)
