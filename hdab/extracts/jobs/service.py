"""Use cases of extract jobs: one per permit version or statistics request, re-runs, reviews of held
jobs, cancellation on revocation, recurring runs when due, and the sweep of what ended jobs left.

The caller's edge commits; nothing here commits.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hdab.applications import api as applications
from hdab.core import audit, clock, outbox
from hdab.core.auth import Principal
from hdab.core.errors import Conflict, Forbidden, NotFound
from hdab.extracts.jobs import repository, schedule, workspace
from hdab.extracts.jobs.domain import ACTIVE, RERUN_OF, RUN_JOB, JobKind, JobStatus, ReviewDecision
from hdab.extracts.jobs.models import ExtractJob, ExtractStep
from hdab.extracts.pipeline import workfiles

log = logging.getLogger(__name__)


def _new_job(session: Session, *, kind: str, actor: str, dedup_key: str | None, **fields: Any) -> ExtractJob:
    now = clock.now()
    job = ExtractJob(
        id=str(uuid.uuid4()),
        kind=kind,
        dedup_key=dedup_key,
        status=JobStatus.QUEUED,
        requested_by=actor,
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(job)
    session.flush()
    return job


def _job_by_key(session: Session, key: str) -> ExtractJob | None:
    return session.scalars(repository.by_key(key)).one_or_none()


def _job_once(session: Session, key: str, details: dict[str, Any], **fields: Any) -> tuple[ExtractJob, bool]:
    """The job under ``key``, created and started the first time (True); a repeat finds it (False)."""
    existing = _job_by_key(session, key)
    if existing is not None:
        return existing, False
    try:
        with session.begin_nested():
            job = _new_job(session, actor=audit.SYSTEM_ACTOR, dedup_key=key, **fields)
    except IntegrityError:  # another worker created it at the same moment
        found = _job_by_key(session, key)
        assert found is not None
        return found, False
    outbox.enqueue(session, RUN_JOB, {"job_id": job.id})
    audit.record(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="extract.job_created",
        object_type="extract_job",
        object_id=job.id,
        details=details,
    )
    return job, True


def job_for_permit_version(session: Session, permit_id: str, version: int) -> tuple[ExtractJob, bool]:
    """Exactly one job per permit version: a repeated ``permit.issued`` finds the first (False)."""
    applications.permit_version(session, permit_id, version)  # refuses an unknown permit or version
    return _job_once(
        session,
        f"permit:{permit_id}:{version}",
        {"permit_id": permit_id, "version": version},
        kind=JobKind.PERMIT,
        permit_id=permit_id,
        permit_version=version,
    )


def job_for_statistics(session: Session, application_id: str) -> tuple[ExtractJob, bool]:
    """Exactly one job per approved statistics request."""
    applications.statistics_request(session, application_id)  # refuses what is not an approved request
    return _job_once(
        session,
        f"statistics:{application_id}",
        {"application_id": application_id},
        kind=JobKind.STATISTICS,
        application_id=application_id,
    )


def _ended(standing: applications.PermitStanding) -> str | None:
    """Why nothing may be delivered under the permit any more (None: it may)."""
    if standing.open:
        return None
    return f"permit {standing.permit_id} is {standing.status}; nothing may be delivered under it"


def rerun(
    session: Session, principal: Principal | None, permit_id: str, *, failed_job: str | None = None
) -> ExtractJob:
    """A deliberate re-run of a permit's current version (a new delivery); None: the operator's CLI.

    ``failed_job``: the failed job it runs again (from that job's page), named in the audit entry;
    it is run again at most once, whatever happens at the same moment: the new job carries the key
    ``rerun-of:{failed_job}``, which the database holds unique.
    """
    actor = principal.actor if principal is not None else "operator@cli"
    if principal is not None:  # nobody on the applicant's side runs the access body's commands
        conflict = applications.may_act_as_staff(session, principal, permit_id, deciding=False)
        if conflict is not None:
            raise Forbidden(conflict)
    version = applications.permit_version(session, permit_id)
    ended = _ended(applications.permit_standing(session, permit_id))
    if ended is not None:
        raise Conflict(ended)
    fields: dict[str, Any] = {
        "kind": JobKind.RERUN,
        "permit_id": permit_id,
        "permit_version": version.version,
    }
    if failed_job is None:
        job = _new_job(session, actor=actor, dedup_key=None, **fields)
    else:
        key = f"{RERUN_OF}{failed_job}"
        try:
            with session.begin_nested():
                job = _new_job(session, actor=actor, dedup_key=key, **fields)
        except IntegrityError:  # another request ran it again at the same moment
            found = _job_by_key(session, key)
            raise Conflict(_already_run_again(found.id if found is not None else "?")) from None
    if principal is not None:
        outbox.enqueue(session, RUN_JOB, {"job_id": job.id})
    details: dict[str, Any] = {"permit_id": permit_id, "version": version.version}
    if failed_job is not None:
        details["failed_job"] = failed_job
    audit.record(
        session,
        actor=actor,
        action="extract.rerun_requested",
        object_type="extract_job",
        object_id=job.id,
        details=details,
    )
    return job


def _already_run_again(job_id: str) -> str:
    return f"this job was already run again as job {job_id}"


def newer_job(session: Session, job: ExtractJob) -> ExtractJob | None:
    """The first job of the same permit made after ``job``, of any kind and status; None: none.

    A job made at the same instant counts as newer: refusing a re-run is the safe side.
    """
    if job.permit_id is None:
        return None
    return session.scalars(repository.newer_than(job)).first()


def rerun_refusal(session: Session, job: ExtractJob) -> str | None:
    """Why a job may not be run again from its page (None: it may).

    Only a failed job made from a permit, whose permit may still be delivered, only while the
    version it was for is the permit's current one (a re-run makes the current version, and the
    job page must not promise one version and deliver another), and only while no later job of the
    permit exists (queued, running, held, delivered or failed: whichever, the failed job has been
    followed up, and running it again would deliver the data once more).
    """
    if job.status != JobStatus.FAILED:
        return f"the job is {job.status}; only a failed job is run again"
    if job.permit_id is None or job.permit_version is None:
        return "only an extract made from a permit is run again; this job answered a statistics request"
    ended = _ended(applications.permit_standing(session, job.permit_id))
    if ended is not None:
        return ended
    current = applications.permit_version(session, job.permit_id).version
    if current != job.permit_version:
        return (
            f"the job was for version {job.permit_version} of the permit; version {current} is "
            "current and has a job of its own"
        )
    newer = newer_job(session, job)
    if newer is not None:
        if newer.kind == JobKind.RERUN:
            return f"{_already_run_again(newer.id)} ({newer.status})"
        return (
            f"a newer job of the permit exists, job {newer.id} ({newer.status}); only the permit's "
            "latest job is run again"
        )
    return None


def rerun_failed(session: Session, principal: Principal, job_id: str) -> ExtractJob:
    """Run a failed permit job again: a new job for the same permit version, as ``rerun`` makes it.

    The failed job's row is locked first (``FOR UPDATE``) and the refusal is checked in the same
    transaction that makes the new job: two requests at the same moment run one after the other,
    and the second finds the first's job and is refused (409).
    """
    job = session.scalars(repository.locked(job_id)).one_or_none()
    if job is None:
        raise NotFound(f"no extract job {job_id}")
    refusal = rerun_refusal(session, job)
    if refusal is not None:
        raise Conflict(refusal)
    assert job.permit_id is not None
    return rerun(session, principal, job.permit_id, failed_job=job.id)


def get_job(session: Session, job_id: str) -> ExtractJob:
    job = session.get(ExtractJob, job_id)
    if job is None:
        raise NotFound(f"no extract job {job_id}")
    return job


def of_permit(session: Session, permit_id: str) -> list[ExtractJob]:
    """Every job of a permit, oldest first (the caseworkers' page)."""
    return list(session.scalars(repository.of_permit(permit_id)))


def job_steps(session: Session, job_id: str) -> list[ExtractStep]:
    return list(session.scalars(repository.steps_of(job_id)))


def review(session: Session, principal: Principal, job_id: str, decision: str, note: str) -> ExtractJob:
    """A caseworker other than the permit's assessor releases or rejects a held job (four eyes)."""
    job = get_job(session, job_id)
    if job.status != JobStatus.HELD:
        raise Conflict(f"the job is {job.status}; only a held job is reviewed")
    assert job.permit_id is not None
    standing = applications.permit_standing(session, job.permit_id)
    if standing.assessor == principal.actor:
        raise Forbidden("you assessed this permit; another caseworker must review its extract (four eyes)")
    # Releasing held data is a decision: nobody on the applicant's side, nor any assessor, makes it.
    conflict = applications.may_act_as_staff(session, principal, job.permit_id, deciding=True)
    if conflict is not None:
        raise Forbidden(conflict)
    now = clock.now()
    job.review = {"decision": decision, "note": note, "by": principal.actor, "at": now.isoformat()}
    job.status = JobStatus.QUEUED if decision == ReviewDecision.RELEASE else JobStatus.REJECTED
    job.updated_at = now
    if decision == ReviewDecision.RELEASE:
        outbox.enqueue(session, RUN_JOB, {"job_id": job.id})
    else:  # rejected: the held rows, identifiers and all, go once this is committed
        workspace.remove_after_commit(session, job)
    audit.record(
        session,
        actor=principal.actor,
        action=f"extract.review_{decision}",
        object_type="extract_job",
        object_id=job.id,
        details={"held_reason": job.held_reason or "", "note": note},
    )
    return job


def statistics_answer(session: Session, application_id: str) -> Any:
    """The delivered answer of a statistics request (the tables as suppressed, never the true counts)."""
    job = session.scalars(repository.delivered_statistics(application_id)).first()
    if job is None or job.delivery_path is None:
        raise NotFound("the request has not been answered yet")
    return json.loads((Path(job.delivery_path) / "answer.json").read_text(encoding="utf-8"))


def cancel_jobs(session: Session, permit_id: str, reason: str) -> int:
    """Stop every queued, running or held job of a permit (revocation, Art. 63).

    The work files of a job between steps go once this is committed; a job whose step is running
    now loses them when that step ends and finds the job cancelled (the runner removes them).
    """
    # locked: a worker claiming a step waits, or is seen to have claimed it
    jobs = session.scalars(repository.active_of_permit(permit_id)).all()
    for job in jobs:
        job.status, job.error, job.updated_at = JobStatus.CANCELLED, reason, clock.now()
        if not job.step_claimed:
            workspace.remove_after_commit(session, job)
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="extract.cancelled",
            object_type="extract_job",
            object_id=job.id,
            details={"permit_id": permit_id, "reason": reason},
        )
    return len(jobs)


# --- work files left behind ------------------------------------------------------------------------

# A folder of no known job is left this long before it is swept: time for the job's row to be seen.
SWEEP_GRACE = timedelta(hours=1)
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Sweep:
    """What one sweep removed: job ids (folder names that are not job ids are only counted)."""

    work: list[str] = field(default_factory=list)  # work folders of jobs that have ended
    incoming: list[str] = field(default_factory=list)  # .incoming-{job} folders of jobs that have ended
    orphans: list[str] = field(default_factory=list)  # folders (work or incoming) of no known job
    unnamed: int = 0  # orphans whose name is no job id
    empty: int = 0  # empty work folders of no known job

    @property
    def removed(self) -> int:
        return len(self.work) + len(self.incoming) + len(self.orphans) + self.unnamed + self.empty


def _age(path: Path, now: datetime) -> timedelta:
    try:
        modified = path.lstat().st_mtime
    except FileNotFoundError:
        return timedelta(0)
    return now - datetime.fromtimestamp(modified, UTC)


def _empty(path: Path) -> bool:
    """A folder with no file anywhere in it (empty folders inside do not count)."""
    return path.is_dir() and not path.is_symlink() and all(p.is_dir() for p in path.rglob("*"))


def _jobs_by_id(session: Session, ids: set[str]) -> dict[str, tuple[str, bool, datetime]]:
    found: dict[str, tuple[str, bool, datetime]] = {}
    names = sorted(i for i in ids if len(i) <= 36)
    for start in range(0, len(names), 500):
        rows = session.execute(repository.by_ids(names[start : start + 500]))
        found.update({job_id: (status, claimed, updated) for job_id, status, claimed, updated in rows})
    return found


def _sweepable(job: tuple[str, bool, datetime] | None, path: Path, now: datetime) -> str | None:
    """Why the folder of a job (None: of no known job) may go now: ended, empty, orphan; None: it stays."""
    if job is not None:
        status, claimed, updated = job
        if status in ACTIVE:
            return None  # queued, running or held: the job needs its files
        if claimed and now - updated < SWEEP_GRACE:
            return None  # ended while a step ran: the runner removes them when the step returns
        return "ended"
    if _empty(path):
        return "empty"
    return "orphan" if _age(path, now) >= SWEEP_GRACE else None


def sweep_work(session: Session, now: datetime) -> Sweep:
    """Remove what ended or vanished jobs left: work folders, ``.incoming-*`` folders, empty folders.

    A job that is queued, running or held keeps everything (its status is read from the database);
    a folder of no known job is left for ``SWEEP_GRACE`` first unless it is empty. What was removed
    (job ids and counts, never a file's content) is audited.
    """
    sweep = Sweep()
    root = workspace.work_root()
    work = sorted(root.iterdir()) if root.is_dir() else []
    spe = workspace.spe_root()
    # {spe}/{permit}/.incoming-{job} and {spe}/statistics/{application}/.incoming-{job}
    pattern = f"{workspace.INCOMING}*"
    incoming = sorted([*spe.glob(f"*/{pattern}"), *spe.glob(f"statistics/*/{pattern}")])
    owners = {path: path.name for path in work}
    owners.update({path: path.name.removeprefix(workspace.INCOMING) for path in incoming})
    jobs = _jobs_by_id(session, set(owners.values()))
    for path, job_id in owners.items():
        why = _sweepable(jobs.get(job_id), path, now)
        if why is None or not workfiles.remove(path):
            continue
        if why == "ended":
            (sweep.incoming if path.name.startswith(workspace.INCOMING) else sweep.work).append(job_id)
        elif why == "empty":
            sweep.empty += 1
        elif _JOB_ID.fullmatch(job_id):
            sweep.orphans.append(job_id)
        else:
            sweep.unnamed += 1
    if sweep.removed:
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="extract.work_swept",
            object_type="extract_work",
            object_id="extract-work",
            details={
                "ended_jobs_work": sweep.work[:1000],
                "ended_jobs_incoming": sweep.incoming[:1000],
                "orphan_jobs": sweep.orphans[:1000],
                "orphans_unnamed": sweep.unnamed,
                "empty": sweep.empty,
                "removed": sweep.removed,
            },
        )
        log.info("swept the work files of %d ended or unknown extract jobs", sweep.removed)
    return sweep


# --- recurring deliveries (Art. 67(5)) -------------------------------------------------------------


def schedule_recurring(session: Session, now: datetime) -> list[ExtractJob]:
    """Create a job for every scheduled run that has come, in order, once each; start the earliest.

    After downtime every missed run is created (none skipped), each at most once (its dedup key);
    the runner delivers them one after another, so each names the one before it.
    """
    created = []
    for permit in applications.recurring_permits(session):
        due = schedule.runs(permit.recurrence, permit.first_approved_at, permit.valid_until, now)
        previous = permit.first_approved_at  # the delivery at approval was the first full extract
        for run_at in due:
            key = f"recurring:{permit.permit_id}:{run_at.isoformat()}"
            if _job_by_key(session, key) is None:
                job = _new_job(
                    session,
                    kind=JobKind.RECURRING,
                    actor=audit.SYSTEM_ACTOR,
                    dedup_key=key,
                    permit_id=permit.permit_id,
                    permit_version=permit.version,
                    run_at=run_at,
                    changed_since=previous if permit.recurrence.mode.value == "changes" else None,
                )
                created.append(job)
                audit.record(
                    session,
                    actor=audit.SYSTEM_ACTOR,
                    action="extract.recurring_scheduled",
                    object_type="extract_job",
                    object_id=job.id,
                    details={"permit_id": permit.permit_id, "run_at": run_at.isoformat()},
                )
            previous = run_at
        start_next_recurring(session, permit.permit_id)
    return created


def start_next_recurring(session: Session, permit_id: str) -> str | None:
    """Start the earliest waiting run of a permit, unless one of its runs is under way."""
    busy = session.scalars(repository.recurring_in(permit_id, [JobStatus.RUNNING, JobStatus.HELD])).first()
    if busy is not None:
        return None
    nxt = session.scalars(repository.recurring_in(permit_id, [JobStatus.QUEUED]).limit(1)).first()
    if nxt is None:
        return None
    outbox.enqueue(session, RUN_JOB, {"job_id": nxt.id})
    return nxt.id
