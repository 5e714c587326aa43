"""The audit log: append-only and MAC-chained, written in the same transaction as the change.

Each entry's ``hash`` is HMAC-SHA-256, under a key derived from ``HDAB_AUDIT_MAC_KEY``, over the
previous entry's ``hash`` and the canonical JSON form of the entry (sequence number, time, actor,
action, object, details): someone with database access but not the key cannot recompute the chain.
Entries written before the key was introduced carry a plain SHA-256 over the same input and keep
it; the chain switches to the MAC at the first keyed entry (the cut-over), and from there on every
entry must carry the MAC: a plain hash after the cut-over is a forgery.

Entries are ordered by a gap-free sequence number handed out by the single ``audit_head`` row,
whose update locks it until the writing transaction ends: concurrent writers queue, so the chain
never forks. A transaction takes its numbers when it commits (its entries wait in the session until
then), so the head is held for the commit only, not while the rest of the transaction runs.

The chain's head is also checkpointed outside the database (:func:`checkpoint` appends a signed
line to ``HDAB_AUDIT_CHECKPOINT_FILE``), and :func:`verify` requires the chain to reach every
checkpointed entry with the checkpointed value: cutting entries off the end and resetting the head,
or recomputing the whole chain, is caught even then.

Personal identifiers never enter the log in clear: pass them through :func:`identifier_ref`,
which stores a keyed hash. An entry that still holds a valid person number is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction

from hdab.core import clock, runtime
from hdab.core.db import sync_to_disk
from hdab.core.identifiers import contains_person_number
from hdab.core.models import GENESIS_HASH, AuditEntry, AuditHead

SYSTEM_ACTOR = "system"

logger = logging.getLogger(__name__)


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


def _derived_key(purpose: bytes, key: str | None = None) -> bytes:
    secret = runtime.settings().audit_mac_key if key is None else key
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def entry_hash(entry: AuditEntry, key: str | None = None) -> str:
    """The entry's MAC: HMAC-SHA-256 over the previous MAC and the entry (default key: the setting)."""
    message = (entry.prev_hash + _canonical_entry(entry)).encode()
    return hmac.new(_derived_key(b"hdab-audit-chain", key), message, hashlib.sha256).hexdigest()


def legacy_entry_hash(entry: AuditEntry) -> str:
    """The unkeyed SHA-256 of entries written before the chain was keyed (verified, never written)."""
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
    """Append an entry in the caller's transaction (it is kept or lost with the change itself).

    The entry is checked and timed now and joins the chain when the transaction commits (see
    :func:`write_pending`): the chain's head stays locked only for the commit, not for the rest of
    the transaction. Inside a savepoint it is written at once, so that the savepoint's rollback
    takes it away with the rest.
    """
    # Normalise the details to what JSON gives back, so the stored form is the hashed form.
    clean_details = json.loads(canonical_json(dict(details or {})))
    for where, value in (("actor", actor), ("object_id", object_id), ("details", clean_details)):
        _refuse_identifiers(value, where)
    entry = AuditEntry(
        occurred_at=clock.now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=clean_details,
    )
    if session.in_nested_transaction():
        _chain(session, [entry])
    else:
        session.info.setdefault(_PENDING, []).append(entry)
    return entry


_PENDING = "hdab.audit.pending"


def write_pending(session: Session) -> int:
    """Chain and write the entries the transaction recorded so far; how many (commit does it too)."""
    entries: list[AuditEntry] = session.info.pop(_PENDING, [])
    if entries:
        _chain(session, entries)
    return len(entries)


def _chain(session: Session, entries: list[AuditEntry]) -> None:
    # Taking the numbers locks the single head row until the transaction ends: concurrent writers
    # queue here, so the chain never forks. Done last in the transaction, it is held for the commit.
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + len(entries))
        .returning(AuditHead.seq, AuditHead.hash),
        execution_options={"synchronize_session": False},
    ).one()
    previous = head.hash
    for seq, entry in enumerate(entries, start=head.seq - len(entries) + 1):
        entry.seq = seq
        entry.prev_hash = previous
        entry.hash = previous = entry_hash(entry)
    new_head = update(AuditHead).where(AuditHead.id == 1).values(hash=previous)
    if session.get_bind().dialect.name == "postgresql":
        # the entries and the head's new hash in one round trip: the head is held for less
        written = insert(AuditEntry).values([_row(entry) for entry in entries]).cte("written_entries")
        session.execute(new_head.add_cte(written), execution_options={"synchronize_session": False})
        return
    session.add_all(entries)
    session.flush()
    session.execute(new_head, execution_options={"synchronize_session": False})


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _write_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release is not the commit
        write_pending(session)


def _drop_when_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction ended: what it did not write is gone
        session.info.pop(_PENDING, None)


if not event.contains(Session, "before_commit", _write_before_commit):
    event.listen(Session, "before_commit", _write_before_commit)
    event.listen(Session, "after_transaction_end", _drop_when_ended)


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries_checked: int
    bad_seq: int | None = None
    problem: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    checkpoints_checked: int = 0
    last_legacy: int = 0  # the last entry with a plain SHA-256 (0: none)


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment, signed with the audit key and kept outside the database."""

    seq: int
    hash: str
    at: str
    signature: str
    # the last entry that carries the unkeyed SHA-256 of before the key (0: none); from the first
    # checkpoint on, a plain hash after it is a forgery even when no keyed entry is left to say so
    legacy_until: int | None = None

    def line(self) -> str:
        data: dict[str, Any] = {
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "signature": self.signature,
        }
        if self.legacy_until is not None:
            data["legacy_until"] = self.legacy_until
        return canonical_json(data)


class CheckpointError(ValueError):
    """The checkpoint file cannot be read or holds a line not signed with the audit key."""


def _checkpoint_signature(seq: int, value: str, at: str, key: bytes, legacy_until: int | None = None) -> str:
    signed: dict[str, Any] = {"seq": seq, "hash": value, "at": at}
    if legacy_until is not None:
        signed["legacy_until"] = legacy_until
    message = canonical_json(signed).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _checkpoint_path(path: Path | None) -> Path:
    if path is not None:
        return path
    configured = runtime.settings().audit_checkpoint_file
    assert configured is not None  # filled in by the settings
    return configured


def read_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint in the file (none when it does not exist); a bad or forged line is an error."""
    path = _checkpoint_path(path)
    if not path.exists():
        return []
    key = _derived_key(b"hdab-audit-checkpoint")
    checkpoints: list[Checkpoint] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint file {path} cannot be read: {exc.__class__.__name__}") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            found = Checkpoint(
                seq=int(data["seq"]),
                hash=str(data["hash"]),
                at=str(data["at"]),
                signature=str(data["signature"]),
                legacy_until=int(data["legacy_until"]) if "legacy_until" in data else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CheckpointError(f"checkpoint file {path} line {number} is not a checkpoint") from None
        expected = _checkpoint_signature(found.seq, found.hash, found.at, key, found.legacy_until)
        if not hmac.compare_digest(expected, found.signature):
            raise CheckpointError(
                f"checkpoint file {path} line {number} is not signed with HDAB_AUDIT_MAC_KEY"
            )
        checkpoints.append(found)
    return checkpoints


def verify(session: Session, checkpoint_file: Path | None = None) -> Verification:
    """Walk the chain from the first entry; report the first entry that breaks it.

    Entries before the cut-over may carry the legacy SHA-256; from the first keyed entry on, each
    must carry the MAC. The chain must also reach every checkpoint (``checkpoint_file``, default
    ``HDAB_AUDIT_CHECKPOINT_FILE``) with the checkpointed value.
    """
    try:
        checkpoints = read_checkpoints(checkpoint_file)
    except CheckpointError as exc:
        return Verification(False, 0, None, str(exc))
    by_seq: dict[int, Checkpoint] = {}
    for found in checkpoints:
        other = by_seq.setdefault(found.seq, found)
        if other.hash != found.hash:
            return Verification(
                False,
                0,
                found.seq,
                f"the checkpoints taken at {other.at} and {found.at} disagree on entry {found.seq}",
            )
    if 0 in by_seq and by_seq[0].hash != GENESIS_HASH:
        return Verification(False, 0, 0, "the checkpoint of the empty chain names a hash")
    # where plain hashes end, as the first checkpoint recorded it (outside the database)
    legacy_until = next((c.legacy_until for c in checkpoints if c.legacy_until is not None), None)
    chain_key = _derived_key(b"hdab-audit-chain")
    last_legacy = 0
    expected_seq = 1
    previous_hash = GENESIS_HASH
    keyed = False  # past the cut-over: every entry from here on must carry the MAC
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
        message = (entry.prev_hash + _canonical_entry(entry)).encode()
        if hmac.compare_digest(hmac.new(chain_key, message, hashlib.sha256).hexdigest(), entry.hash):
            keyed = True
        elif legacy_until is not None and entry.seq > legacy_until and legacy_entry_hash(entry) == entry.hash:
            return Verification(
                False,
                checked,
                entry.seq,
                f"entry {entry.seq} carries a plain hash, but the checkpoints say plain hashes ended at"
                f" entry {legacy_until}: the chain was rewritten",
            )
        elif (
            keyed
            or (legacy_until is not None and entry.seq > legacy_until)
            or legacy_entry_hash(entry) != entry.hash
        ):
            return Verification(
                False,
                checked,
                entry.seq,
                f"entry {entry.seq} was changed (its hash does not match)",
            )
        mark = by_seq.get(entry.seq)
        if mark is not None and mark.hash != entry.hash:
            return Verification(
                False,
                checked,
                entry.seq,
                f"entry {entry.seq} differs from the checkpoint taken at {mark.at}: the chain was rewritten",
            )
        if not keyed:
            last_legacy = entry.seq
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
    beyond = [found for found in checkpoints if found.seq > last_seq]
    if beyond:
        latest = max(beyond, key=lambda found: found.seq)
        return Verification(
            False,
            checked,
            last_seq + 1,
            f"the chain ends at entry {last_seq} but the checkpoint taken at {latest.at} names entry"
            f" {latest.seq}: entries were removed from the end",
        )
    return Verification(True, checked, None, None, last_seq, previous_hash, len(checkpoints), last_legacy)


def checkpoint(session: Session, checkpoint_file: Path | None = None) -> Checkpoint:
    """Verify the chain, then append its last entry, signed, to the checkpoint file.

    A broken chain is never checkpointed (:class:`ChainBroken`). Entries appended while this runs
    are covered by the next checkpoint.
    """
    result = verify(session, checkpoint_file)
    if not result.ok:
        raise ChainBroken(result)
    path = _checkpoint_path(checkpoint_file)
    at = clock.now().isoformat(timespec="microseconds")
    legacy_until = result.last_legacy
    signature = _checkpoint_signature(
        result.last_seq, result.last_hash, at, _derived_key(b"hdab-audit-checkpoint"), legacy_until
    )
    made = Checkpoint(result.last_seq, result.last_hash, at, signature, legacy_until)
    # the entries it names are on the disk before the file names them: a power cut must not
    # leave a checkpoint beyond the end of the chain (a false alarm of entries cut off)
    bind = session.get_bind()
    sync_to_disk(bind if isinstance(bind, Engine) else bind.engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(made.line() + "\n")
        out.flush()
        os.fsync(out.fileno())
    logger.info("audit checkpoint: entry %d, hash %s, at %s, in %s", made.seq, made.hash, made.at, path)
    return made


def ensure_checkpoint(session: Session, checkpoint_file: Path | None = None) -> Checkpoint | None:
    """Take the first checkpoint when there is none yet (at start-up): it fixes where plain hashes end.

    Without it, someone with database access could rewrite the whole chain as plain SHA-256 before
    the first scheduled checkpoint, and nothing outside the database would say otherwise.
    """
    path = _checkpoint_path(checkpoint_file)
    if path.exists():
        return None
    return checkpoint(session, path)


class ChainBroken(Exception):
    """The chain did not verify, so it was not checkpointed."""

    def __init__(self, result: Verification) -> None:
        super().__init__(result.problem)
        self.result = result
