"""Where extract jobs keep their files outside the finished delivery, and how those files go.

A job's work files (``{HDAB_DATA_DIR}/extract-work/{job}``: 0700, files 0600, Parquet encrypted
under the job's key, DuckDB's spill folder inside; see ``pipeline.workfiles``) still hold national
identifiers, and its ``.incoming-{job}`` folder in the room holds a delivery nobody has approved
yet. Both go as soon as the job ends, whichever way: delivered, rejected at review, cancelled by a
revocation, failed. They go once the transaction that ends the job has committed (a rollback keeps
the job, and so its files); a held job keeps them for the caseworker who decides. What a killed
process leaves behind, ``jobs.service.sweep_work`` removes (task ``extracts.sweep_work``, hourly).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from hdab.core import runtime
from hdab.core.db import after_commit
from hdab.extracts.jobs.models import ExtractJob
from hdab.extracts.pipeline import workfiles

log = logging.getLogger(__name__)

INCOMING = ".incoming-"


def work_root() -> Path:
    """Every job's work folder is in here: outside the room, private to the service."""
    return runtime.settings().data_dir / "extract-work"


def spe_root() -> Path:
    settings = runtime.settings()
    return settings.spe_root or settings.data_dir / "spe"


def work_folder(job_id: str) -> Path:
    return work_root() / job_id


@dataclass(frozen=True)
class Leftovers:
    """What a job may leave on disk before it is delivered: its work folder and its incoming folder."""

    job_id: str
    permit_id: str | None
    application_id: str | None

    @classmethod
    def of(cls, job: ExtractJob) -> Leftovers:
        return cls(job.id, job.permit_id, job.application_id)

    @property
    def incoming(self) -> Path | None:
        if self.permit_id is not None:
            return spe_root() / self.permit_id / f"{INCOMING}{self.job_id}"
        if self.application_id is not None:
            return spe_root() / "statistics" / self.application_id / f"{INCOMING}{self.job_id}"
        return None


def remove(leftovers: Leftovers) -> list[str]:
    """Remove the job's work folder and incoming folder now; says which there were."""
    removed = []
    if workfiles.remove(work_folder(leftovers.job_id)):
        removed.append("work")
    incoming = leftovers.incoming
    if incoming is not None and workfiles.remove(incoming):
        removed.append("incoming")
    return removed


def remove_after_commit(session: Session, job: ExtractJob) -> None:
    """Remove the job's work and incoming folders once the caller's transaction commits."""
    after_commit(session, _remove_all, Leftovers.of(job))


def _remove_all(_session: Session, ended: list[Leftovers]) -> None:
    for leftovers in ended:
        try:
            remove(leftovers)
        except OSError as exc:  # the sweeper tries again within the hour
            log.warning(
                "extract job %s: its work files were not removed (%s)", leftovers.job_id, exc.strerror
            )
