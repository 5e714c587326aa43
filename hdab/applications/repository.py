"""Queries of the applications domain; what a principal may see is decided here, in the query."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, exists, or_, select

from hdab.applications.deadlines import oslo_date
from hdab.applications.domain import OPEN_PERMIT_STATUSES, Status
from hdab.applications.models import Application, ApplicationEvent, ApplicationMember, Permit
from hdab.core.auth import Principal, Role

STAFF_ROLES = (Role.CASEWORKER, Role.DECISION_MAKER, Role.ADMIN)


def events(case_id: str) -> Select[ApplicationEvent]:
    return (
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == case_id)
        .order_by(ApplicationEvent.seq)
    )


def members(case_id: str) -> Select[ApplicationMember]:
    """The persons named in a case, bound to a sign-in subject or not yet."""
    return (
        select(ApplicationMember)
        .where(ApplicationMember.application_id == case_id)
        .order_by(ApplicationMember.position, ApplicationMember.id)
    )


def visible_to(principal: Principal) -> Select[Application]:
    """Applications the principal may see: their own and those naming them; staff see every submitted one."""
    mine = or_(
        Application.owner == principal.actor,
        exists().where(
            ApplicationMember.application_id == Application.id, ApplicationMember.subject == principal.actor
        ),
    )
    if principal.has_role(*STAFF_ROLES):
        return select(Application).where(
            or_(Application.status != Status.DRAFT.value, Application.owner == principal.actor)
        )
    if principal.has_role(Role.APPLICANT):
        return select(Application).where(mine)
    return select(Application).where(Application.id.is_(None))


def inbox() -> Select[Application]:
    """Open cases for caseworkers, what is due first at the top; cases without a deadline last."""
    return (
        select(Application)
        .where(Application.next_due.is_not(None))
        .order_by(Application.next_due, Application.submitted_at)
    )


def completion_overdue(now: datetime) -> Select[str]:
    """Cases whose 4 weeks to complete (Art. 68(4)) ended before today."""
    return select(Application.id).where(
        Application.status == Status.AWAITING_ADDITIONAL_INFORMATION.value,
        Application.completion_due < oslo_date(now),
    )


def permits_past_end(now: datetime) -> Select[str]:
    today: date = oslo_date(now)
    return select(Permit.application_id).where(
        Permit.status.in_([s.value for s in OPEN_PERMIT_STATUSES]), Permit.valid_until < today
    )


def submitted_for_register() -> Select[Application]:
    """Every application received (Art. 57(1)(j)), newest first: drafts are nobody's business yet."""
    return (
        select(Application)
        .where(Application.submitted_at.is_not(None))
        .order_by(Application.submitted_at.desc(), Application.id)
    )
