"""Running an extract job: plan it from the permit, run the pipeline, record every step, deliver once.

The database is touched in short units of work (the job's status, one row per finished step), never
across the pipeline's minutes of work. The keys are derived here, held in memory, and passed only
to the pipeline: they are never written, logged or stored.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

import duckdb
from sqlalchemy import CursorResult, or_, select, update

from hdab.applications import api as applications
from hdab.catalog import api as catalog
from hdab.core import audit, clock, runtime
from hdab.core.db import Database
from hdab.extracts import service
from hdab.extracts.models import ExtractJob, ExtractStep
from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline import statistics, steps
from hdab.extracts.pipeline.run import Keys, Outcome, run_plan, sha256_file
from hdab.extracts.service import JobStatus

log = logging.getLogger(__name__)
ENDED = {JobStatus.DELIVERED, JobStatus.HELD, JobStatus.REJECTED, JobStatus.UNSUPPORTED, JobStatus.FAILED}
# A running job whose last sign of life (a finished step) is older than this is taken to be dead.
LEASE = timedelta(minutes=30)


def claim(database: Database, job_id: str) -> bool:
    """Take the job for this process: a queued job, or a running one whose worker has died.

    One conditional update decides, so two workers handed the same message never run it together.
    """
    now = clock.now()
    with database.session() as session:
        result = session.execute(
            update(ExtractJob)
            .where(
                ExtractJob.id == job_id,
                or_(
                    ExtractJob.status == JobStatus.QUEUED,
                    (ExtractJob.status == JobStatus.RUNNING) & (ExtractJob.updated_at < now - LEASE),
                ),
            )
            .values(status=JobStatus.RUNNING, updated_at=now)
        )
        return cast(CursorResult[Any], result).rowcount == 1


def stale(database: Database) -> list[str]:
    """Jobs to start again: queued but never started, or running with a dead worker."""
    now = clock.now()
    with database.session() as session:
        return list(
            session.scalars(
                select(ExtractJob.id).where(
                    or_(
                        (ExtractJob.status == JobStatus.QUEUED)
                        & (ExtractJob.updated_at < now - timedelta(minutes=5)),
                        (ExtractJob.status == JobStatus.RUNNING) & (ExtractJob.updated_at < now - LEASE),
                    )
                )
            )
        )


def run_job(database: Database, job_id: str, progress: Callable[[dict[str, Any]], None] | None = None) -> str:
    """Run one job to its end; safe to call again (a delivered job is not delivered twice)."""
    settings = runtime.settings()
    started = clock.now()
    if not claim(database, job_id):
        with database.session() as session:
            job = session.get(ExtractJob, job_id)
            return job.status if job is not None else "missing"
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        if job is not None and job.kind == "statistics":
            return run_statistics(database, job_id, started)
        if job is None or job.permit_id is None or job.permit_version is None:
            return job.status if job is not None else "missing"
        standing = applications.permit_standing(session, job.permit_id)
        if standing.status in ("EXPIRED", "REVOKED"):
            _end(session, job, JobStatus.FAILED, error=f"the permit is {standing.status}")
            return job.status
        versions = applications.permit_versions(session, job.permit_id)[: job.permit_version]
        try:
            plan = planning.plan_for_permit(versions, settings.min_k)
        except planning.PlanError as exc:
            _end(session, job, JobStatus.FAILED, error=str(exc))
            return job.status
        attempt = 1 + (
            session.scalar(
                select(ExtractStep.attempt)
                .where(ExtractStep.job_id == job_id)
                .order_by(ExtractStep.attempt.desc())
                .limit(1)
            )
            or 0
        )
        dictionary = {
            (t.dataset, v.name): (v.title, v.datatype)
            for t in plan.tables
            if (found := catalog.dataset(session, t.dataset)) is not None
            for v in found.variables
        }
        principals = [p.email for p in versions[-1].persons] + list(standing.authorised_subjects)
        release = (job.review or {}).get("decision") == "release"
        job.status, job.plan, job.updated_at = JobStatus.RUNNING, plan.to_json(), started
        permit_id = job.permit_id

    def opted_out(at: datetime) -> frozenset[str]:
        with database.session() as session:
            return service.opted_out_at(session, at, started)

    def receipt(at: datetime) -> dict[str, Any]:
        with database.session() as session:
            state = service.registry_state(session, started)
        return {
            "opt_outs_effective_by": at.isoformat(),
            "registry_read_at": started.isoformat(),
            "registry_events": state.events,
            "registry_last_event_id": state.last_event_id,
        }

    def on_step(step: dict[str, Any]) -> None:
        with database.session() as session:
            session.add(
                ExtractStep(
                    job_id=job_id,
                    attempt=attempt,
                    dataset=step["dataset"],
                    name=step["step"],
                    rows_in=step["rows_in"],
                    rows_out=step["rows_out"],
                    seconds=step["seconds"],
                    details={
                        k: v for k, v in step.items() if k not in ("dataset", "step", "rows_in", "rows_out")
                    },
                    finished_at=clock.now(),
                )
            )
            # a finished step is the job's sign of life (see LEASE)
            session.execute(update(ExtractJob).where(ExtractJob.id == job_id).values(updated_at=clock.now()))
        if progress is not None:
            progress(step)

    try:
        outcome: Outcome = run_plan(
            plan,
            registry=settings.registry_dir or settings.data_dir / "registry",
            spe_root=settings.spe_root or settings.data_dir / "spe",
            delivery_id=job_id,
            keys=Keys(
                steps.permit_key(settings.pseudonym_master_key, permit_id), settings.optout_hash_key.encode()
            ),
            opted_out=opted_out,
            optout_receipt=receipt,
            dictionary=dictionary,
            principals=principals,
            max_suppressed_share=1.0 if release else steps.MAX_SUPPRESSED_SHARE,
            on_step=on_step,
        )
    except Exception as exc:
        log.warning("extract job %s failed: %s", job_id, type(exc).__name__)
        with database.session() as session:
            job = session.get(ExtractJob, job_id)
            assert job is not None
            _end(session, job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        return JobStatus.FAILED
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        assert job is not None
        if outcome.held is not None:
            job.held_reason = outcome.held
            _end(session, job, JobStatus.HELD)
        else:
            assert outcome.delivery is not None
            job.delivery_id = job_id
            job.delivery_path = str(outcome.delivery)
            job.manifest_sha256 = sha256_file(outcome.delivery / "manifest.json")
            _end(session, job, JobStatus.DELIVERED)
        return job.status


def _end(session: Any, job: ExtractJob, status: str, error: str | None = None) -> None:
    job.status = status
    job.error = error
    job.updated_at = clock.now()
    audit.record(
        session,
        actor=audit.SYSTEM_ACTOR,
        action=f"extract.{status}",
        object_type="extract_job",
        object_id=job.id,
        details={"permit_id": job.permit_id or "", "version": job.permit_version or 0},
    )


def run_statistics(database: Database, job_id: str, started: datetime) -> str:
    """Count the tables of an approved statistics request, suppress, deliver them and mark it answered."""
    settings = runtime.settings()
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        assert job is not None and job.application_id is not None
        request = applications.statistics_request(session, job.application_id)
        try:
            specs = statistics.specs_from_request(request.specification.tables)
        except ValueError as exc:
            _end(session, job, JobStatus.FAILED, error=str(exc))
            return job.status
        opted_out = service.opted_out_at(session, request.approved_at, started)
        state = service.registry_state(session, started)
        application_id = job.application_id
    root = (settings.spe_root or settings.data_dir / "spe") / "statistics" / application_id
    final = root / job_id
    try:
        con = duckdb.connect(config={"memory_limit": "1GB"})
        con.execute("SET enable_progress_bar = false")
        tables = [
            statistics.count_table(
                con,
                spec,
                settings.registry_dir or settings.data_dir / "registry",
                request.approved_at,
                opted_out,
                settings.optout_hash_key.encode(),
                settings.min_k,
            )
            for spec in specs
        ]
        con.close()
        answer = {
            "application_id": application_id,
            "as_of": request.approved_at.isoformat(),
            "min_k": settings.min_k,
            "optout_receipt": {
                "opt_outs_effective_by": request.approved_at.isoformat(),
                "registry_events": state.events,
                "registry_last_event_id": state.last_event_id,
            },
            "tables": [
                {
                    "title": t.spec.title,
                    "dataset": t.spec.dataset,
                    "dimensions": list(t.spec.dimensions),
                    "measure": t.spec.measure,
                    "period": [t.spec.period_start.isoformat(), t.spec.period_end.isoformat()],
                    "primary_suppressed": t.primary,
                    "secondary_suppressed": t.secondary,
                    "rows": t.rows(),
                }
                for t in tables
            ],
        }
        if not (final / "answer.json").exists():
            root.mkdir(parents=True, exist_ok=True)
            incoming = root / f".incoming-{job_id}"
            shutil.rmtree(incoming, ignore_errors=True)
            incoming.mkdir()
            (incoming / "answer.json").write_text(
                json.dumps(answer, ensure_ascii=False, indent=2), encoding="utf-8"
            )
            os.replace(incoming, final)
    except Exception as exc:
        with database.session() as session:
            job = session.get(ExtractJob, job_id)
            assert job is not None
            _end(session, job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        return JobStatus.FAILED
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        assert job is not None
        job.delivery_id, job.delivery_path = job_id, str(final)
        job.manifest_sha256 = sha256_file(final / "answer.json")
        _end(session, job, JobStatus.DELIVERED)
        applications.mark_answered(session, application_id)
        return job.status
