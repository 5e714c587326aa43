"""The audit log: append-only and hash-chained, written in the same transaction as the change.

Each entry's hash is SHA-256 over the previous entry's hash and the canonical JSON form of the
entry (sequence number, time, actor, action, object, details). Entries are ordered by a gap-free
sequence number handed out by the single ``audit_head`` row, whose update locks it until the
writing transaction ends: concurrent writers queue, so the chain never forks.

Personal identifiers never enter the log in clear: pass them through :func:`identifier_ref`,
which stores a keyed hash. An entry that still holds a valid person number is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hdab.core import clock, runtime
from hdab.core.identifiers import contains_person_number
from hdab.core.models import GENESIS_HASH, AuditEntry, AuditHead

SYSTEM_ACTOR = "system"


class PersonalIdentifierInAudit(ValueError):
    """An audit entry carried a person number in clear."""


def identifier_ref(identifier: str) -> str:
    """A keyed hash standing in for a personal identifier in the audit log.

    The same identifier always gives the same reference (so an entry can be found for a person
    who asks, by an operator who holds the key), but the reference cannot be enumerated back.
    """
    key = hmac.new(runtime.settings().secret_key.encode(), b"hdab-audit-identifier", "sha256").digest()
    return "pid-hmac:" + hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _canonical_entry(entry: AuditEntry) -> str:
    return canonical_json(
        {
            "seq": entry.seq,
            "occurred_at": entry.occurred_at.isoformat(timespec="microseconds"),
            "actor": entry.actor,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "details": entry.details,
        }
    )


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256((entry.prev_hash + _canonical_entry(entry)).encode()).hexdigest()


def _refuse_identifiers(value: Any, where: str) -> None:
    if isinstance(value, str):
        if contains_person_number(value):
            raise PersonalIdentifierInAudit(
                f"audit {where} holds a person number; pass it through audit.identifier_ref()"
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_identifiers(str(key), where)
            _refuse_identifiers(item, where)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_identifiers(item, where)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction (it is kept or lost with the change itself)."""
    # Normalise the details to what JSON gives back, so the stored form is the hashed form.
    clean_details = json.loads(canonical_json(dict(details or {})))
    for where, value in (("actor", actor), ("object_id", object_id), ("details", clean_details)):
        _refuse_identifiers(value, where)
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash),
        execution_options={"synchronize_session": False},
    ).one()
    entry = AuditEntry(
        seq=head.seq,
        occurred_at=clock.now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=clean_details,
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(hash=entry.hash),
        execution_options={"synchronize_session": False},
    )
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries_checked: int
    bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session) -> Verification:
    """Walk the chain from the first entry; report the first entry that breaks it."""
    expected_seq = 1
    previous_hash = GENESIS_HASH
    checked = 0
    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000)
    ).scalars()
    for entry in rows:
        if entry.seq != expected_seq:
            return Verification(
                False,
                checked,
                expected_seq,
                f"entry {expected_seq} is missing (the next entry present is {entry.seq})",
            )
        if entry.prev_hash != previous_hash:
            return Verification(
                False,
                checked,
                entry.seq,
                f"entry {entry.seq} does not follow entry {entry.seq - 1} (previous hash differs):"
                " entries were removed, inserted or reordered",
            )
        if entry_hash(entry) != entry.hash:
            return Verification(
                False,
                checked,
                entry.seq,
                f"entry {entry.seq} was changed (its hash does not match)",
            )
        previous_hash = entry.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditHead, 1)
    last_seq = expected_seq - 1
    if head is None:
        return Verification(False, checked, None, "the chain head row is missing")
    if head.seq != last_seq or head.hash != previous_hash:
        return Verification(
            False,
            checked,
            last_seq + 1,
            f"the chain ends at entry {last_seq} but its head names entry {head.seq}:"
            " entries were removed from the end",
        )
    return Verification(True, checked)
