"""Tables of extract jobs and their steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hdab.core.db import Base, UTCDateTime


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
    # what the first step froze beside the plan (data dictionary, recipients, delivery number):
    # later steps read it here instead of asking applications and the catalogue again (Frozen)
    frozen: Mapped[dict[str, Any] | None] = mapped_column(JSON())
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
