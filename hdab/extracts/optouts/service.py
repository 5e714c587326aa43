"""Use cases of the opt-out registry (Art. 71). The caller's edge commits; nothing here commits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hdab.core import audit, clock, runtime
from hdab.core.auth import Principal
from hdab.core.errors import Conflict, Forbidden, InvalidInput
from hdab.extracts.optouts import repository
from hdab.extracts.optouts.domain import Action, parse_import, person_hash
from hdab.extracts.optouts.models import OptOutEvent


def _hash(identifier: str) -> str:
    return person_hash(runtime.settings().optout_hash_key, identifier)


def opted_out(session: Session, person: str, at: datetime) -> bool:
    """Whether the person (by keyed hash) was opted out at ``at``: the latest event up to then decides."""
    return session.scalars(repository.latest_action(person, at)).first() == Action.OPT_OUT


def _citizen_hash(principal: Principal) -> str:
    if principal.national_id is None:
        raise Forbidden("your sign-in carries no national identity number (the pid claim)")
    return _hash(principal.national_id)


def citizen_status(session: Session, principal: Principal) -> bool:
    return opted_out(session, _citizen_hash(principal), clock.now())


def citizen_record(session: Session, principal: Principal, action: Action) -> datetime:
    """A citizen opts out (or reverses it) now; doing what is already so is a 409."""
    person = _citizen_hash(principal)
    now = clock.now()
    currently = opted_out(session, person, now)
    if currently == (action is Action.OPT_OUT):
        raise Conflict("you have already opted out" if currently else "you have not opted out")
    session.add(OptOutEvent(person=person, action=action.value, at=now, recorded_at=now, source="citizen"))
    audit.record(
        session,
        actor=principal.actor,
        action=f"optout.{action.value}",
        object_type="optout",
        object_id=f"pid-hmac:{person[:16]}",
    )
    return now


@dataclass(frozen=True)
class ImportResult:
    lines: int
    added: int
    file_sha256: str


def import_registry(session: Session, actor: str, text: str) -> ImportResult:
    """Import an external registry file: all lines or none; an event already known is not added twice."""
    settings = runtime.settings()
    lines, errors = parse_import(text, allow_synthetic=not settings.is_production)
    if errors:
        raise InvalidInput(f"the file has {len(errors)} invalid lines; nothing was imported", errors[:200])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    now = clock.now()
    rows = [
        {
            "person": _hash(line.identifier),
            "action": line.action.value,
            "at": line.time,
            "recorded_at": now,
            "source": f"import:{digest[:32]}",
        }
        for line in lines
    ]
    before = session.scalar(repository.event_count()) or 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 5000):
        session.execute(insert(OptOutEvent).values(rows[start : start + 5000]).on_conflict_do_nothing())
    added = (session.scalar(repository.event_count()) or 0) - before
    audit.record(
        session,
        actor=actor,
        action="optout.import",
        object_type="optout_registry",
        object_id=digest,
        details={"lines": len(lines), "added": added},
    )
    return ImportResult(len(lines), added, digest)


@dataclass(frozen=True)
class RegistryState:
    """Which state of the registry a reading used: enough to reproduce and to prove it."""

    events: int
    last_event_id: int
    last_recorded_at: datetime | None


def registry_state(session: Session, recorded_by: datetime) -> RegistryState:
    count, last_id, last_recorded = session.execute(repository.state_at(recorded_by)).one()
    return RegistryState(int(count or 0), int(last_id or 0), last_recorded)


def opted_out_at(session: Session, at: datetime, recorded_by: datetime) -> frozenset[str]:
    """Everyone (by keyed hash) opted out at ``at``, as the registry knew it at ``recorded_by``."""
    return frozenset(session.scalars(repository.opted_out_at(at, recorded_by)))
