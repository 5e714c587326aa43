"""The language of extract jobs: their kinds, statuses and review decisions. No I/O."""

from __future__ import annotations

import enum

RUN_JOB = "extracts.run_job"  # the Celery task (and outbox message) that runs a job's next step
RERUN_OF = "rerun-of:"  # the dedup key of the job that runs a failed job again, before its id


class JobKind(enum.StrEnum):
    PERMIT = "permit"  # made by a permit version's issue (permit.issued)
    RERUN = "rerun"  # a deliberate re-run of a permit's current version
    RECURRING = "recurring"  # a scheduled run of a recurring delivery (Art. 67(5))
    STATISTICS = "statistics"  # the tables of an approved statistics request (Art. 69)


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    HELD = "held"  # a disclosure risk the pipeline could not resolve: a caseworker decides
    DELIVERED = "delivered"
    REJECTED = "rejected"
    FAILED = "failed"
    UNSUPPORTED = "unsupported"
    CANCELLED = "cancelled"  # the permit was revoked


# A job in one of these may still need its work files; any other status has ended it for good.
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.HELD)


class ReviewDecision(enum.StrEnum):
    """What a caseworker decides about a held job (four eyes)."""

    RELEASE = "release"
    REJECT = "reject"
