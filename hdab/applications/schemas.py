"""What the applications edges take in and give out: request bodies, response models, presenters.

The presenters build the JSON-ready dicts that the API answers and the pages show; the response
models document (and, where a route returns a dict, check) exactly those shapes. Times are ISO 8601
strings as the presenters write them, so a model never reformats one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel

from hdab.applications import service
from hdab.applications.domain import ApplicationForm, CaseType, Status
from hdab.applications.models import Application, Notification, Permit, PermitVersionRow
from hdab.applications.state import case_deadlines
from hdab.core import clock

# --- requests ------------------------------------------------------------------------------------


class NewApplication(BaseModel):
    type: CaseType
    form: ApplicationForm = ApplicationForm()


# --- a case ----------------------------------------------------------------------------------------


class Created(BaseModel):
    id: str
    status: str


class DeadlineOut(BaseModel):
    name: str
    due: str
    article: str
    party: str
    met_at: str | None
    overdue: bool


class EventOut(BaseModel):
    seq: int
    type: str
    actor: str
    at: str
    data: dict[str, Any]


class CaseOut(BaseModel):
    """A case as the API shows it (documentation of the answer of GET and of every command)."""

    id: str
    type: CaseType
    status: Status
    decision: str | None
    permit_id: str | None
    permit_status: Status | None
    version: int
    form: dict[str, Any]
    specification: dict[str, Any]
    fee: dict[str, Any]
    assessment: dict[str, Any] | None
    deadlines: list[DeadlineOut]
    allowed_commands: list[str]
    events: list[EventOut]


def case_view(loaded: service.Loaded, allowed: list[str]) -> dict[str, Any]:
    """The case as the API shows it; ``allowed``: the commands the caller may use now."""
    state, now = loaded.state, clock.now()
    return {
        "id": state.id,
        "type": state.kind.value,
        "status": state.status.value,
        "decision": state.decision.value if state.decision else None,
        "permit_id": state.permit_id,
        "permit_status": state.permit_status.value if state.permit_status else None,
        "version": state.version,
        "form": state.form.model_dump(mode="json", exclude_none=True),
        "specification": state.specification.model_dump(mode="json", exclude_none=True),
        "fee": {
            "amount": str(state.fee_amount) if state.fee_amount is not None else None,
            "currency": state.fee_currency,
            "accepted": state.fee_accepted,
        },
        "assessment": {
            "assessor": state.assessor,
            "criteria": {k: v.model_dump() for k, v in state.criteria.items()},
            "risks": state.risks,
        }
        if state.assessor
        else None,
        "deadlines": [
            {
                "name": d.name,
                "due": d.due.isoformat(),
                "article": d.article,
                "party": d.party,
                "met_at": d.met_at.isoformat() if d.met_at else None,
                "overdue": d.overdue(now),
            }
            for d in case_deadlines(state)
        ],
        "allowed_commands": allowed,
        "events": [
            {
                "seq": i + 1,
                "type": e.type,
                "actor": e.actor,
                "at": e.at.isoformat(),
                # "by" (the actor's email and national-id reference) serves impartiality checks only
                "data": {k: v for k, v in e.data.items() if k != "by"},
            }
            for i, e in enumerate(state.events)
        ],
    }


# --- lists of cases --------------------------------------------------------------------------------


class ApplicationSummary(BaseModel):
    """A case in a list: the read model's columns, what is due next and whether it is overdue."""

    id: str
    type: str
    title: str | None
    status: str
    decision: str | None
    permit_id: str | None
    permit_status: str | None
    organisation_name: str | None
    datasets: list[str]
    submitted_at: str | None
    next_due: str | None
    overdue: bool


class ApplicationPage(BaseModel):
    items: list[ApplicationSummary]
    page: int
    page_size: int
    total: int


def summary(row: Application, today: date | None = None) -> dict[str, Any]:
    """A case in a list; ``today`` (Oslo) once for a whole page rather than per row."""
    today = today or clock.now_oslo().date()
    return {
        "id": row.id,
        "type": row.kind,
        "title": row.title,
        "status": row.status,
        "decision": row.decision,
        "permit_id": row.permit_id,
        "permit_status": row.permit_status,
        "organisation_name": row.organisation_name,
        "datasets": row.datasets,
        "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
        "next_due": row.next_due.isoformat() if row.next_due else None,
        "overdue": row.next_due is not None and row.next_due < today,
    }


# --- permits ---------------------------------------------------------------------------------------


class PermitVersionOut(BaseModel):
    version: int
    approved_at: str
    change: str | None


class PermitOut(BaseModel):
    """A permit: its status, its current version as signed, and the list of its versions."""

    permit_id: str
    application_id: str
    status: str
    version: int
    valid_until: str
    delete_data_by: str
    current: dict[str, Any]
    versions: list[PermitVersionOut]


def permit_view(permit: Permit, versions: Sequence[PermitVersionRow]) -> dict[str, Any]:
    """``permit`` as the API shows it; ``versions``: all of its versions, oldest first."""
    return {
        "permit_id": permit.id,
        "application_id": permit.application_id,
        "status": permit.status,
        "version": permit.current_version,
        "valid_until": permit.valid_until.isoformat(),
        "delete_data_by": permit.delete_data_by.isoformat(),
        "current": versions[-1].payload,
        "versions": [
            {
                "version": v.version,
                "approved_at": v.approved_at.isoformat(),
                "change": v.payload.get("change"),
            }
            for v in versions
        ],
    }


class KeySet(BaseModel):
    """A JSON Web Key Set (RFC 7517): the public keys that verify permit signatures."""

    keys: list[dict[str, Any]]


# --- the public register ---------------------------------------------------------------------------


class RegisterEntry(BaseModel):
    """What the public may know of a case (Art. 57(1)(j), 58); never persons or contact details."""

    id: str
    type: str
    title: str | None
    organisation: str | None
    purpose: str | None
    datasets: list[str]
    received: str | None
    status: str
    decision: str | None
    decided: str | None
    justification: str | None
    permit_id: str | None


class RegisterPage(BaseModel):
    items: list[RegisterEntry]
    page: int
    page_size: int
    total: int


# --- notifications ---------------------------------------------------------------------------------


class NotificationOut(BaseModel):
    id: int
    application_id: str
    title: str
    created_at: str
    read: bool


class NotificationList(BaseModel):
    items: list[NotificationOut]


def notification_view(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "application_id": note.application_id,
        "title": note.title,
        "created_at": note.created_at.isoformat(),
        "read": note.read_at is not None,
    }
