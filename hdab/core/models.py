"""Core tables: the audit chain and the transactional outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hdab.core.db import Base, UTCDateTime

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """One entry of the append-only, hash-chained audit log.

    ``hash`` = HMAC-SHA-256 under ``HDAB_AUDIT_MAC_KEY`` (plain SHA-256 for entries written before the
    key existed) of ``prev_hash`` + canonical JSON of seq, time, actor, action, object, details.
    """

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSON())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row naming the chain's last entry.

    Appending updates this row first, which takes its row lock (PostgreSQL) or the write lock
    (SQLite) until commit: appenders queue on it, so the chain never forks. It also lets
    verification notice entries removed from the end of the chain.
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    """Work for a Celery task, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox_messages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    task: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text())


class SignInSession(Base):
    """A person's sign-in through an OpenID Connect provider; the browser holds only the random id.

    The row is found by the SHA-256 of that id, so a copy of the table does not yield live sessions.
    Signing out deletes the row, which ends the session in every server process at once.
    """

    __tablename__ = "signin_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(String(500))
    claims: Mapped[dict[str, Any]] = mapped_column(JSON())
    id_token: Mapped[str] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SeenProof(Base):
    """A DPoP proof's ``jti`` (hashed) while the proof could still be accepted: a second use is a replay."""

    __tablename__ = "dpop_seen_proofs"

    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
