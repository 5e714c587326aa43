"""Tables of the extracts domain: the opt-out registry, extract jobs and their steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hdab.core.db import Base, UTCDateTime


class OptOutEvent(Base):
    """One opt-out or reversal; ``person`` is the keyed hash of the identifier, never the identifier."""

    __tablename__ = "optout_events"
    __table_args__ = (UniqueConstraint("person", "at", "action"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # when it took effect
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when this registry learned it
    source: Mapped[str] = mapped_column(String(100))  # citizen, or import:<sha256 of the file>


class ExtractJob(Base):
    """One extract: made from one permit version (or statistics request), delivered at most once."""

    __tablename__ = "extract_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # permit, rerun, statistics
    # "permit:{id}:{version}" for the job a permit version creates: a repeated message finds it
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    permit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    permit_version: Mapped[int | None] = mapped_column(Integer)
    application_id: Mapped[str | None] = mapped_column(String(36), index=True)
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # a recurring run's time
    changed_since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # changes mode: the run before
    status: Mapped[str] = mapped_column(String(20), index=True)
    next_step: Mapped[int] = mapped_column(Integer, default=0)  # the step to run next (see run.sequence)
    step_claimed: Mapped[bool] = mapped_column(Boolean, default=False)  # a worker is running next_step
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    delivery_path: Mapped[str | None] = mapped_column(String(1000))
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    held_reason: Mapped[str | None] = mapped_column(Text())
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    error: Mapped[str | None] = mapped_column(Text())
    requested_by: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExtractStep(Base):
    """One step of one table of a job: counts and timing, for the job page and the audit."""

    __tablename__ = "extract_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("extract_jobs.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    step_index: Mapped[int] = mapped_column(Integer)
    dataset: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(40))
    rows_in: Mapped[int] = mapped_column(Integer)
    rows_out: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column()
    input_digest: Mapped[str | None] = mapped_column(String(64))
    output_digest: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    """One delivery of a permit, numbered; each names its predecessor, so a series can be proved whole."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("permit_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the job's id
    permit_id: Mapped[str] = mapped_column(String(64), index=True)
    number: Mapped[int] = mapped_column(Integer)
    predecessor: Mapped[str | None] = mapped_column(String(36))
    permit_version: Mapped[int] = mapped_column(Integer)
    recipient_organisation: Mapped[str | None] = mapped_column(String(9), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON())
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deletion_certificate: Mapped[dict[str, Any] | None] = mapped_column(JSON())


class DeliveryReceipt(Base):
    """A client's confirmation that it received a delivery, with the checksums it computed.

    One per client of the recipient organisation (each machine client, each person): a second
    client's receipt is added beside the first, never in its place.
    """

    __tablename__ = "delivery_receipts"
    __table_args__ = (UniqueConstraint("delivery_id", "client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"))
    client: Mapped[str] = mapped_column(String(500))  # who confirmed, as the audit log names them
    organisation: Mapped[str | None] = mapped_column(String(9))
    checksums: Mapped[dict[str, str]] = mapped_column(JSON())  # file name -> SHA-256 the client computed
    mismatched: Mapped[list[str]] = mapped_column(JSON())  # files whose checksum differs from ours
    unknown: Mapped[list[str]] = mapped_column(JSON())  # names that are no file of the delivery
    mismatch: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeliveryAccess(Base):
    """Every read of a delivered file (Art. 73(1)(e)): by whom, when, which file and bytes."""

    __tablename__ = "delivery_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    permit_id: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(500))
    organisation: Mapped[str | None] = mapped_column(String(9))
    file: Mapped[str] = mapped_column(String(200))
    byte_range: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
