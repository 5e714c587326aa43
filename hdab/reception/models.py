"""Reception's tables: submitters, each unit's streams, messages, record keys and versions, watermarks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hdab.core.db import Base, UTCDateTime

BIGINT = BigInteger().with_variant(Integer, "sqlite")


class Submitter(Base):
    """A reporting unit or an EPJ vendor, by organisation number, and the message types it may send."""

    __tablename__ = "reception_submitters"

    organisation: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # unit or vendor
    category: Mapped[str] = mapped_column(String(40))  # e.g. fastlegekontor, spesialisthelsetjeneste
    message_types: Mapped[list[str]] = mapped_column(JSON())  # type names it may send
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Stream(Base):
    """One unit's series of one message type: where it stands, so that nothing comes out of order."""

    __tablename__ = "reception_streams"

    unit: Mapped[str] = mapped_column(String(9), primary_key=True)
    message_type: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BIGINT, default=0)
    last_extraction: Mapped[date | None] = mapped_column(Date())
    last_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    messages: Mapped[int] = mapped_column(BIGINT, default=0)
    records: Mapped[int] = mapped_column(BIGINT, default=0)
    missing_days: Mapped[int] = mapped_column(Integer, default=0)  # extraction days skipped between messages
    lag_seconds: Mapped[int] = mapped_column(BIGINT, default=0)  # sum, extraction date to receipt


class Message(Base):
    """An accepted message: who sent it, where it stands in its stream, and the payload (encrypted)."""

    __tablename__ = "reception_messages"
    __table_args__ = (
        UniqueConstraint("unit", "message_type", "sequence", name="uq_reception_messages_stream_sequence"),
        Index("ix_reception_messages_uncompacted", "compacted", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the correlation id
    unit: Mapped[str] = mapped_column(String(9))
    supplier: Mapped[str | None] = mapped_column(String(9))
    client: Mapped[str] = mapped_column(String(300))  # the token's client, as the audit log names it
    message_type: Mapped[str] = mapped_column(String(60))
    message_version: Mapped[str] = mapped_column(String(10))
    dataset: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int] = mapped_column(BIGINT)
    msg_hash: Mapped[str] = mapped_column(String(64))
    extraction_date: Mapped[date] = mapped_column(Date())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())  # every record's recorded_at
    records: Mapped[int] = mapped_column(Integer)
    deletions: Mapped[int] = mapped_column(Integer)
    software: Mapped[dict[str, str]] = mapped_column(JSON())  # the vendor and software headers
    sealed: Mapped[bytes] = mapped_column(LargeBinary())  # the payload under the storage key
    compacted: Mapped[bool] = mapped_column(Boolean, default=False)


class RecordKey(Base):
    """A record as its unit knows it, (unit, message type, local id), and the registry's record id for it."""

    __tablename__ = "reception_record_keys"
    __table_args__ = (
        UniqueConstraint("unit", "message_type", "local_id", name="uq_reception_record_keys_local"),
    )

    id: Mapped[int] = mapped_column(BIGINT, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String(9))
    message_type: Mapped[str] = mapped_column(String(60))
    local_id: Mapped[str] = mapped_column(String(64))
    latest_version: Mapped[int] = mapped_column(Integer)


class RecordVersion(Base):
    """One version of a record: which message brought it (and where in it), when, and whether a tombstone."""

    __tablename__ = "reception_versions"

    key_id: Mapped[int] = mapped_column(ForeignKey("reception_record_keys.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("reception_messages.id"), index=True)
    item: Mapped[int] = mapped_column(Integer)  # the element's place in the message's list of items
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted: Mapped[bool] = mapped_column(Boolean)


class Rejection(Base):
    """A refused message, counted for the submitter's error rate (codes only: never the payload)."""

    __tablename__ = "reception_rejections"

    id: Mapped[int] = mapped_column(BIGINT, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String(9), index=True)
    message_type: Mapped[str] = mapped_column(String(60))
    codes: Mapped[list[int]] = mapped_column(JSON())
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Watermark(Base):
    """How far a dataset's received versions are in the registry: everything received by ``through``."""

    __tablename__ = "reception_watermarks"

    dataset: Mapped[str] = mapped_column(String(100), primary_key=True)
    through: Mapped[datetime] = mapped_column(UTCDateTime())
    compacted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    versions: Mapped[int] = mapped_column(BIGINT, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)
