"""The language of extract jobs: their kinds, statuses and review decisions. No I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Frozen:
    """What a job fixes at its first step, beside its plan, and every later step reads back.

    Asked of applications and the catalogue once: the data dictionary (per dataset and variable the
    catalogue's title and datatype) and the persons the permit version names (their emails). What
    can change while a job waits (a held job may wait days for its review) is not frozen but read at
    the deliver step from the permit's standing, which every step asks for anyway: the subjects
    bound to those persons since (a co-investigator's first sign-in) and the recurring deliveries'
    recipient. Nor is the delivery's place in its series: it is the permit's next number when the
    delivery is made (extracts' own table), so two overlapping jobs of one permit, e.g. an
    amendment's job and a re-run, never claim the same number.
    """

    dictionary: tuple[tuple[str, str, str, str], ...]  # (dataset, variable, title, datatype)
    persons: tuple[str, ...]  # the emails of the persons the permit version names

    def to_json(self) -> dict[str, Any]:
        return {
            "dictionary": [list(entry) for entry in self.dictionary],
            "persons": list(self.persons),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Frozen:
        return cls(
            dictionary=tuple((str(d), str(v), str(t), str(k)) for d, v, t, k in data["dictionary"]),
            persons=tuple(data["persons"]),
        )
