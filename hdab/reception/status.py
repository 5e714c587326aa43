"""Where a submitter stands: its series, last accepted period, gaps, error rate, lag.

A submitter (role ``submitter``) sees its own organisation; the registry's staff (``data_holder`` of
the registry's organisation) and admins see any.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hdab.core.auth import Principal, Role
from hdab.core.errors import Forbidden, InvalidInput
from hdab.core.identifiers import InvalidIdentifier, validate_organisation_number
from hdab.reception.models import Rejection, Stream, Submitter
from hdab.reception.schemas import StatusOut, StreamOut


def is_staff(principal: Principal, registry_organisation: str) -> bool:
    return principal.has_role(Role.ADMIN) or (
        principal.has_role(Role.DATA_HOLDER) and principal.organisation == registry_organisation
    )


def for_caller(
    session: Session, principal: Principal, unit: str | None, registry_organisation: str
) -> StatusOut:
    if is_staff(principal, registry_organisation):
        if unit is None:
            raise InvalidInput("name the unit: ?unit=<organisation number>")
        try:
            validate_organisation_number(unit)
        except InvalidIdentifier as exc:
            raise InvalidInput(str(exc)) from None
        return of_unit(session, unit)
    if principal.has_role(Role.SUBMITTER) and principal.organisation is not None:
        if unit is not None and unit != principal.organisation:
            raise Forbidden("a submitter sees its own organisation's status only")
        return of_unit(session, principal.organisation)
    raise Forbidden("this needs the role submitter, or data_holder of the registry's organisation")


def of_unit(session: Session, unit: str) -> StatusOut:
    submitter = session.get(Submitter, unit)
    streams = session.scalars(select(Stream).where(Stream.unit == unit).order_by(Stream.message_type)).all()
    rejected = int(
        session.scalar(select(func.count()).select_from(Rejection).where(Rejection.unit == unit)) or 0
    )
    accepted = sum(s.messages for s in streams)
    return StatusOut(
        unit=unit,
        name=submitter.name if submitter else None,
        registered=submitter is not None and submitter.active,
        message_types=list(submitter.message_types) if submitter else [],
        streams=[
            StreamOut(
                message_type=s.message_type,
                last_sequence=s.last_sequence,
                last_extraction=s.last_extraction,
                last_received_at=s.last_received_at,
                messages=s.messages,
                records=s.records,
                missing_days=s.missing_days,
                mean_lag_hours=round(s.lag_seconds / s.messages / 3600, 2) if s.messages else None,
            )
            for s in streams
        ],
        rejected=rejected,
        error_rate=round(rejected / (accepted + rejected), 4) if accepted + rejected else None,
    )
