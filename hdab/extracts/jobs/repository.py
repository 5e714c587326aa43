"""Queries of extract jobs and their steps, as ``select()`` statements.

Jobs are the access body's: every query here is one that staff (or the system) may run; the routes
let only caseworkers and administrators in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Update, or_, select, update

from hdab.extracts.jobs.domain import ACTIVE, JobKind, JobStatus
from hdab.extracts.jobs.models import ExtractJob, ExtractStep


def by_key(key: str) -> Select[ExtractJob]:
    return select(ExtractJob).where(ExtractJob.dedup_key == key)


def locked(job_id: str) -> Select[ExtractJob]:
    """The job, its row locked for this transaction (and read afresh)."""
    return (
        select(ExtractJob)
        .where(ExtractJob.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def newer_than(job: ExtractJob) -> Select[ExtractJob]:
    """The first job of the same permit made after ``job`` (at the same instant counts as after)."""
    return (
        select(ExtractJob)
        .where(
            ExtractJob.permit_id == job.permit_id,
            ExtractJob.id != job.id,
            ExtractJob.created_at >= job.created_at,
        )
        .order_by(ExtractJob.created_at, ExtractJob.id)
        .limit(1)
    )


def of_permit(permit_id: str) -> Select[ExtractJob]:
    return select(ExtractJob).where(ExtractJob.permit_id == permit_id).order_by(ExtractJob.created_at)


def active_of_permit(permit_id: str) -> Select[ExtractJob]:
    """The permit's queued, running and held jobs, locked (a worker claiming a step waits)."""
    return (
        select(ExtractJob)
        .where(ExtractJob.permit_id == permit_id, ExtractJob.status.in_(ACTIVE))
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def plans_of_permit(permit_id: str | None) -> Select[dict[str, Any] | None]:
    """The stored plans of a permit's jobs, oldest first."""
    return select(ExtractJob.plan).where(ExtractJob.permit_id == permit_id).order_by(ExtractJob.created_at)


def steps_of(job_id: str) -> Select[ExtractStep]:
    return select(ExtractStep).where(ExtractStep.job_id == job_id).order_by(ExtractStep.id)


def last_step(job_id: str, index: int) -> Select[ExtractStep]:
    """The latest record of step ``index`` of the job."""
    return (
        select(ExtractStep)
        .where(ExtractStep.job_id == job_id, ExtractStep.step_index == index)
        .order_by(ExtractStep.id.desc())
        .limit(1)
    )


def attempts(job_id: str, index: int) -> Select[int]:
    return select(ExtractStep.id).where(ExtractStep.job_id == job_id, ExtractStep.step_index == index)


def delivered_statistics(application_id: str) -> Select[ExtractJob]:
    return select(ExtractJob).where(
        ExtractJob.application_id == application_id,
        ExtractJob.kind == JobKind.STATISTICS,
        ExtractJob.status == JobStatus.DELIVERED,
    )


def by_ids(ids: Sequence[str]) -> Select[str, str, bool, datetime]:
    return select(ExtractJob.id, ExtractJob.status, ExtractJob.step_claimed, ExtractJob.updated_at).where(
        ExtractJob.id.in_(ids)
    )


def recurring_in(permit_id: str, statuses: Sequence[str]) -> Select[ExtractJob]:
    """The permit's recurring runs in these statuses, in the order they are due."""
    return (
        select(ExtractJob)
        .where(
            ExtractJob.permit_id == permit_id,
            ExtractJob.kind == JobKind.RECURRING,
            ExtractJob.status.in_(statuses),
        )
        .order_by(ExtractJob.run_at)
    )


def earlier_runs_open(job: ExtractJob) -> Select[str]:
    """Recurring runs of the permit due before this one that have not ended."""
    return select(ExtractJob.id).where(
        ExtractJob.permit_id == job.permit_id,
        ExtractJob.kind == JobKind.RECURRING,
        ExtractJob.run_at < job.run_at,
        ExtractJob.status.in_(ACTIVE),
    )


def stale(now: datetime, queued_for: timedelta, lease: timedelta) -> Select[str]:
    """Jobs to hand on again: queued but never started, or a step whose worker has died."""
    return select(ExtractJob.id).where(
        or_(
            (ExtractJob.status == JobStatus.QUEUED) & (ExtractJob.updated_at < now - queued_for),
            (ExtractJob.status == JobStatus.RUNNING) & (ExtractJob.updated_at < now - lease),
        )
    )


def claim(job_id: str, index: int, now: datetime, lease: timedelta) -> Update:
    """Take step ``index`` of the job: it is next, and nobody runs it (or its runner's lease ran out)."""
    return (
        update(ExtractJob)
        .where(
            ExtractJob.id == job_id,
            ExtractJob.next_step == index,
            ExtractJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            or_(ExtractJob.step_claimed.is_(False), ExtractJob.updated_at < now - lease),
        )
        .values(status=JobStatus.RUNNING, step_claimed=True, updated_at=now)
    )
