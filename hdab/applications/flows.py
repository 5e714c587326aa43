"""Side effects of commands, run in the command's transaction: permits, hand-overs, notifications.

Nothing here talks to another system directly: work for others is an outbox message (sent after
commit), mail is a notification row plus an outbox message to the mail task.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from hdab.applications import repository
from hdab.applications.domain import CaseType, Status
from hdab.applications.models import Application, ApplicationMember, Notification, Permit, PermitVersionRow
from hdab.applications.signing import PermitSigner
from hdab.applications.state import CaseState, Event
from hdab.core import audit, clock, outbox, runtime

PERMIT_ISSUED = "permit.issued"
STATISTICS_APPROVED = "statistics_request.approved"
PERMIT_REVOKED = "permit.revoked"
SEND_NOTIFICATION = "applications.send_notification"

STATUS_TEXT = {
    Status.SUBMITTED: ("Application received", "Søknaden er mottatt"),
    Status.PRE_SCREENING: ("Completeness check started", "Kontroll av fullstendighet har startet"),
    Status.AWAITING_ADDITIONAL_INFORMATION: ("More information needed", "Vi trenger mer informasjon"),
    Status.PROCESSING: ("Application under assessment", "Søknaden er under vurdering"),
    Status.AWAITING_FEE_ACCEPTANCE: ("Fee estimate to accept", "Gebyroverslag til godkjenning"),
    Status.DECISION_ISSUED: ("Decision issued", "Vedtak er fattet"),
    Status.CLOSED_INCOMPLETE: ("Closed as incomplete", "Avsluttet som ufullstendig"),
    Status.WITHDRAWN: ("Application withdrawn", "Søknaden er trukket"),
    Status.ANSWERED: ("Statistics delivered", "Statistikken er levert"),
    Status.APPEALED: ("Appeal received", "Klagen er mottatt"),
    Status.APPEAL_APPROVED: ("Appeal upheld", "Klagen er tatt til følge"),
    Status.APPEAL_REJECTED: ("Appeal rejected", "Klagen er ikke tatt til følge"),
    Status.GRANTED: ("Data permit granted", "Tillatelse er gitt"),
    Status.AMENDMENT_REQUESTED: ("Amendment requested", "Endring er søkt"),
    Status.AMENDED: ("Permit amended", "Tillatelsen er endret"),
    Status.RENEWAL_REQUESTED: ("Extension requested", "Forlengelse er søkt"),
    Status.RENEWED: ("Permit extended", "Tillatelsen er forlenget"),
    Status.EXPIRED: ("Permit expired", "Tillatelsen er utløpt"),
    Status.REVOKED: ("Permit revoked", "Tillatelsen er tilbakekalt"),
}


@cache
def signer(key_file: Path) -> PermitSigner:
    return PermitSigner(key_file)


def current_signer() -> PermitSigner:
    path = runtime.settings().permit_signing_key_file
    assert path is not None
    return signer(path)


def after_command(
    session: Session,
    row: Application,
    state: CaseState,
    new_events: list[Event],
    before: Status,
    named: Sequence[ApplicationMember] | None = None,
) -> None:
    """``named``: the persons named in the case now, when the caller has them (else they are read)."""
    _store_permit(session, row, state)
    if state.kind is CaseType.STATISTICS and any(e.type == "approved" for e in new_events):
        outbox.enqueue(session, STATISTICS_APPROVED, {"application_id": row.id})
    if state.permit_id is not None and any(e.type == "revoked" for e in new_events):
        # Art. 63: the extract service stops the permit's jobs at once
        outbox.enqueue(session, PERMIT_REVOKED, {"permit_id": state.permit_id})
    if state.row_status is not before:
        notify(session, row, state.row_status, named)


def _store_permit(session: Session, row: Application, state: CaseState) -> None:
    if state.permit_id is None or state.permit_status is None:
        return
    permit = session.get(Permit, state.permit_id)
    current = state.current_permit
    assert current is not None
    if permit is None:
        permit = Permit(
            id=state.permit_id,
            application_id=row.id,
            status=state.permit_status.value,
            current_version=0,
            valid_until=current.valid_until,
            delete_data_by=current.delete_data_by,
            updated_at=clock.now(),
        )
        session.add(permit)
        session.flush()
    for version in state.permit_versions[permit.current_version :]:
        payload = version.payload()
        token, kid = current_signer().sign(payload)
        session.add(
            PermitVersionRow(
                permit_id=permit.id,
                version=version.version,
                payload=payload,
                jws=token,
                kid=kid,
                approved_at=version.approved_at,
            )
        )
        # Art. 68(7): the data holder is asked at once; the extract service takes it from here.
        outbox.enqueue(session, PERMIT_ISSUED, {"permit_id": permit.id, "version": version.version})
        audit.record(
            session,
            actor=version.approved_by,
            action="permit.version_issued",
            object_type="permit",
            object_id=permit.id,
            details={"version": version.version, "change": version.change, "kid": kid},
        )
    permit.current_version = len(state.permit_versions)
    permit.status = state.permit_status.value
    permit.valid_until = current.valid_until
    permit.delete_data_by = current.delete_data_by
    permit.updated_at = clock.now()
    session.flush()


def notify(
    session: Session, row: Application, status: Status, named: Sequence[ApplicationMember] | None = None
) -> list[Notification]:
    """Tell the applicant and every named person of a status change, in the app and by email.

    ``named``: the persons named in the case now, when the caller has them (else they are read).
    """
    title_en, title_nb = STATUS_TEXT.get(status, (status.value, status.value))
    title = f"{title_en} / {title_nb}: {row.title or row.id}"
    # in words, bokmål first (the pages' default), with the address of the case page
    link = f"{runtime.settings().base_url}/applications/{row.id}"
    body = (
        f"{title_nb}: {row.title or 'søknad uten tittel'}.\nSe saken: {link}\n\n"
        f"{title_en}: {row.title or 'untitled application'}.\nSee the case: {link}\n"
    )
    recipients: dict[str, str | None] = {}
    if row.owner_email:
        recipients[row.owner_email] = row.owner
    if named is None:
        named = session.scalars(repository.members(row.id)).all()
    for member in named:
        recipients.setdefault(member.email, member.subject)
    created = []
    now = clock.now()
    owner_seen = row.owner_email is not None
    if not owner_seen:
        recipients[""] = row.owner  # an owner without email still sees it in the app
    for email, subject in recipients.items():
        note = Notification(
            application_id=row.id,
            email=email or None,
            subject=subject,
            title=title,
            body=body,
            created_at=now,
        )
        session.add(note)
        created.append(note)
    session.flush()
    if runtime.settings().smtp_url:
        for note in created:
            if note.email:
                outbox.enqueue(session, SEND_NOTIFICATION, {"notification_id": note.id})
    return created
