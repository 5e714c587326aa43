"""The opt-out registry's table: one row per opt-out or reversal, never the identifier."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
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
