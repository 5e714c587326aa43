"""Use cases of the extracts domain. The caller's edge commits; nothing here commits."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hdab.applications import api as applications
from hdab.core import audit, clock, outbox, runtime
from hdab.core.auth import Principal, Role
from hdab.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from hdab.extracts import optout, workspace
from hdab.extracts.models import (
    Delivery,
    DeliveryAccess,
    DeliveryReceipt,
    ExtractJob,
    ExtractStep,
    OptOutEvent,
)
from hdab.extracts.pipeline import workfiles

log = logging.getLogger(__name__)

# --- the opt-out registry (Art. 71) --------------------------------------------------------------


def _hash(identifier: str) -> str:
    return optout.person_hash(runtime.settings().optout_hash_key, identifier)


def opted_out(session: Session, person: str, at: datetime) -> bool:
    """Whether the person (by keyed hash) was opted out at ``at``: the latest event up to then decides."""
    latest = session.scalars(
        select(OptOutEvent.action)
        .where(OptOutEvent.person == person, OptOutEvent.at <= at)
        .order_by(OptOutEvent.at.desc(), OptOutEvent.id.desc())
        .limit(1)
    ).first()
    return latest == optout.Action.OPT_OUT


def _citizen_hash(principal: Principal) -> str:
    if principal.national_id is None:
        raise Forbidden("your sign-in carries no national identity number (the pid claim)")
    return _hash(principal.national_id)


def citizen_status(session: Session, principal: Principal) -> bool:
    return opted_out(session, _citizen_hash(principal), clock.now())


def citizen_record(session: Session, principal: Principal, action: optout.Action) -> datetime:
    """A citizen opts out (or reverses it) now; doing what is already so is a 409."""
    person = _citizen_hash(principal)
    now = clock.now()
    currently = opted_out(session, person, now)
    if currently == (action is optout.Action.OPT_OUT):
        raise Conflict("you have already opted out" if currently else "you have not opted out")
    session.add(OptOutEvent(person=person, action=action.value, at=now, recorded_at=now, source="citizen"))
    audit.record(
        session,
        actor=principal.actor,
        action=f"optout.{action.value}",
        object_type="optout",
        object_id=f"pid-hmac:{person[:16]}",
    )
    return now


@dataclass(frozen=True)
class ImportResult:
    lines: int
    added: int
    file_sha256: str


def import_registry(session: Session, actor: str, text: str) -> ImportResult:
    """Import an external registry file: all lines or none; an event already known is not added twice."""
    settings = runtime.settings()
    lines, errors = optout.parse_import(text, allow_synthetic=not settings.is_production)
    if errors:
        raise InvalidInput(f"the file has {len(errors)} invalid lines; nothing was imported", errors[:200])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    now = clock.now()
    rows = [
        {
            "person": _hash(line.identifier),
            "action": line.action.value,
            "at": line.time,
            "recorded_at": now,
            "source": f"import:{digest[:32]}",
        }
        for line in lines
    ]
    before = session.scalar(select(func.count()).select_from(OptOutEvent)) or 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 5000):
        session.execute(insert(OptOutEvent).values(rows[start : start + 5000]).on_conflict_do_nothing())
    added = (session.scalar(select(func.count()).select_from(OptOutEvent)) or 0) - before
    audit.record(
        session,
        actor=actor,
        action="optout.import",
        object_type="optout_registry",
        object_id=digest,
        details={"lines": len(lines), "added": added},
    )
    return ImportResult(len(lines), added, digest)


@dataclass(frozen=True)
class RegistryState:
    """Which state of the registry a reading used: enough to reproduce and to prove it."""

    events: int
    last_event_id: int
    last_recorded_at: datetime | None


def registry_state(session: Session, recorded_by: datetime) -> RegistryState:
    query = select(func.count(), func.max(OptOutEvent.id), func.max(OptOutEvent.recorded_at)).where(
        OptOutEvent.recorded_at <= recorded_by
    )
    count, last_id, last_recorded = session.execute(query).one()
    return RegistryState(int(count or 0), int(last_id or 0), last_recorded)


def opted_out_at(session: Session, at: datetime, recorded_by: datetime) -> frozenset[str]:
    """Everyone (by keyed hash) opted out at ``at``, as the registry knew it at ``recorded_by``."""
    ranked = (
        select(
            OptOutEvent.person,
            OptOutEvent.action,
            func.row_number()
            .over(partition_by=OptOutEvent.person, order_by=(OptOutEvent.at.desc(), OptOutEvent.id.desc()))
            .label("rank"),
        )
        .where(OptOutEvent.at <= at, OptOutEvent.recorded_at <= recorded_by)
        .subquery()
    )
    query = select(ranked.c.person).where(ranked.c.rank == 1, ranked.c.action == optout.Action.OPT_OUT.value)
    return frozenset(session.scalars(query))


# --- extract jobs ---------------------------------------------------------------------------------

RUN_JOB = "extracts.run_job"


class JobStatus:
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
    return session.scalars(select(ExtractJob).where(ExtractJob.dedup_key == key)).one_or_none()


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
        kind="permit",
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
        kind="statistics",
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
    fields: dict[str, Any] = {"kind": "rerun", "permit_id": permit_id, "permit_version": version.version}
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


RERUN_OF = "rerun-of:"  # the dedup key of the job that runs a failed job again, before its id


def _already_run_again(job_id: str) -> str:
    return f"this job was already run again as job {job_id}"


def newer_job(session: Session, job: ExtractJob) -> ExtractJob | None:
    """The first job of the same permit made after ``job``, of any kind and status; None: none.

    A job made at the same instant counts as newer: refusing a re-run is the safe side.
    """
    if job.permit_id is None:
        return None
    return session.scalars(
        select(ExtractJob)
        .where(
            ExtractJob.permit_id == job.permit_id,
            ExtractJob.id != job.id,
            ExtractJob.created_at >= job.created_at,
        )
        .order_by(ExtractJob.created_at, ExtractJob.id)
        .limit(1)
    ).first()


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
        if newer.kind == "rerun":
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
    job = session.scalars(
        select(ExtractJob)
        .where(ExtractJob.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
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


def job_steps(session: Session, job_id: str) -> list[ExtractStep]:
    return list(
        session.scalars(select(ExtractStep).where(ExtractStep.job_id == job_id).order_by(ExtractStep.id))
    )


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
    job.status = JobStatus.QUEUED if decision == "release" else JobStatus.REJECTED
    job.updated_at = now
    if decision == "release":
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


def registry_provenance(delivery_path: str | None) -> dict[str, Any] | None:
    """The registry provenance a delivery's manifest (or statistics answer) copied; None: none.

    Read from the delivered file, so a delivery that has been deleted no longer says.
    """
    if delivery_path is None:
        return None
    for name in ("manifest.json", "answer.json"):
        path = Path(delivery_path) / name
        if path.is_file():
            try:
                provenance = json.loads(path.read_text(encoding="utf-8")).get("registry_provenance")
            except (OSError, ValueError, AttributeError):
                return None
            return provenance if isinstance(provenance, dict) else None
    return None


def statistics_answer(session: Session, application_id: str) -> Any:
    """The delivered answer of a statistics request (the tables as suppressed, never the true counts)."""
    job = session.scalars(
        select(ExtractJob).where(
            ExtractJob.application_id == application_id,
            ExtractJob.kind == "statistics",
            ExtractJob.status == JobStatus.DELIVERED,
        )
    ).first()
    if job is None or job.delivery_path is None:
        raise NotFound("the request has not been answered yet")
    return json.loads((Path(job.delivery_path) / "answer.json").read_text(encoding="utf-8"))


# --- deliveries: recipients, the access log, receipts, deletion ---------------------------------------

STAFF = (Role.CASEWORKER, Role.ADMIN)


def _standing(session: Session, permit_id: str) -> applications.PermitStanding:
    return applications.permit_standing(session, permit_id)


def visible_deliveries(session: Session, principal: Principal, permit_id: str | None) -> list[Delivery]:
    """Staff see every delivery; a recipient only its organisation's, of permits still open."""
    query = (
        select(Delivery).where(Delivery.deleted_at.is_(None)).order_by(Delivery.permit_id, Delivery.number)
    )
    if permit_id is not None:
        query = query.where(Delivery.permit_id == permit_id)
    if principal.has_role(*STAFF):
        return list(session.scalars(query))
    if not principal.has_role(Role.RECIPIENT) or principal.organisation is None:
        raise Forbidden("deliveries are fetched by recipient organisations' machine clients")
    rows = session.scalars(query.where(Delivery.recipient_organisation == principal.organisation))
    open_permits: dict[str, bool] = {}  # one fold of each permit's case, not one per delivery
    visible = []
    for delivery in rows:
        if delivery.permit_id not in open_permits:
            open_permits[delivery.permit_id] = _standing(session, delivery.permit_id).open
        if open_permits[delivery.permit_id]:
            visible.append(delivery)
    return visible


def delivery_for(session: Session, principal: Principal, delivery_id: str) -> Delivery:
    """The delivery if the caller may read it now; otherwise 404, as if it did not exist."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.deleted_at is not None:
        raise NotFound("no such delivery")
    if principal.has_role(*STAFF):
        return delivery
    if (
        not principal.has_role(Role.RECIPIENT)
        or principal.organisation is None
        or delivery.recipient_organisation != principal.organisation
        or not _standing(session, delivery.permit_id).open  # revoked or expired: access ends at once
    ):
        raise NotFound("no such delivery")
    return delivery


def delivered_file(delivery: Delivery, name: str) -> tuple[Path, dict[str, Any]]:
    """A file of the delivery by its manifest name (never a path the caller makes up)."""
    if name == "manifest.json":
        path = Path(delivery.path) / name
        return path, {"name": name, "sha256": delivery.manifest_sha256, "bytes": path.stat().st_size}
    entry = next((f for f in delivery.files if f["name"] == name), None)
    if entry is None:
        raise NotFound(f"the delivery has no file {name!r}")
    return Path(delivery.path) / name, entry


def log_access(
    session: Session, principal: Principal, delivery: Delivery, name: str, byte_range: str | None
) -> None:
    """Art. 73(1)(e): every read of a delivered file, by whom and when (kept at least a year)."""
    session.add(
        DeliveryAccess(
            delivery_id=delivery.id,
            permit_id=delivery.permit_id,
            actor=principal.actor,
            organisation=principal.organisation,
            file=name,
            byte_range=byte_range[:100] if byte_range else None,
            at=clock.now(),
        )
    )


def access_log(session: Session, permit_id: str) -> list[DeliveryAccess]:
    return list(
        session.scalars(
            select(DeliveryAccess)
            .where(DeliveryAccess.permit_id == permit_id)
            .order_by(DeliveryAccess.at.desc())
        )
    )


def confirm_receipt(
    session: Session, principal: Principal, delivery_id: str, checksums: dict[str, str]
) -> Delivery:
    """A client of the recipient confirms what it received with the checksums it computed.

    Each client keeps its own receipt beside the others' (a second client of the organisation adds
    one, it never replaces the first); the same confirmation again changes nothing, and a client
    that confirms anew (after fetching again) replaces only its own. A mismatch is flagged.
    """
    delivery = delivery_for(session, principal, delivery_id)
    expected = {f["name"]: f["sha256"] for f in delivery.files}
    mismatched = sorted(n for n in expected if checksums.get(n, "").lower() != expected[n])
    unknown = sorted(set(checksums) - set(expected))
    mismatch = bool(mismatched or unknown)
    mine = _receipt_of(session, delivery.id, principal.actor)
    if mine is None:
        try:
            with session.begin_nested():
                session.add(
                    DeliveryReceipt(
                        delivery_id=delivery.id,
                        client=principal.actor,
                        organisation=principal.organisation,
                        checksums=checksums,
                        mismatched=mismatched,
                        unknown=unknown,
                        mismatch=mismatch,
                        at=clock.now(),
                    )
                )
        except IntegrityError:  # the same client's receipt arrived at the same moment
            mine = _receipt_of(session, delivery.id, principal.actor)
    replaced = mine is not None
    if mine is not None:
        if mine.checksums == checksums:  # the same receipt again: recorded already
            return delivery
        mine.checksums, mine.mismatched, mine.unknown, mine.mismatch = (
            checksums,
            mismatched,
            unknown,
            mismatch,
        )
        mine.organisation, mine.at = principal.organisation, clock.now()
    audit.record(
        session,
        actor=principal.actor,
        action="delivery.receipt_mismatch" if mismatch else "delivery.receipt_confirmed",
        object_type="delivery",
        object_id=delivery.id,
        details={"mismatched": mismatched, "unknown": unknown, "replaced_own": replaced},
    )
    if mismatch:
        log.warning(
            "delivery %s: the recipient's checksums do not match (%s)", delivery.id, ", ".join(mismatched)
        )
    return delivery


def _receipt_of(session: Session, delivery_id: str, client: str) -> DeliveryReceipt | None:
    return session.scalars(
        select(DeliveryReceipt).where(
            DeliveryReceipt.delivery_id == delivery_id, DeliveryReceipt.client == client
        )
    ).one_or_none()


def receipts(session: Session, delivery_ids: list[str]) -> dict[str, list[DeliveryReceipt]]:
    """Every client's receipt of each delivery, oldest first."""
    found: dict[str, list[DeliveryReceipt]] = {delivery_id: [] for delivery_id in delivery_ids}
    rows = session.scalars(
        select(DeliveryReceipt)
        .where(DeliveryReceipt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryReceipt.at, DeliveryReceipt.id)
    )
    for row in rows:
        found[row.delivery_id].append(row)
    return found


def cancel_jobs(session: Session, permit_id: str, reason: str) -> int:
    """Stop every queued, running or held job of a permit (revocation, Art. 63).

    The work files of a job between steps go once this is committed; a job whose step is running
    now loses them when that step ends and finds the job cancelled (the runner removes them).
    """
    jobs = session.scalars(
        select(ExtractJob)
        .where(ExtractJob.permit_id == permit_id, ExtractJob.status.in_(ACTIVE))
        .with_for_update()  # a worker claiming a step waits, or is seen to have claimed it
        .execution_options(populate_existing=True)
    ).all()
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
        rows = session.execute(
            select(ExtractJob.id, ExtractJob.status, ExtractJob.step_claimed, ExtractJob.updated_at).where(
                ExtractJob.id.in_(names[start : start + 500])
            )
        )
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


def delete_due(session: Session, today: date) -> list[Delivery]:
    """Delete every delivery whose permit's deletion date has come (Art. 68(12)), with a certificate."""
    deleted = []
    for delivery in session.scalars(select(Delivery).where(Delivery.deleted_at.is_(None))).all():
        standing = _standing(session, delivery.permit_id)
        if standing.delete_data_by is None or today < standing.delete_data_by:
            continue
        shutil.rmtree(delivery.path, ignore_errors=True)
        now = clock.now()
        delivery.deleted_at = now
        delivery.deletion_certificate = {
            "delivery_id": delivery.id,
            "permit_id": delivery.permit_id,
            "delete_data_by": standing.delete_data_by.isoformat(),
            "deleted_at": now.isoformat(),
            "path": delivery.path,
            "files": [
                {"name": f["name"], "sha256": f["sha256"], "bytes": f.get("bytes")} for f in delivery.files
            ],
            "manifest_sha256": delivery.manifest_sha256,
        }
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="delivery.deleted",
            object_type="delivery",
            object_id=delivery.id,
            details={"permit_id": delivery.permit_id, "files": len(delivery.files)},
        )
        deleted.append(delivery)
    return deleted


# --- recurring deliveries (Art. 67(5)) -------------------------------------------------------------

RECURRING = "recurring"


def schedule_recurring(session: Session, now: datetime) -> list[ExtractJob]:
    """Create a job for every scheduled run that has come, in order, once each; start the earliest.

    After downtime every missed run is created (none skipped), each at most once (its dedup key);
    the runner delivers them one after another, so each names the one before it.
    """
    from hdab.extracts import schedule

    created = []
    for permit in applications.recurring_permits(session):
        due = schedule.runs(permit.recurrence, permit.first_approved_at, permit.valid_until, now)
        previous = permit.first_approved_at  # the delivery at approval was the first full extract
        for run_at in due:
            key = f"recurring:{permit.permit_id}:{run_at.isoformat()}"
            if _job_by_key(session, key) is None:
                job = _new_job(
                    session,
                    kind=RECURRING,
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
    busy = session.scalars(
        select(ExtractJob.id).where(
            ExtractJob.permit_id == permit_id,
            ExtractJob.kind == RECURRING,
            ExtractJob.status.in_([JobStatus.RUNNING, JobStatus.HELD]),
        )
    ).first()
    if busy is not None:
        return None
    nxt = session.scalars(
        select(ExtractJob)
        .where(
            ExtractJob.permit_id == permit_id,
            ExtractJob.kind == RECURRING,
            ExtractJob.status == JobStatus.QUEUED,
        )
        .order_by(ExtractJob.run_at)
        .limit(1)
    ).first()
    if nxt is None:
        return None
    outbox.enqueue(session, RUN_JOB, {"job_id": nxt.id})
    return nxt.id
