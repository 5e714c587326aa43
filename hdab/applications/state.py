"""Events, and the state of a case as a fold over them (pure).

The event log is the record of a case: its timeline, and its audit trail. Every event carries who
did it and when, taken from the signed-in principal and the clock, never from a request body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hdab.applications import deadlines
from hdab.applications.domain import (
    PUBLIC_SECTOR_PURPOSES,
    ApplicationForm,
    CaseType,
    Criterion,
    DataSpecification,
    Decision,
    Person,
    Status,
)


@dataclass(frozen=True)
class Event:
    """Something that happened to a case, in the past tense (``submitted``, ``approved``)."""

    type: str
    actor: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """Who a person is, as far as the case can tell: sign-in subject@issuer, verified email, national id.

    ``pid`` is a keyed hash of the national identifier (:func:`hdab.core.audit.identifier_ref`),
    never the identifier itself. Two identities are the same person when any of the three match:
    one person may hold several tokens, from several providers (EHDS Art. 55(2), impartial staff).
    """

    actor: str
    email: str | None = None
    pid: str | None = None

    def same_person(self, other: Identity) -> bool:
        return (
            self.actor == other.actor
            or (self.email is not None and self.email == other.email)
            or (self.pid is not None and self.pid == other.pid)
        )

    def refs(self) -> dict[str, str]:
        """What an event records of its actor beyond ``actor`` (the ``by`` of its data)."""
        return {k: v for k, v in (("email", self.email), ("pid", self.pid)) if v is not None}


def identity_of(event: Event) -> Identity:
    """The actor of an event, with the email and national-id reference it recorded (if any)."""
    by = event.data.get("by")
    if not isinstance(by, Mapping):
        return Identity(event.actor)
    email, pid = by.get("email"), by.get("pid")
    return Identity(
        event.actor, email if isinstance(email, str) else None, pid if isinstance(pid, str) else None
    )


# the events only the applicant's side (owner or named person) causes
PARTY_EVENTS = frozenset(
    {
        "created",
        "draft_updated",
        "submitted",
        "information_provided",
        "fee_accepted",
        "withdrawn",
        "appealed",
        "amendment_requested",
        "extension_requested",
    }
)
# the events that record an assessment of (or a proposal on) the case: their actors never decide it
ASSESSMENT_EVENTS = frozenset({"assessment_recorded"})


@dataclass(frozen=True)
class PermitVersion:
    """One version of a permit (Art. 68(10), (12), (13)), as it is signed."""

    permit_id: str
    version: int
    application_id: str
    approved_at: datetime
    approved_by: str
    purpose: str
    specification: DataSpecification
    persons: tuple[Person, ...]
    valid_from: date
    valid_until: date
    delete_data_by: date
    environment: str
    tools: str | None
    fee_amount: Decimal
    fee_currency: str
    conditions: tuple[str, ...]
    optout_exception: str | None
    first_approved_at: datetime
    change: str  # issued, amended, extended

    def payload(self) -> dict[str, Any]:
        """The version as JSON-ready data: what the JWS signs and what the API shows."""
        return {
            "permit_id": self.permit_id,
            "version": self.version,
            "application_id": self.application_id,
            "change": self.change,
            "approved_at": self.approved_at.isoformat(),
            "first_approved_at": self.first_approved_at.isoformat(),
            "approved_by": self.approved_by,
            "purpose": self.purpose,
            "specification": self.specification.model_dump(mode="json"),
            "format": self.specification.format,
            "pseudonymised": self.specification.pseudonymised,
            "authorised_persons": [p.model_dump(mode="json") for p in self.persons],
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "delete_data_by": self.delete_data_by.isoformat(),
            "environment": self.environment,
            "tools": self.tools,
            "fee": {"amount": str(self.fee_amount), "currency": self.fee_currency},
            "conditions": list(self.conditions),
            "optout_exception": self.optout_exception,
        }


@dataclass
class CaseState:
    id: str
    kind: CaseType
    owner: str
    status: Status = Status.DRAFT
    decision: Decision | None = None
    permit_status: Status | None = None
    form: ApplicationForm = field(default_factory=ApplicationForm)
    specification: DataSpecification = field(default_factory=DataSpecification)
    version: int = 0  # events so far
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    information_requested_at: datetime | None = None
    processing_started_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reasons: str | None = None
    fee_amount: Decimal | None = None
    fee_currency: str | None = None
    fee_accepted: bool = False
    assessor: str | None = None  # who recorded the latest assessment
    assessors: list[Identity] = field(default_factory=list)  # everyone who assessed, in order
    parties: list[Identity] = field(default_factory=list)  # who acted for the applicant's side
    named_emails: set[str] = field(default_factory=set)  # every person ever named, or proposed
    decider: Identity | None = None  # who made the latest decision
    criteria: dict[str, Criterion] = field(default_factory=dict)
    risks: str | None = None
    deadline_extension: str | None = None
    appealed_at: datetime | None = None
    appeal_decided_at: datetime | None = None
    answered_at: datetime | None = None
    permit_id: str | None = None
    permit_versions: list[PermitVersion] = field(default_factory=list)
    pending_amendment: Mapping[str, Any] | None = None
    pending_extension: Mapping[str, Any] | None = None
    permit_extended: bool = False
    permit_ended_at: datetime | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def row_status(self) -> Status:
        """The status the permission table is read at: the permit's once there is one."""
        return self.permit_status or self.status

    @property
    def accelerated(self) -> bool:
        """Art. 68(6): public-sector bodies with a mandate under Art. 53(1)(a)-(c)."""
        return self.form.applicant.public_sector and self.form.purpose in PUBLIC_SECTOR_PURPOSES

    @property
    def current_permit(self) -> PermitVersion | None:
        return self.permit_versions[-1] if self.permit_versions else None

    @property
    def fee_settled(self) -> bool:
        """Art. 62(5): the estimate is accepted, or there is nothing to pay."""
        return self.fee_amount is not None and (self.fee_accepted or self.fee_amount == 0)


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _new_version(state: CaseState, event: Event, change: str, **changes: Any) -> PermitVersion:
    previous = state.current_permit
    valid_until = date.fromisoformat(event.data["valid_until"])
    base: dict[str, Any] = {
        "permit_id": state.permit_id or event.data["permit_id"],
        "version": len(state.permit_versions) + 1,
        "application_id": state.id,
        "approved_at": event.at,
        "approved_by": event.actor,
        "purpose": state.form.purpose.value if state.form.purpose else "",
        "specification": state.specification,
        "persons": state.form.persons,
        "valid_from": previous.valid_from if previous else deadlines.oslo_date(event.at),
        "valid_until": valid_until,
        # Art. 68(12): data in the secure environment are deleted within 6 months after expiry
        "delete_data_by": deadlines.add_months(valid_until, 6),
        "environment": event.data.get("environment") or (previous.environment if previous else ""),
        "tools": state.form.tools,
        "fee_amount": state.fee_amount if state.fee_amount is not None else Decimal(0),
        "fee_currency": state.fee_currency or "NOK",
        "conditions": tuple(event.data.get("conditions", previous.conditions if previous else ())),
        "optout_exception": state.form.optout_exception,
        "first_approved_at": previous.first_approved_at if previous else event.at,
        "change": change,
    }
    base.update(changes)
    return PermitVersion(**base)


Fold = Callable[[CaseState, Event], None]
# One function per event type: how an event of that type moves a case on (REMS's event appliers).
FOLDS: dict[str, Fold] = {}


def folds(*kinds: str) -> Callable[[Fold], Fold]:
    """Register the decorated function as the fold of events of ``kinds``; one function per type."""

    def register(function: Fold) -> Fold:
        for kind in kinds:
            if kind in FOLDS:
                raise ValueError(f"event type {kind!r} is folded already, by {FOLDS[kind].__name__}")
        FOLDS.update(dict.fromkeys(kinds, function))
        return function

    return register


def apply(state: CaseState, event: Event) -> None:
    """Move ``state`` on by one event."""
    state.version += 1
    state.events.append(event)
    _record_people(state, event)
    fold_event = FOLDS.get(event.type)
    if fold_event is None:
        raise ValueError(f"unknown event type {event.type!r}")
    fold_event(state, event)


def _set_form(state: CaseState, form: Any) -> None:
    state.form = ApplicationForm.model_validate(form)
    state.specification = state.form.specification


@folds("created")
def _created(state: CaseState, event: Event) -> None:
    state.created_at = event.at
    _set_form(state, event.data.get("form", {}))


@folds("draft_updated")
def _draft_updated(state: CaseState, event: Event) -> None:
    _set_form(state, event.data["form"])


@folds("submitted")
def _submitted(state: CaseState, event: Event) -> None:
    state.status = Status.SUBMITTED
    state.submitted_at = event.at
    _set_form(state, event.data["form"])


@folds("pre_screening_started")
def _pre_screening_started(state: CaseState, event: Event) -> None:
    state.status = Status.PRE_SCREENING


@folds("information_requested")
def _information_requested(state: CaseState, event: Event) -> None:
    state.status = Status.AWAITING_ADDITIONAL_INFORMATION
    state.information_requested_at = event.at


@folds("information_provided")
def _information_provided(state: CaseState, event: Event) -> None:
    state.status = Status.PRE_SCREENING
    state.information_requested_at = None
    if "form" in event.data:
        _set_form(state, event.data["form"])


@folds("processing_started")
def _processing_started(state: CaseState, event: Event) -> None:
    state.status = Status.PROCESSING
    state.processing_started_at = event.at


@folds("fee_estimated")
def _fee_estimated(state: CaseState, event: Event) -> None:
    state.fee_amount = _decimal(event.data["amount"])
    state.fee_currency = event.data["currency"]
    state.fee_accepted = False
    state.status = Status.PROCESSING if state.fee_amount == 0 else Status.AWAITING_FEE_ACCEPTANCE


@folds("fee_accepted")
def _fee_accepted(state: CaseState, event: Event) -> None:
    state.fee_accepted = True
    state.status = Status.PROCESSING


@folds("withdrawn")
def _withdrawn(state: CaseState, event: Event) -> None:
    state.status = Status.WITHDRAWN


@folds("closed_incomplete")
def _closed_incomplete(state: CaseState, event: Event) -> None:
    state.status = Status.CLOSED_INCOMPLETE


@folds("assessment_recorded")
def _assessment_recorded(state: CaseState, event: Event) -> None:
    data = event.data
    state.assessor = event.actor
    state.criteria = {k: Criterion.model_validate(v) for k, v in data["criteria"].items()}
    state.risks = data.get("risks")
    if data.get("specification") is not None:
        state.specification = DataSpecification.model_validate(data["specification"])


@folds("deadline_extended")
def _deadline_extended(state: CaseState, event: Event) -> None:
    state.deadline_extension = event.data["reason"]


def _decided(state: CaseState, event: Event, decision: Decision) -> None:
    state.decided_at = event.at
    state.decided_by = event.actor
    state.decision_reasons = event.data.get("reasons")
    state.status = Status.DECISION_ISSUED
    state.decision = decision


@folds("approved")
def _approved(state: CaseState, event: Event) -> None:
    _decided(state, event, Decision.POSITIVE)
    if state.kind is CaseType.ACCESS:
        state.permit_id = event.data["permit_id"]
        state.permit_status = Status.GRANTED
        state.permit_versions.append(_new_version(state, event, "issued"))


@folds("refused")
def _refused(state: CaseState, event: Event) -> None:
    _decided(state, event, Decision.NEGATIVE)


@folds("appealed")
def _appealed(state: CaseState, event: Event) -> None:
    state.status = Status.APPEALED
    state.appealed_at = event.at


@folds("appeal_decided")
def _appeal_decided(state: CaseState, event: Event) -> None:
    state.appeal_decided_at = event.at
    state.status = Status.APPEAL_APPROVED if event.data["upheld"] else Status.APPEAL_REJECTED


@folds("answered")
def _answered(state: CaseState, event: Event) -> None:
    state.status = Status.ANSWERED
    state.answered_at = event.at


@folds("amendment_requested")
def _amendment_requested(state: CaseState, event: Event) -> None:
    state.permit_status = Status.AMENDMENT_REQUESTED
    state.pending_amendment = dict(event.data)


@folds("amendment_approved")
def _amendment_approved(state: CaseState, event: Event) -> None:
    amendment = state.pending_amendment or {}
    if amendment.get("specification") is not None:
        state.specification = DataSpecification.model_validate(amendment["specification"])
    if amendment.get("persons") is not None:
        persons = tuple(Person.model_validate(p) for p in amendment["persons"])
        state.form = state.form.model_copy(update={"persons": persons})
    current = state.current_permit
    assert current is not None
    conditions = amendment.get("conditions")
    state.permit_versions.append(
        _new_version(
            state,
            Event(event.type, event.actor, event.at, {"valid_until": current.valid_until.isoformat()}),
            "amended",
            **({"conditions": tuple(conditions)} if conditions is not None else {}),
        )
    )
    state.permit_status = Status.AMENDED
    state.pending_amendment = None


@folds("amendment_refused")
def _amendment_refused(state: CaseState, event: Event) -> None:
    state.pending_amendment = None
    state.permit_status = _settled_permit_status(state)


@folds("extension_requested")
def _extension_requested(state: CaseState, event: Event) -> None:
    state.permit_status = Status.RENEWAL_REQUESTED
    state.pending_extension = dict(event.data)


@folds("extension_approved")
def _extension_approved(state: CaseState, event: Event) -> None:
    assert state.pending_extension is not None
    state.permit_versions.append(
        _new_version(
            state,
            Event(event.type, event.actor, event.at, {"valid_until": state.pending_extension["valid_until"]}),
            "extended",
        )
    )
    state.permit_extended = True
    state.pending_extension = None
    state.permit_status = Status.RENEWED


@folds("extension_refused")
def _extension_refused(state: CaseState, event: Event) -> None:
    state.pending_extension = None
    state.permit_status = _settled_permit_status(state)


@folds("revoked")
def _revoked(state: CaseState, event: Event) -> None:
    state.permit_status = Status.REVOKED
    state.permit_ended_at = event.at
    state.decision_reasons = event.data.get("reasons")


@folds("expired")
def _expired(state: CaseState, event: Event) -> None:
    state.permit_status = Status.EXPIRED
    state.permit_ended_at = event.at


def _record_people(state: CaseState, event: Event) -> None:
    """Remember who stands where on the case: the applicant's side, the named persons, the assessors."""
    kind, data = event.type, event.data
    if kind in PARTY_EVENTS:
        state.parties.append(identity_of(event))
    if kind in ASSESSMENT_EVENTS:
        state.assessors.append(identity_of(event))
    if kind in ("approved", "refused"):
        state.decider = identity_of(event)
    form = data.get("form")
    persons = form.get("persons") if isinstance(form, Mapping) else None
    if kind == "amendment_requested":
        persons = data.get("persons")
    for person in persons or ():
        if isinstance(person, Mapping) and isinstance(person.get("email"), str):
            state.named_emails.add(person["email"].strip().lower())


def _settled_permit_status(state: CaseState) -> Status:
    change = state.current_permit.change if state.current_permit else "issued"
    return {"issued": Status.GRANTED, "amended": Status.AMENDED, "extended": Status.RENEWED}[change]


EVENT_TYPES = frozenset(
    {
        "created",
        "draft_updated",
        "submitted",
        "pre_screening_started",
        "information_requested",
        "information_provided",
        "processing_started",
        "fee_estimated",
        "fee_accepted",
        "withdrawn",
        "closed_incomplete",
        "assessment_recorded",
        "deadline_extended",
        "approved",
        "refused",
        "appealed",
        "appeal_decided",
        "answered",
        "amendment_requested",
        "amendment_approved",
        "amendment_refused",
        "extension_requested",
        "extension_approved",
        "extension_refused",
        "revoked",
        "expired",
    }
)


def fold(case_id: str, kind: CaseType, owner: str, events: Iterable[Event]) -> CaseState:
    state = CaseState(id=case_id, kind=kind, owner=owner)
    for event in events:
        apply(state, event)
    return state


@dataclass(frozen=True)
class Deadline:
    """A statutory period: who must act by ``due`` (the access body or the applicant), and when it was met."""

    name: str
    due: date
    article: str
    met_at: datetime | None = None
    party: str = "hdab"

    def overdue(self, now: datetime) -> bool:
        return self.met_at is None and deadlines.is_overdue(self.due, now)


def case_deadlines(state: CaseState) -> list[Deadline]:
    """Every statutory deadline of the case so far, with the moment it was met where it was."""
    out: list[Deadline] = []
    decided = state.decided_at
    if state.status is Status.AWAITING_ADDITIONAL_INFORMATION and state.information_requested_at:
        # Art. 68(4): not completed within 4 weeks, no permit
        out.append(
            Deadline(
                "completion",
                deadlines.weeks_after(state.information_requested_at, 4),
                "68(4)",
                party="applicant",
            )
        )
    if state.kind is CaseType.ACCESS and state.processing_started_at is not None:
        months, extension = (2, 1) if state.accelerated else (3, 3)  # Art. 68(4) and 68(6)
        if state.deadline_extension is not None:
            months += extension
        out.append(
            Deadline(
                "decision",
                deadlines.months_after(state.processing_started_at, months),
                "68(6)" if state.accelerated else "68(4)",
                decided,
            )
        )
    if state.kind is CaseType.STATISTICS and state.submitted_at is not None:
        # Art. 69(4): assessed within 3 months of receipt, answered within 3 more where possible
        months = 3 + (3 if state.deadline_extension is not None else 0)
        assessment_due = deadlines.months_after(state.submitted_at, months)
        out.append(Deadline("decision", assessment_due, "69(4)", decided))
        if state.decision is Decision.POSITIVE and decided is not None:
            out.append(Deadline("answer", deadlines.months_after(decided, 3), "69(4)", state.answered_at))
    if decided is not None:
        # Art. 57(1)(j), 58: decisions are published with reasons within 30 working days; the
        # public register shows a decision as soon as it is made
        out.append(Deadline("publication", deadlines.working_days_after(decided, 30), "58", decided))
        if state.decision is Decision.NEGATIVE:
            # forvaltningsloven section 29: an appeal within 3 weeks of the decision
            out.append(
                Deadline(
                    "appeal", deadlines.weeks_after(decided, 3), "fvl. 29", state.appealed_at, "applicant"
                )
            )
    permit = state.current_permit
    if permit is not None:
        out.append(Deadline("permit_expiry", permit.valid_until, "68(12)", state.permit_ended_at, "permit"))
        out.append(Deadline("data_deletion", permit.delete_data_by, "68(12)", party="permit"))
    return out


OPEN_FOR_CASEWORK = frozenset(
    {
        Status.SUBMITTED,
        Status.PRE_SCREENING,
        Status.AWAITING_ADDITIONAL_INFORMATION,
        Status.PROCESSING,
        Status.AWAITING_FEE_ACCEPTANCE,
        Status.APPEALED,
        Status.APPEAL_APPROVED,
    }
)


def next_due(state: CaseState) -> date | None:
    """What the caseworker inbox sorts by: the earliest deadline still to meet on an open case."""
    if state.status not in OPEN_FOR_CASEWORK and state.permit_status not in (
        Status.AMENDMENT_REQUESTED,
        Status.RENEWAL_REQUESTED,
    ):
        return None
    pending = [
        d.due
        for d in case_deadlines(state)
        if d.met_at is None and d.name in ("completion", "decision", "answer")
    ]
    if state.status is Status.SUBMITTED and state.submitted_at is not None and not pending:
        # pre-screening has no deadline of its own; the decision clock bounds it in practice
        pending.append(deadlines.months_after(state.submitted_at, 3))
    return min(pending) if pending else None
