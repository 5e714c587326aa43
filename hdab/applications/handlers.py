"""Commands, the permission table, and one pure handler per command.

A handler takes the folded state, the command (with its actor and time) and injected lookups, and
returns the events to append or raises :class:`Rejected`. It never reads a clock, a database or a
request: the service gives it everything.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hdab.applications import deadlines, forms
from hdab.applications.domain import (
    ASSESSMENT_CRITERIA,
    MAX_PERMIT_YEARS,
    ApplicationForm,
    CaseType,
    Criterion,
    DataSpecification,
    Decision,
    Person,
    Status,
)
from hdab.applications.state import CaseState, Event, Identity
from hdab.core.errors import FieldError

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class CaseRole(enum.StrEnum):
    """How the actor stands to this case: owner or bound member, or an HDAB role, or the scheduler."""

    APPLICANT = "applicant"
    CASEWORKER = "caseworker"
    DECISION_MAKER = "decision_maker"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    id: str  # subject@issuer, as the audit log names a principal
    roles: frozenset[CaseRole]
    email: str | None = None  # verified email of the principal
    pid: str | None = None  # keyed hash of the principal's national id (audit.identifier_ref)

    @property
    def identity(self) -> Identity:
        return Identity(self.id, self.email, self.pid)


@dataclass(frozen=True)
class Context:
    """What handlers may look up: the catalogue's variables, the permit id to use if one is issued,
    and who else the store knows to be on the applicant's side (the owner's email at creation, the
    subjects bound to named persons)."""

    variables: forms.VariableLookup
    new_permit_id: Callable[[], str] = field(default=lambda: "")
    parties: tuple[Identity, ...] = ()  # the owner as the store knows it (the email it signed in with)
    members: tuple[Identity, ...] = ()  # the sign-in subjects bound to named persons


class Rejected(Exception):
    """The command cannot be carried out; ``status`` 409 when the case's state forbids it, 422 for input."""

    def __init__(self, message: str, status: int = 409, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or []


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Empty(_Payload):
    pass


class Message(_Payload):
    message: Reason


class ProvideInformation(_Payload):
    message: Reason
    form: ApplicationForm | None = None  # the completed application, when the answer changes it


class EstimateFee(_Payload):
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "NOK"


class Withdraw(_Payload):
    reason: Reason | None = None


class RecordAssessment(_Payload):
    criteria: dict[str, Criterion]
    risks: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)] = ""
    specification: DataSpecification | None = None  # the caseworker may narrow what was asked for


class Approve(_Payload):
    valid_until: date | None = None  # required for a permit; a statistics answer has none
    conditions: tuple[Reason, ...] = ()
    environment: Reason = "HDAB secure processing environment (sikker analyserom)"


class Reasons(_Payload):
    reasons: Reason


class DecideAppeal(_Payload):
    upheld: bool
    reasons: Reason


class ExtendDeadline(_Payload):
    reason: Reason


class Amend(_Payload):
    reason: Reason
    specification: DataSpecification | None = None
    persons: tuple[Person, ...] | None = None
    conditions: tuple[Reason, ...] | None = None


class ExtendPermit(_Payload):
    valid_until: date
    reason: Reason


@dataclass(frozen=True)
class Command:
    name: str
    actor: Actor
    at: datetime
    payload: BaseModel


Handler = Callable[[CaseState, Command, Context], list[Event]]

# The payload each command takes; the edge validates the body against it.
PAYLOADS: dict[str, type[BaseModel]] = {
    "update-draft": ApplicationForm,
    "submit": Empty,
    "start-pre-screening": Empty,
    "request-information": Message,
    "provide-information": ProvideInformation,
    "start-processing": Empty,
    "estimate-fee": EstimateFee,
    "accept-fee": Empty,
    "withdraw": Withdraw,
    "record-assessment": RecordAssessment,
    "extend-deadline": ExtendDeadline,
    "approve": Approve,
    "refuse": Reasons,
    "appeal": Reasons,
    "decide-appeal": DecideAppeal,
    "close-incomplete": Empty,
    "mark-answered": Empty,
    # the permit's commands (POST /api/permits/{id}/{command})
    "amend": Amend,
    "approve-amendment": Empty,
    "refuse-amendment": Reasons,
    "extend": ExtendPermit,
    "approve-extension": Empty,
    "refuse-extension": Reasons,
    "revoke": Reasons,
    "expire": Empty,
}
PERMIT_COMMANDS = frozenset(
    {
        "amend",
        "approve-amendment",
        "refuse-amendment",
        "extend",
        "approve-extension",
        "refuse-extension",
        "revoke",
    }
)

A, C, D, M, S = (
    CaseRole.APPLICANT,
    CaseRole.CASEWORKER,
    CaseRole.DECISION_MAKER,
    CaseRole.ADMIN,
    CaseRole.SYSTEM,
)
_CASEWORK = {C: {"request-information", "start-processing"}, M: {"request-information", "start-processing"}}

# status x role -> the commands allowed. The row is read at the permit's status once a permit exists.
PERMISSIONS: dict[Status, dict[CaseRole, frozenset[str]]] = {
    status: {role: frozenset(commands) for role, commands in row.items()}
    for status, row in {
        Status.DRAFT: {A: {"update-draft", "submit", "withdraw"}},
        Status.SUBMITTED: {A: {"withdraw"}, C: {"start-pre-screening"}, M: {"start-pre-screening"}},
        Status.PRE_SCREENING: {A: {"withdraw"}, **_CASEWORK},
        Status.AWAITING_ADDITIONAL_INFORMATION: {
            A: {"provide-information", "withdraw"},
            S: {"close-incomplete"},
        },
        Status.PROCESSING: {
            A: {"withdraw"},
            C: {"estimate-fee", "record-assessment", "extend-deadline"},
            M: {"estimate-fee", "record-assessment", "extend-deadline"},
            D: {"approve", "refuse", "extend-deadline"},
        },
        Status.AWAITING_FEE_ACCEPTANCE: {
            A: {"accept-fee", "withdraw"},
            C: {"estimate-fee"},
            M: {"estimate-fee"},
        },
        Status.DECISION_ISSUED: {
            A: {"appeal"},
            C: {"mark-answered"},
            M: {"mark-answered"},
            S: {"mark-answered"},
        },
        Status.CLOSED_INCOMPLETE: {},
        Status.WITHDRAWN: {},
        Status.ANSWERED: {},
        Status.APPEALED: {D: {"decide-appeal"}},
        Status.APPEAL_APPROVED: {D: {"approve", "refuse"}},
        Status.APPEAL_REJECTED: {},
        Status.GRANTED: {A: {"amend", "extend"}, D: {"revoke"}, S: {"expire"}},
        Status.AMENDMENT_REQUESTED: {D: {"approve-amendment", "refuse-amendment", "revoke"}, S: {"expire"}},
        Status.AMENDED: {A: {"amend", "extend"}, D: {"revoke"}, S: {"expire"}},
        Status.RENEWAL_REQUESTED: {D: {"approve-extension", "refuse-extension", "revoke"}, S: {"expire"}},
        Status.RENEWED: {A: {"amend"}, D: {"revoke"}, S: {"expire"}},
        Status.EXPIRED: {},
        Status.REVOKED: {},
    }.items()
}


# Commands of the access body's staff: nobody on the applicant's side runs them (Art. 55(2)).
STAFF_COMMANDS = frozenset(
    c for row in PERMISSIONS.values() for role, commands in row.items() if role in (C, D, M) for c in commands
)
# Commands that decide the case or its permit: nobody who assessed the case runs them (four eyes).
DECIDING_COMMANDS = frozenset(
    {
        "approve",
        "refuse",
        "decide-appeal",
        "approve-amendment",
        "refuse-amendment",
        "approve-extension",
        "refuse-extension",
        "revoke",
    }
)


def impartiality(
    state: CaseState,
    person: Identity,
    *,
    parties: tuple[Identity, ...] = (),
    members: tuple[Identity, ...] = (),
    deciding: bool = False,
) -> str | None:
    """Why ``person`` may not act for the access body on this case whatever their roles; None if they may.

    Nobody decides their own case (EHDS Art. 55(2), 57): the applicant, anyone who acted for the
    applicant's side and anyone named in the application act on it as staff in no way; whoever
    assessed the case makes no decision on it or its permit (``deciding``). A person is recognised
    by subject@issuer, verified email or national id, whichever token or provider they use.
    """
    if person.actor == state.owner or any(person.same_person(p) for p in (*state.parties, *parties)):
        return "you applied for this case; another member of staff must handle it (impartiality)"
    if (person.email is not None and person.email in state.named_emails) or any(
        person.same_person(m) for m in members
    ):
        return "you are named in this case; another member of staff must handle it (impartiality)"
    if deciding and any(person.same_person(a) for a in state.assessors):
        return "you assessed this case; another decision maker must decide it (four eyes)"
    return None


def conflict_of_interest(
    state: CaseState,
    command: str,
    person: Identity,
    *,
    parties: tuple[Identity, ...] = (),
    members: tuple[Identity, ...] = (),
) -> str | None:
    """Why ``person`` may not run the staff ``command`` here whatever their roles; None if they may."""
    if command not in STAFF_COMMANDS:
        return None
    deciding = command in DECIDING_COMMANDS
    return impartiality(state, person, parties=parties, members=members, deciding=deciding)


def allowed_commands(
    state: CaseState,
    roles: frozenset[CaseRole],
    *,
    person: Identity | None = None,
    parties: tuple[Identity, ...] = (),
    members: tuple[Identity, ...] = (),
) -> list[str]:
    """The commands ``roles`` may use now; with ``person``, less those a conflict of interest bars."""
    row = PERMISSIONS[state.row_status]
    names = {c for role in roles for c in row.get(role, frozenset())}
    if person is not None:
        known = {"parties": parties, "members": members}
        names = {n for n in names if conflict_of_interest(state, n, person, **known) is None}
    return sorted(names)


def ever_allowed(command: str, roles: frozenset[CaseRole]) -> bool:
    return any(command in row.get(role, frozenset()) for row in PERMISSIONS.values() for role in roles)


class NotPermitted(Exception):
    """The actor's roles may never use this command (403)."""


def decide(state: CaseState, command: Command, context: Context) -> list[Event]:
    """Check the permission table, then run the command's handler."""
    if command.name not in HANDLERS:
        raise Rejected(f"there is no command {command.name!r}", 404)
    if not ever_allowed(command.name, command.actor.roles):
        raise NotPermitted(
            f"{command.name!r} is for {', '.join(_roles_for(command.name))}; "
            f"you act here as {', '.join(sorted(command.actor.roles)) or 'nobody with a role on this case'}"
        )
    conflict = conflict_of_interest(
        state, command.name, command.actor.identity, parties=context.parties, members=context.members
    )
    if conflict is not None:
        raise Rejected(conflict, 403)
    if command.name not in allowed_commands(state, command.actor.roles):
        allowed = allowed_commands(state, command.actor.roles)
        raise Rejected(
            f"{command.name!r} is not possible while the case is {state.row_status.value}"
            + (f"; you may now: {', '.join(allowed)}" if allowed else "")
        )
    return HANDLERS[command.name](state, command, context)


def _roles_for(command: str) -> list[str]:
    return sorted(
        {role.value for row in PERMISSIONS.values() for role, cmds in row.items() if command in cmds}
    )


def _event(command: Command, type: str, **data: Any) -> list[Event]:
    by = command.actor.identity.refs()  # so that later commands recognise the same person
    return [Event(type, command.actor.id, command.at, {**data, "by": by} if by else data)]


def _payload(command: Command) -> Any:
    return command.payload


# --- the handlers, in workflow order ------------------------------------------------------------


def update_draft(state: CaseState, command: Command, context: Context) -> list[Event]:
    form: ApplicationForm = _payload(command)
    return _event(command, "draft_updated", form=form.model_dump(mode="json", exclude_none=True))


def submit(state: CaseState, command: Command, context: Context) -> list[Event]:
    errors = forms.missing_fields(state.kind, state.form, context.variables)
    if errors:
        raise Rejected("the application is not complete; see errors", 422, errors)
    return _event(command, "submitted", form=state.form.model_dump(mode="json", exclude_none=True))


def start_pre_screening(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "pre_screening_started")


def request_information(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "information_requested", message=_payload(command).message)


def provide_information(state: CaseState, command: Command, context: Context) -> list[Event]:
    payload: ProvideInformation = _payload(command)
    data: dict[str, Any] = {"message": payload.message}
    if payload.form is not None:
        errors = forms.missing_fields(state.kind, payload.form, context.variables)
        if errors:
            raise Rejected("the completed application is not valid; see errors", 422, errors)
        data["form"] = payload.form.model_dump(mode="json", exclude_none=True)
    return _event(command, "information_provided", **data)


def start_processing(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "processing_started")


def estimate_fee(state: CaseState, command: Command, context: Context) -> list[Event]:
    payload: EstimateFee = _payload(command)
    return _event(command, "fee_estimated", amount=str(payload.amount), currency=payload.currency)


def accept_fee(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "fee_accepted", amount=str(state.fee_amount), currency=state.fee_currency)


def withdraw(state: CaseState, command: Command, context: Context) -> list[Event]:
    reason = _payload(command).reason
    return _event(command, "withdrawn", **({"reason": reason} if reason else {}))


def close_incomplete(state: CaseState, command: Command, context: Context) -> list[Event]:
    due = deadlines.weeks_after(state.information_requested_at or command.at, 4)
    if not deadlines.is_overdue(due, command.at):
        raise Rejected(f"the applicant has until {due.isoformat()} to complete the application (Art. 68(4))")
    return _event(command, "closed_incomplete", completion_due=due.isoformat())


def record_assessment(state: CaseState, command: Command, context: Context) -> list[Event]:
    payload: RecordAssessment = _payload(command)
    errors = [
        FieldError(f"criteria.{key}", "assess this criterion of Art. 68(1)")
        for key in ASSESSMENT_CRITERIA
        if key not in payload.criteria
    ]
    errors += [
        FieldError(f"criteria.{key}", "Art. 68(1) has criteria a to h only")
        for key in payload.criteria
        if key not in ASSESSMENT_CRITERIA
    ]
    data: dict[str, Any] = {
        "criteria": {k: v.model_dump(mode="json") for k, v in sorted(payload.criteria.items())},
        "risks": payload.risks,
    }
    if payload.specification is not None:
        errors += forms.narrows(state.form.specification, payload.specification)
        errors += forms.specification_errors(
            state.kind,
            payload.specification,
            context.variables,
            public_sector=state.form.applicant.public_sector,
        )
        data["specification"] = payload.specification.model_dump(mode="json", exclude_none=True)
    if errors:
        raise Rejected("the assessment is not valid; see errors", 422, errors)
    return _event(command, "assessment_recorded", **data)


def extend_deadline(state: CaseState, command: Command, context: Context) -> list[Event]:
    if state.deadline_extension is not None:
        raise Rejected("the decision deadline has already been extended once (Art. 68(4))")
    return _event(command, "deadline_extended", reason=_payload(command).reason)


def approve(state: CaseState, command: Command, context: Context) -> list[Event]:
    payload: Approve = _payload(command)
    if state.assessor is None:
        raise Rejected("record the assessment before deciding")
    unmet = [k for k in ASSESSMENT_CRITERIA if not state.criteria[k].met]
    if unmet:
        raise Rejected(f"criteria {', '.join(unmet)} of Art. 68(1) are not met; a permit cannot be issued")
    if not state.fee_settled:
        raise Rejected(
            "the applicant has not accepted the fee estimate (Art. 62(5))"
            if state.fee_amount is not None
            else "estimate the fee before deciding (Art. 62(5))"
        )
    data: dict[str, Any] = {"conditions": list(payload.conditions), "environment": payload.environment}
    if state.kind is CaseType.ACCESS:
        data.update(_validity(payload.valid_until, command.at, "valid_until"))
        data["permit_id"] = state.permit_id or context.new_permit_id()
    return _event(command, "approved", **data)


def _validity(
    valid_until: date | None, at: datetime, field_name: str, base: date | None = None
) -> dict[str, Any]:
    today = deadlines.oslo_date(at)
    start = base or today
    if valid_until is None:
        raise Rejected("give the date the permit is valid until", 422, [FieldError(field_name, "required")])
    if valid_until <= today:
        raise Rejected(
            "the permit must end in the future", 422, [FieldError(field_name, "must be after today")]
        )
    if valid_until > deadlines.add_months(start, 12 * MAX_PERMIT_YEARS):
        raise Rejected(
            f"a permit or extension is valid for at most {MAX_PERMIT_YEARS} years (Art. 68(12))",
            422,
            [
                FieldError(
                    field_name, f"at most {deadlines.add_months(start, 12 * MAX_PERMIT_YEARS).isoformat()}"
                )
            ],
        )
    return {"valid_until": valid_until.isoformat()}


def refuse(state: CaseState, command: Command, context: Context) -> list[Event]:
    if state.assessor is None:
        raise Rejected("record the assessment before deciding")
    return _event(command, "refused", reasons=_payload(command).reasons)


def appeal(state: CaseState, command: Command, context: Context) -> list[Event]:
    if state.decision is not Decision.NEGATIVE or state.decided_at is None:
        raise Rejected("only a refusal can be appealed")
    due = deadlines.weeks_after(state.decided_at, 3)
    if deadlines.is_overdue(due, command.at):
        raise Rejected(f"the time to appeal ended on {due.isoformat()} (3 weeks after the decision)")
    return _event(command, "appealed", reasons=_payload(command).reasons)


def decide_appeal(state: CaseState, command: Command, context: Context) -> list[Event]:
    if state.decider is not None and command.actor.identity.same_person(state.decider):
        raise Rejected("you made the decision under appeal; another decision maker must review it", 403)
    payload: DecideAppeal = _payload(command)
    return _event(command, "appeal_decided", upheld=payload.upheld, reasons=payload.reasons)


def mark_answered(state: CaseState, command: Command, context: Context) -> list[Event]:
    if state.kind is not CaseType.STATISTICS or state.decision is not Decision.POSITIVE:
        raise Rejected("only an approved statistics request is answered")
    return _event(command, "answered")


def amend(state: CaseState, command: Command, context: Context) -> list[Event]:
    payload: Amend = _payload(command)
    if payload.specification is None and payload.persons is None and payload.conditions is None:
        raise Rejected("say what to change: specification, persons or conditions", 422)
    data: dict[str, Any] = {"reason": payload.reason}
    errors: list[FieldError] = []
    if payload.specification is not None:
        errors += forms.specification_errors(
            state.kind,
            payload.specification,
            context.variables,
            public_sector=state.form.applicant.public_sector,
        )
        data["specification"] = payload.specification.model_dump(mode="json", exclude_none=True)
    if payload.persons is not None:
        if not payload.persons:
            errors.append(FieldError("persons", "a permit needs at least one authorised person"))
        data["persons"] = [p.model_dump(mode="json") for p in payload.persons]
    if payload.conditions is not None:
        data["conditions"] = list(payload.conditions)
    if errors:
        raise Rejected("the amendment is not valid; see errors", 422, errors)
    return _event(command, "amendment_requested", **data)


def approve_amendment(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "amendment_approved")


def refuse_amendment(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "amendment_refused", reasons=_payload(command).reasons)


def extend(state: CaseState, command: Command, context: Context) -> list[Event]:
    payload: ExtendPermit = _payload(command)
    permit = state.current_permit
    assert permit is not None
    if state.permit_extended:
        raise Rejected("a permit can be extended only once (Art. 68(12))")
    latest = deadlines.add_months(permit.valid_until, -1)
    if deadlines.oslo_date(command.at) > latest:
        raise Rejected(
            "an extension must be asked for at least one month before expiry, "
            f"by {latest.isoformat()} (Art. 68(12))"
        )
    if payload.valid_until <= permit.valid_until:
        raise Rejected(
            "the new end date must be after the current one", 422, [FieldError("valid_until", "too early")]
        )
    data = _validity(payload.valid_until, command.at, "valid_until", base=permit.valid_until)
    return _event(command, "extension_requested", reason=payload.reason, **data)


def approve_extension(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "extension_approved")


def refuse_extension(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "extension_refused", reasons=_payload(command).reasons)


def revoke(state: CaseState, command: Command, context: Context) -> list[Event]:
    return _event(command, "revoked", reasons=_payload(command).reasons)


def expire(state: CaseState, command: Command, context: Context) -> list[Event]:
    permit = state.current_permit
    assert permit is not None
    if not deadlines.is_overdue(permit.valid_until, command.at):
        raise Rejected(f"the permit is valid until {permit.valid_until.isoformat()}")
    return _event(command, "expired", valid_until=permit.valid_until.isoformat())


HANDLERS: Mapping[str, Handler] = {
    "update-draft": update_draft,
    "submit": submit,
    "start-pre-screening": start_pre_screening,
    "request-information": request_information,
    "provide-information": provide_information,
    "start-processing": start_processing,
    "estimate-fee": estimate_fee,
    "accept-fee": accept_fee,
    "withdraw": withdraw,
    "close-incomplete": close_incomplete,
    "record-assessment": record_assessment,
    "extend-deadline": extend_deadline,
    "approve": approve,
    "refuse": refuse,
    "appeal": appeal,
    "decide-appeal": decide_appeal,
    "mark-answered": mark_answered,
    "amend": amend,
    "approve-amendment": approve_amendment,
    "refuse-amendment": refuse_amendment,
    "extend": extend,
    "approve-extension": approve_extension,
    "refuse-extension": refuse_extension,
    "revoke": revoke,
    "expire": expire,
}
