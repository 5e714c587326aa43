"""What other domains may ask of applications: permit versions and statistics requests as frozen data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hdab.applications import handlers, service
from hdab.applications.domain import CaseType, DataSpecification, Decision, Recurrence, Schedule
from hdab.applications.labels import MODES, SCHEDULES, status_label
from hdab.applications.models import Application
from hdab.applications.state import PermitVersion
from hdab.core.auth import Principal
from hdab.core.errors import NotFound

__all__ = [
    "MODES",  # a recurring permit's delivery mode in words, for the extract pages
    "SCHEDULES",  # a recurring permit's schedule in words, for the extract pages
    "PermitStanding",
    "PermitVersion",
    "Recurrence",
    "RecurringPermit",
    "Schedule",
    "StatisticsRequest",
    "mark_answered",
    "may_act_as_staff",
    "may_see_case",
    "permit_standing",
    "permit_version",
    "permit_versions",
    "recurring_permits",
    "statistics_request",
    "status_label",  # a case's or permit's status in words, for the extract pages
]


@dataclass(frozen=True)
class StatisticsRequest:
    application_id: str
    purpose: str
    specification: DataSpecification
    approved_at: datetime
    applicant_organisation: str | None


def _case_of_permit(session: Session, permit_id: str) -> service.Loaded:
    case_id = session.scalars(select(Application.id).where(Application.permit_id == permit_id)).one_or_none()
    if case_id is None:
        raise NotFound(f"no permit {permit_id}")
    return service.load(session, case_id)


def permit_version(session: Session, permit_id: str, version: int | None = None) -> PermitVersion:
    """One version of a permit (the current one when ``version`` is None), from the case's event log."""
    versions = _case_of_permit(session, permit_id).state.permit_versions
    if version is None:
        return versions[-1]
    if not 1 <= version <= len(versions):
        raise NotFound(f"permit {permit_id} has no version {version}")
    return versions[version - 1]


def permit_versions(session: Session, permit_id: str) -> tuple[PermitVersion, ...]:
    """Every version of a permit, in order (an extract plan needs when each dataset was first approved)."""
    return tuple(_case_of_permit(session, permit_id).state.permit_versions)


@dataclass(frozen=True)
class PermitStanding:
    permit_id: str
    status: str
    assessor: str | None  # who assessed the case: not the one to release a held extract (four eyes)
    authorised_subjects: tuple[str, ...]  # sign-in subjects bound to the permit's persons
    valid_until: date | None = None
    delete_data_by: date | None = None  # Art. 68(12): delivered data are gone by this day
    recipient_organisation: str | None = None  # the public body receiving recurring deliveries

    @property
    def open(self) -> bool:
        """Whether data may still be delivered and read under the permit."""
        return self.status not in ("EXPIRED", "REVOKED")


def permit_standing(session: Session, permit_id: str) -> PermitStanding:
    loaded = _case_of_permit(session, permit_id)
    state = loaded.state
    current = state.current_permit
    recurrence = current.specification.recurrence if current is not None else None
    return PermitStanding(
        permit_id=permit_id,
        status=(state.permit_status or state.status).value,
        assessor=state.assessor,
        authorised_subjects=tuple(sorted(loaded.members)),
        valid_until=current.valid_until if current is not None else None,
        delete_data_by=current.delete_data_by if current is not None else None,
        recipient_organisation=recurrence.recipient_organisation if recurrence is not None else None,
    )


@dataclass(frozen=True)
class RecurringPermit:
    permit_id: str
    version: int
    recurrence: Recurrence
    first_approved_at: datetime
    valid_until: date


def recurring_permits(session: Session) -> list[RecurringPermit]:
    """Open permits whose current version asks for recurring deliveries (Art. 67(5))."""
    out = []
    rows = session.scalars(select(Application.permit_id).where(Application.permit_id.is_not(None)))
    for permit_id in rows:
        assert permit_id is not None
        loaded = _case_of_permit(session, permit_id)
        current = loaded.state.current_permit
        status = loaded.state.permit_status
        if current is None or status is None or status.value in ("EXPIRED", "REVOKED"):
            continue
        if current.specification.recurrence is not None:
            out.append(
                RecurringPermit(
                    permit_id,
                    current.version,
                    current.specification.recurrence,
                    current.first_approved_at,
                    current.valid_until,
                )
            )
    return out


def statistics_request(session: Session, application_id: str) -> StatisticsRequest:
    state = service.load(session, application_id).state
    if (
        state.kind is not CaseType.STATISTICS
        or state.decision is not Decision.POSITIVE
        or state.decided_at is None
    ):
        raise NotFound(f"no approved statistics request {application_id}")
    return StatisticsRequest(
        application_id=state.id,
        purpose=state.form.purpose.value if state.form.purpose else "",
        specification=state.specification,
        approved_at=state.decided_at,
        applicant_organisation=state.form.applicant.organisation,
    )


def may_see_case(session: Session, principal: Principal, application_id: str) -> bool:
    """Whether the caller may see the case (its owner, a bound member, or the access body's staff)."""
    try:
        return service.may_see(principal, service.load(session, application_id))
    except NotFound:
        return False


def may_act_as_staff(
    session: Session, principal: Principal, case_or_permit_id: str, *, deciding: bool = True
) -> str | None:
    """Why the caller may not act for the access body on this case, its permit or its extract jobs,
    whatever roles their token holds; None when they may (EHDS Art. 55(2), 57: impartial staff).

    Refused: the applicant and anyone acting for the applicant's side, anyone named in the case, and
    (``deciding``, the default: a release of data is a decision) anyone who assessed the case. The
    same person is recognised by subject@issuer, verified email or national id. ``case_or_permit_id``
    is an application id or a permit id; an unknown id raises NotFound.
    """
    case_id = session.scalars(
        select(Application.id).where(
            (Application.id == case_or_permit_id) | (Application.permit_id == case_or_permit_id)
        )
    ).first()
    if case_id is None:
        raise NotFound(f"no application or permit {case_or_permit_id}")
    return service.conflict_of_interest(principal, service.load(session, case_id), deciding=deciding)


def mark_answered(session: Session, application_id: str) -> None:
    """The extract service delivered the statistics tables of an approved request."""
    service.execute(session, None, application_id, "mark-answered", handlers.Empty())
