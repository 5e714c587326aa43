"""Use cases of the applications domain: create a case, run a command, read what the caller may see.

A command runs as: lock the case -> load its events -> fold -> check the permission table and run
the pure handler -> append the events -> rebuild the read model -> side effects in the same
transaction (permit versions signed, outbox messages, notifications, audit). The caller's edge
commits; nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hdab.applications import flows, handlers, repository
from hdab.applications.domain import ApplicationForm, CaseType, Status
from hdab.applications.handlers import Actor, CaseRole, Command, Context, NotPermitted, Rejected
from hdab.applications.models import (
    Application,
    ApplicationEvent,
    ApplicationMember,
    Permit,
    PermitVersionRow,
)
from hdab.applications.state import CaseState, Event, Identity, apply, case_deadlines, fold, next_due
from hdab.catalog import api as catalog
from hdab.core import audit, clock, runtime
from hdab.core.auth import Principal, Role
from hdab.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, ProblemError

SYSTEM = Actor(audit.SYSTEM_ACTOR, frozenset({CaseRole.SYSTEM}))
_STAFF = {
    Role.CASEWORKER: CaseRole.CASEWORKER,
    Role.DECISION_MAKER: CaseRole.DECISION_MAKER,
    Role.ADMIN: CaseRole.ADMIN,
}


@dataclass(frozen=True)
class Loaded:
    row: Application
    state: CaseState
    members: frozenset[str]  # the sign-in subjects bound to persons named in the case
    named: tuple[ApplicationMember, ...] = ()  # the persons named in the case, as loaded


def validation_errors(exc: ValidationError, where: str = "") -> list[FieldError]:
    return [
        FieldError(".".join(p for p in [where, *(str(x) for x in e["loc"])] if p), e["msg"])
        for e in exc.errors()[:50]
    ]


def _events(session: Session, case_id: str) -> list[Event]:
    rows = session.scalars(repository.events(case_id))
    return [Event(r.type, r.actor, r.at, r.data) for r in rows]


def load(session: Session, case_id: str, *, lock: bool = False) -> Loaded:
    """The case and its folded state; ``lock`` serialises commands on it until the transaction ends."""
    query = select(Application).where(Application.id == case_id)
    if lock:
        if session.get_bind().dialect.name == "sqlite":
            begin_command(session)
        else:
            query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise NotFound(f"no application {case_id}")
    state = fold(row.id, CaseType(row.kind), row.owner, _events(session, row.id))
    named = tuple(session.scalars(repository.members(row.id)))
    return Loaded(row, state, frozenset(m.subject for m in named if m.subject), named)


def begin_command(session: Session) -> None:
    """Make the session's transaction the database's one writer before it reads (SQLite only).

    A SQLite transaction that has read and then writes fails at once if another wrote meanwhile;
    one that writes first waits its turn (busy timeout) and then reads what is current. PostgreSQL
    needs nothing here: :func:`load` locks the case's row.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Application).where(Application.id.is_(None)).values(version=Application.version),
            execution_options={"synchronize_session": False},
        )


def may_see(principal: Principal, loaded: Loaded) -> bool:
    """The rule of :func:`repository.visible_to`, for one case already loaded."""
    row = loaded.row
    mine = row.owner == principal.actor or principal.actor in loaded.members
    if principal.has_role(*repository.STAFF_ROLES):
        return row.status != Status.DRAFT.value or row.owner == principal.actor
    return principal.has_role(Role.APPLICANT) and mine


def case_roles(principal: Principal, loaded: Loaded) -> frozenset[CaseRole]:
    roles = {role for hdab_role, role in _STAFF.items() if principal.has_role(hdab_role)}
    if principal.has_role(Role.APPLICANT) and (
        loaded.row.owner == principal.actor or principal.actor in loaded.members
    ):
        roles.add(CaseRole.APPLICANT)
    return frozenset(roles)


def identity(principal: Principal) -> Identity:
    """The principal as a person: subject@issuer, verified email, keyed hash of the national id."""
    pid = audit.identifier_ref(principal.national_id) if principal.national_id else None
    return Identity(principal.actor, principal.email, pid)


def actor_of(principal: Principal, loaded: Loaded) -> Actor:
    person = identity(principal)
    return Actor(person.actor, case_roles(principal, loaded), person.email, person.pid)


def known_parties(loaded: Loaded) -> tuple[Identity, ...]:
    """The owner as the store knows it beyond the event log: with the email it signed in with."""
    return (Identity(loaded.row.owner, loaded.row.owner_email),)


def known_members(loaded: Loaded) -> tuple[Identity, ...]:
    """The sign-in subjects bound to the persons named in the application."""
    return tuple(Identity(subject) for subject in sorted(loaded.members))


def allowed(principal: Principal, loaded: Loaded) -> list[str]:
    """The commands the caller may use on the case now: by role and status, less what impartiality bars."""
    return handlers.allowed_commands(
        loaded.state,
        case_roles(principal, loaded),
        person=identity(principal),
        parties=known_parties(loaded),
        members=known_members(loaded),
    )


def conflict_of_interest(principal: Principal, loaded: Loaded, *, deciding: bool = True) -> str | None:
    """Why the caller may not act as staff on this case whatever their roles (None: they may).

    ``deciding``: the act decides (a decision, a release of data), so an assessor of the case is
    barred too; otherwise only the applicant's side and the persons named in the case are.
    """
    return handlers.impartiality(
        loaded.state,
        identity(principal),
        parties=known_parties(loaded),
        members=known_members(loaded),
        deciding=deciding,
    )


def visible(session: Session, principal: Principal, case_id: str) -> Loaded:
    """The case if the caller may see it; otherwise 404, as if it did not exist."""
    loaded = load(session, case_id)
    if not may_see(principal, loaded):
        raise NotFound(f"no application {case_id}")
    return loaded


def case_of_permit(session: Session, principal: Principal, permit_id: str) -> str:
    """The case behind a permit the caller may see; otherwise 404, naming the permit only."""
    permit = session.get(Permit, permit_id)
    if permit is None:
        raise NotFound(f"no permit {permit_id}")
    try:
        visible(session, principal, permit.application_id)
    except NotFound:
        raise NotFound(f"no permit {permit_id}") from None  # never name the case behind it
    return permit.application_id


def permit_versions(session: Session, permit_id: str) -> Sequence[PermitVersionRow]:
    """Every version of a permit, oldest first."""
    return session.scalars(
        select(PermitVersionRow)
        .where(PermitVersionRow.permit_id == permit_id)
        .order_by(PermitVersionRow.version)
    ).all()


@contextmanager
def all_or_nothing(session: Session) -> Iterator[None]:
    """Run a use case so that its refusal leaves the transaction as it was before (a savepoint).

    A page that shows a refused command's errors answers normally, and its edge commits: what the
    request did before the command (a saved section of the form) stays, the command's own writes
    do not. The error goes on to the caller.
    """
    with session.begin_nested():
        yield


def _context(session: Session, loaded: Loaded | None = None) -> Context:
    return Context(
        variables=catalog.variable_lookup(session),
        new_permit_id=new_permit_id,
        parties=known_parties(loaded) if loaded is not None else (),
        members=known_members(loaded) if loaded is not None else (),
    )


def new_permit_id() -> str:
    """A persistent permit identifier: readable, unique, never reused."""
    return f"NO-HDAB-{clock.now_oslo().year}-{uuid.uuid4().hex[:10].upper()}"


def create(session: Session, principal: Principal, kind: CaseType, form: ApplicationForm) -> Loaded:
    if not principal.has_role(Role.APPLICANT):
        raise Forbidden("only applicants create applications")
    now = clock.now()
    row = Application(
        id=str(uuid.uuid4()),
        kind=kind.value,
        owner=principal.actor,
        owner_email=principal.email,
        status=Status.DRAFT.value,
        version=0,
        datasets=[],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    by = identity(principal).refs()  # so that a later command recognises the applicant by any token
    event = Event(
        "created",
        principal.actor,
        now,
        {"kind": kind.value, "form": _form_json(form), **({"by": by} if by else {})},
    )
    state = fold(row.id, kind, row.owner, [])
    _append(session, row, state, [event], ())
    audit.record(
        session,
        actor=principal.actor,
        action="application.created",
        object_type="application",
        object_id=row.id,
    )
    return Loaded(row, state, frozenset())


def _form_json(form: ApplicationForm) -> dict[str, Any]:
    return form.model_dump(mode="json", exclude_none=True)


def update_draft(session: Session, principal: Principal, case_id: str, changes: Mapping[str, Any]) -> Loaded:
    """Merge ``changes`` (top-level form fields) into the draft and store it as a ``draft_updated`` event."""
    begin_command(session)
    loaded = visible(session, principal, case_id)
    merged = {**_form_json(loaded.state.form), **changes}
    try:
        form = ApplicationForm.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput("the draft is not valid; see errors", validation_errors(exc)) from None
    return execute(session, principal, case_id, "update-draft", form)


def parse_payload(name: str, body: Mapping[str, Any] | None) -> Any:
    model = handlers.PAYLOADS.get(name)
    if model is None:
        raise NotFound(f"there is no command {name!r}; commands: {', '.join(sorted(handlers.PAYLOADS))}")
    try:
        return model.model_validate(body or {})
    except ValidationError as exc:
        raise InvalidInput(f"the body of {name!r} is not valid; see errors", validation_errors(exc)) from None


def execute(session: Session, principal: Principal | None, case_id: str, name: str, payload: Any) -> Loaded:
    """Run one command on one case for ``principal`` (None: the scheduler)."""
    loaded = load(session, case_id, lock=True)
    if principal is None:
        actor = SYSTEM
    else:
        if not may_see(principal, loaded):
            raise NotFound(f"no application {case_id}")
        actor = actor_of(principal, loaded)
    command = Command(name, actor, clock.now(), payload)
    try:
        new_events = handlers.decide(loaded.state, command, _context(session, loaded))
    except NotPermitted as exc:
        raise Forbidden(str(exc)) from None
    except Rejected as exc:
        raise ProblemError(exc.message, exc.status, _slug(exc.status), exc.errors) from None
    before = loaded.state.row_status
    named = _append(session, loaded.row, loaded.state, new_events, loaded.named)
    flows.after_command(session, loaded.row, loaded.state, new_events, before, named)
    audit.record(
        session,
        actor=actor.id,
        action=f"application.{name}",
        object_type="application",
        object_id=case_id,
        details={"events": [e.type for e in new_events], "status": loaded.state.row_status.value},
    )
    return loaded


def _slug(status: int) -> str:
    return {403: "forbidden", 404: "not-found", 409: "conflict", 422: "invalid-input"}.get(
        status, "bad-request"
    )


def _append(
    session: Session,
    row: Application,
    state: CaseState,
    events: list[Event],
    named: Sequence[ApplicationMember],
) -> Sequence[ApplicationMember]:
    """Append events after the state's version; a concurrent writer that got there first is a 409.

    The read model is written in the same statement that claims the version. ``named``: the
    persons named in the case as loaded; returned as they are after the events.
    """
    expected = state.version
    appended = []
    for event in events:
        apply(state, event)
        appended.append(
            {
                "application_id": row.id,
                "seq": state.version,
                "type": event.type,
                "actor": event.actor,
                "at": event.at,
                "data": dict(event.data),
            }
        )
    values = {"version": state.version, **_read_model(state)}
    claim = (
        update(Application).where(Application.id == row.id, Application.version == expected).values(**values)
    )
    if session.get_bind().dialect.name == "postgresql":
        # the events and the claim in one round trip (a data-modifying CTE); a claim that fails
        # rolls the events back with the rest of the transaction
        claim = claim.add_cte(insert(ApplicationEvent).values(appended).cte("appended_events"))
    else:
        session.add_all(ApplicationEvent(**fields) for fields in appended)
    result = session.execute(claim, execution_options={"synchronize_session": False})
    claimed = cast(CursorResult[Any], result).rowcount
    if claimed != 1:
        raise Conflict("another command changed this application at the same moment; reload and try again")
    for name, value in values.items():
        set_committed_value(row, name, value)
    if any(e.type in _FORM_EVENTS for e in events):
        named = _sync_members(session, row, state, named)
    session.flush()
    return named


# the events that change who is named in the application
_FORM_EVENTS = frozenset(
    {"created", "draft_updated", "submitted", "information_provided", "amendment_approved"}
)


def _read_model(state: CaseState) -> dict[str, Any]:
    """The read model's columns (what lists, the inbox and the register sort and filter by)."""
    form = state.form
    completion = [d for d in case_deadlines(state) if d.name == "completion"]
    return {
        "status": state.status.value,
        "decision": state.decision.value if state.decision else None,
        "permit_status": state.permit_status.value if state.permit_status else None,
        "permit_id": state.permit_id,
        "title": form.title,
        "organisation": form.applicant.organisation,
        "organisation_name": form.applicant.organisation_name,
        "purpose": form.purpose.value if form.purpose else None,
        "datasets": list(state.specification.dataset_identifiers()),
        "updated_at": clock.now(),
        "submitted_at": state.submitted_at,
        "decided_at": state.decided_at,
        "next_due": next_due(state),
        "completion_due": completion[0].due if completion else None,
    }


def _sync_members(
    session: Session, row: Application, state: CaseState, loaded: Sequence[ApplicationMember]
) -> list[ApplicationMember]:
    """Keep one member row per named person; a person keeps their binding while they stay named."""
    existing = {m.email: m for m in loaded}
    named = {str(p.email).lower(): (i, p) for i, p in enumerate(state.form.persons)}
    for email, gone in existing.items():
        if email not in named:
            session.delete(gone)
    current = []
    for email, (position, person) in named.items():
        member = existing.get(email)
        if member is None:
            member = ApplicationMember(
                application_id=row.id, position=position, email=email, name=person.name
            )
            session.add(member)
        else:
            member.position, member.name = position, person.name
        current.append(member)
    return current


def bind_memberships(session: Session, principal: Principal) -> int:
    """Bind the caller to every case naming their (verified) email and not yet bound to anyone."""
    if principal.email is None:
        return 0
    members = session.scalars(
        select(ApplicationMember).where(
            ApplicationMember.email == principal.email, ApplicationMember.subject.is_(None)
        )
    ).all()
    for member in members:
        member.subject = principal.actor
        member.bound_at = clock.now()
        audit.record(
            session,
            actor=principal.actor,
            action="application.member_bound",
            object_type="application",
            object_id=member.application_id,
            details={"position": member.position},
        )
    return len(members)


def run_due_tasks() -> dict[str, int]:
    """Close cases not completed in time and expire permits past their end date (scheduled)."""
    database = runtime.database()
    closed = expired = 0
    with database.session() as session:
        candidates = session.scalars(repository.completion_overdue(clock.now())).all()
    for case_id in candidates:
        with database.session() as session:
            try:
                execute(session, None, case_id, "close-incomplete", handlers.Empty())
                closed += 1
            except ProblemError:
                session.rollback()
    with database.session() as session:
        permits = session.scalars(repository.permits_past_end(clock.now())).all()
    for case_id in permits:
        with database.session() as session:
            try:
                execute(session, None, case_id, "expire", handlers.Empty())
                expired += 1
            except ProblemError:
                session.rollback()
    return {"closed_incomplete": closed, "expired": expired}
