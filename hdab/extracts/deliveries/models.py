"""Tables of deliveries: the numbered series of a permit, recipients' receipts, every read of a file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hdab.core.db import Base, UTCDateTime


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
