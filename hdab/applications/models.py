"""Tables of the applications domain: the event log of each case, its read model, permits, mail.

``application_events`` is the record; ``applications`` is a read model rebuilt from it on every
command (status, deadlines, what the inbox and the register sort and filter by) and carries the
version that serialises concurrent commands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hdab.core.db import Base, UTCDateTime


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(500), index=True)  # subject@issuer
    owner_email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(40), index=True)
    decision: Mapped[str | None] = mapped_column(String(20))
    permit_status: Mapped[str | None] = mapped_column(String(40))
    permit_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(500))
    organisation: Mapped[str | None] = mapped_column(String(9))
    organisation_name: Mapped[str | None] = mapped_column(String(500))
    purpose: Mapped[str | None] = mapped_column(String(1))
    datasets: Mapped[list[str]] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_due: Mapped[date | None] = mapped_column(Date(), index=True)
    completion_due: Mapped[date | None] = mapped_column(Date(), index=True)


class ApplicationEvent(Base):
    __tablename__ = "application_events"
    __table_args__ = (UniqueConstraint("application_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON())


class ApplicationMember(Base):
    """A person named in the application, bound to a sign-in subject the first time they sign in."""

    __tablename__ = "application_members"
    __table_args__ = (UniqueConstraint("application_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(500), index=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Permit(Base):
    __tablename__ = "permits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), unique=True)
    status: Mapped[str] = mapped_column(String(40), index=True)
    current_version: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[date] = mapped_column(Date(), index=True)
    delete_data_by: Mapped[date] = mapped_column(Date())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PermitVersionRow(Base):
    __tablename__ = "permit_versions"
    __table_args__ = (UniqueConstraint("permit_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    permit_id: Mapped[str] = mapped_column(ForeignKey("permits.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON())
    jws: Mapped[str] = mapped_column(Text())
    kid: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    """A message about a case to one person: shown in the app, and sent by email by a task."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    subject: Mapped[str | None] = mapped_column(String(500), index=True)  # subject@issuer when known
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
