"""Running an extract job step by step: one Celery task per step, each recorded, resumable, delivered once.

A job moves through the steps of ``pipeline.run.sequence`` one task at a time. A task claims the
job's next step with one conditional update (so two workers handed the same message never run it
together), runs it, and in one transaction records the step (counts, timing, input and output
digests), moves the job on and enqueues the next step through the outbox. A worker killed in the
middle of a step leaves the step unfinished: ``extracts.resume`` gives it to another worker once
the lease has passed, and the job goes on from that step, not from the start.

The database is touched in short units of work, never across a step's work. The keys are derived
here, held in memory, and passed only to the pipeline: never written, logged or stored. The work
key, which encrypts the job's work files, is derived from the master secret and the job's id, so
the worker that runs the next step derives the same one. Whenever a job ends (``_end``, or a
revocation seen after a step), its work files go once that is committed (``workspace``).

A job's plan is frozen when it starts: its first step plans it and asks applications and the
catalogue, once, for what every step needs (the data dictionary, the persons the permit names);
the plan goes into ``job.plan``, the rest into ``job.frozen`` (``Frozen``), and later steps read
them back from the job. Per step only the permit's standing is asked again: a revoked, expired or
suspended permit stops the job at its next step. The deliver step takes from that standing what
may change while a job waits (the subjects bound to the named persons, the recurring recipient)
and the permit's next delivery number from extracts' own table, so overlapping jobs of one permit
never claim the same number. A job begun before jobs froze (``job.frozen`` null, a plan stored or
none) is frozen by the next step it runs, as that step would have planned it.

A job that cannot run stores a reason people can act on (``failures.JobFailure``: "no registry
data for npr-somatikk as of 2026-12-01: load the registry or run `hdab synth`"); anything else
stores a sentence naming the step and the job, and the exception goes to the service log alone,
with every run of eleven digits masked (DuckDB's messages can quote data values).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import duckdb
from sqlalchemy import CursorResult
from sqlalchemy.orm import Session

from hdab.applications import api as applications
from hdab.catalog import api as catalog
from hdab.core import audit, clock, outbox, runtime
from hdab.core.db import Database
from hdab.core.errors import ActionableFailure
from hdab.core.files import sha256_file
from hdab.extracts.deliveries import service as deliveries
from hdab.extracts.jobs import repository, service, workspace
from hdab.extracts.jobs.domain import ACTIVE, RUN_JOB, Frozen, JobKind, JobStatus, ReviewDecision
from hdab.extracts.jobs.models import ExtractJob, ExtractStep
from hdab.extracts.optouts import service as optouts
from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline import statistics, steps, workfiles
from hdab.extracts.pipeline.failures import internal_error, loggable, mask_person_numbers
from hdab.extracts.pipeline.run import Context, Keys, Previous, StepRecord, StepRef, run_step, sequence, start
from hdab.registry.api import SOURCES, read_provenance

log = logging.getLogger(__name__)
# A step running longer than this without finishing is taken to have lost its worker.
LEASE = timedelta(minutes=30)
Progress = Callable[[StepRecord], None]


def claim(database: Database, job_id: str, index: int) -> bool:
    """Take step ``index`` of the job: it is next, and nobody runs it (or its runner's lease ran out)."""
    now = clock.now()
    with database.session() as session:
        result = session.execute(repository.claim(job_id, index, now, LEASE))
        return cast(CursorResult[Any], result).rowcount == 1


def stale(database: Database) -> list[str]:
    """Jobs to hand on again: queued but never started, or a step whose worker has died."""
    now = clock.now()
    with database.session() as session:
        return list(session.scalars(repository.stale(now, timedelta(minutes=5), LEASE)))


def plan_version_of(session: Session, job: ExtractJob) -> int:
    """The permit's plan version: that of its first extract with a plan, or today's for a new permit.

    Plans made before versions existed carry none: they are version 1.
    """
    plans = session.scalars(repository.plans_of_permit(job.permit_id))
    first = next((plan for plan in plans if plan), None)  # a JSON null is no plan either
    if first is None:
        return planning.PLAN_VERSION
    return int(first.get("plan_version", 1))


def _described(session: Session, identifiers: Sequence[str]) -> dict[str, catalog.DatasetSummary]:
    """The published catalogue records of the datasets a permit or a request names."""
    return {
        identifier: found
        for identifier in identifiers
        if (found := catalog.dataset(session, identifier)) is not None
    }


def disclosure_of(dataset: catalog.DatasetSummary) -> planning.Disclosure:
    """The catalogue's classification of a dataset's variables, as the plan takes it."""

    def having(role: str) -> frozenset[str]:
        return frozenset(v.name for v in dataset.variables if v.disclosure == role)

    return planning.Disclosure(
        direct=having("direct_identifier"),
        quasi=having("quasi_identifier"),
        sensitive=having("sensitive"),
        coarsen={v.name: v.anonymised_as for v in dataset.variables if v.anonymised_as},
    )


def _freeze(session: Session, job: ExtractJob) -> Frozen:
    """Plan the job and fix what its steps need, asking applications and the catalogue once.

    The plan goes into ``job.plan`` (unless a job started before kept one there already, which
    stays as it is: the permit's plan version comes from it), the rest into ``job.frozen``.
    """
    settings = runtime.settings()
    assert job.permit_id is not None and job.permit_version is not None
    versions = applications.permit_versions(session, job.permit_id)[: job.permit_version]
    described = _described(session, versions[-1].specification.dataset_identifiers() if versions else ())
    plan = planning.plan_for_permit(
        versions,
        settings.min_k,
        run_at=job.run_at,
        changed_since=job.changed_since,
        disclosure={identifier: disclosure_of(found) for identifier, found in described.items()},
        plan_version=plan_version_of(session, job),
    )
    frozen = Frozen(
        dictionary=tuple(
            (t.dataset, v.name, v.title, v.datatype)
            for t in plan.tables
            if (found := described.get(t.dataset)) is not None
            for v in found.variables
        ),
        persons=tuple(p.email for p in versions[-1].persons),
    )
    if job.plan is None:
        job.plan = plan.to_json()
    job.frozen = frozen.to_json()
    return frozen


def _context(database: Database, job: ExtractJob, frozen: Frozen) -> Context:
    """The step's context, from the job alone: its plan and what its first step froze."""
    settings = runtime.settings()
    assert job.permit_id is not None and job.plan is not None
    read_at = job.created_at  # the registry as it was when the job began: the same in every step

    def opted_out(at: datetime) -> frozenset[str]:
        with database.session(write=False) as inner:
            return optouts.opted_out_at(inner, at, read_at)

    def receipt(at: datetime) -> dict[str, Any]:
        with database.session(write=False) as inner:
            state = optouts.registry_state(inner, read_at)
        return {
            "opt_outs_effective_by": at.isoformat(),
            "registry_read_at": read_at.isoformat(),
            "registry_events": state.events,
            "registry_last_event_id": state.last_event_id,
        }

    release = (job.review or {}).get("decision") == ReviewDecision.RELEASE
    return Context(
        plan=planning.ExtractPlan.from_json(job.plan),
        registry=settings.registry_dir or settings.data_dir / "registry",
        spe_root=settings.spe_root or settings.data_dir / "spe",
        delivery_id=job.id,
        keys=Keys(
            steps.permit_key(settings.pseudonym_master_key, job.permit_id),
            settings.optout_hash_key.encode(),
            workfiles.job_key(settings.pseudonym_master_key, job.id),
        ),
        opted_out=opted_out,
        optout_receipt=receipt,
        dictionary={(d, v): (title, datatype) for d, v, title, datatype in frozen.dictionary},
        principals=list(frozen.persons),
        max_suppressed_share=1.0 if release else steps.MAX_SUPPRESSED_SHARE,
        work_root=workspace.work_root(),
    )


def run_next(database: Database, job_id: str, index: int | None = None, *, chain: bool = True,
             progress: Progress | None = None) -> str:  # fmt: skip
    """Run the job's next step (``index``, when the message names one); enqueue the one after it."""
    with database.session(write=False) as session:
        job = session.get(ExtractJob, job_id)
        if job is None:
            return "missing"
        statistics_job = job.kind == JobKind.STATISTICS
        index = job.next_step if index is None else index
    if statistics_job:  # its own units of work, none of them inside this one
        return run_statistics(database, job_id)
    if index == 0 and _waits_for_earlier_run(database, job_id):
        return JobStatus.QUEUED
    if not claim(database, job_id, index):
        return _status(database, job_id)
    step: StepRef | None = None
    try:
        with database.session() as session:
            job = session.get(ExtractJob, job_id)
            assert job is not None and job.permit_id is not None
            standing = applications.permit_standing(session, job.permit_id)
            if not standing.open:
                raise planning.PlanError(
                    f"the permit is {standing.status}; nothing may be delivered under it",
                    code="permit_ended",
                    status=standing.status,
                )
            # the first step freezes the job (as does the next step of a job begun before jobs froze)
            frozen = _freeze(session, job) if job.frozen is None else Frozen.from_json(job.frozen)
            ctx = _context(database, job, frozen)
            refs = sequence(ctx.plan)
            if index == len(refs) - 1:  # the deliver step: what may have changed meanwhile
                series = deliveries.next_number(session, job.permit_id)
                ctx.number, ctx.predecessor = series.number, series.predecessor
                ctx.principals = [*frozen.persons, *standing.authorised_subjects]
            previous_row = session.scalars(repository.last_step(job_id, index - 1)).first()
            attempt = 1 + len(session.scalars(repository.attempts(job_id, index)).all())
            previous = (
                Previous(previous_row.dataset, previous_row.rows_out, previous_row.output_digest)
                if previous_row is not None
                else None
            )
        step = refs[index]
        if index == 0:
            for table in ctx.plan.tables:  # an empty registry stops the job before any work, saying so
                SOURCES[table.dataset].require_data(ctx.registry, table.as_of)
            start(ctx)  # a run from the beginning: nothing left over from an earlier one
        record = run_step(ctx, step, previous)
    except Exception as exc:
        return _fail(database, job_id, exc, _where(step, index), rerun=True)
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        assert job is not None
        session.add(
            ExtractStep(
                job_id=job_id,
                attempt=attempt,
                step_index=index,
                dataset=record.dataset,
                name=record.step,
                rows_in=record.rows_in,
                rows_out=record.rows_out,
                seconds=record.seconds,
                input_digest=record.input_digest,
                output_digest=record.output_digest,
                details=record.stored_details(),
                finished_at=clock.now(),
            )
        )
        job.step_claimed = False
        job.updated_at = clock.now()
        if job.status == JobStatus.CANCELLED:  # revoked while this step ran: stop here, deliver nothing
            if record.delivery is not None:
                shutil.rmtree(record.delivery, ignore_errors=True)
            workspace.remove_after_commit(session, job)
            return job.status
        if record.held:
            job.held_reason = f"{record.dataset}: {record.held}"
            _end(session, job, JobStatus.HELD)
        elif record.delivery is not None:
            job.next_step = index + 1
            job.delivery_id = job_id
            job.delivery_path = record.delivery
            job.manifest_sha256 = record.output_digest
            _record_delivery(session, job, ctx, standing.recipient_organisation)
            _end(session, job, JobStatus.DELIVERED)
            if job.kind == JobKind.RECURRING and chain:
                session.flush()
                service.start_next_recurring(session, job.permit_id or "")
        else:
            job.next_step = index + 1
            if chain:
                outbox.enqueue(session, RUN_JOB, {"job_id": job_id, "index": index + 1})
        status = job.status
    if progress is not None:
        progress(record)
    return status


def _record_delivery(
    session: Session, job: ExtractJob, ctx: Context, recipient_organisation: str | None
) -> None:
    assert job.permit_id is not None and job.permit_version is not None and job.manifest_sha256 is not None
    deliveries.record(
        session,
        delivery_id=job.id,
        permit_id=job.permit_id,
        permit_version=job.permit_version,
        recipient_organisation=recipient_organisation,
        folder=ctx.final,
        manifest_sha256=job.manifest_sha256,
    )


def _waits_for_earlier_run(database: Database, job_id: str) -> bool:
    """Recurring runs are delivered in order: a run waits while an earlier one has not ended."""
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        if job is None or job.kind != JobKind.RECURRING or job.run_at is None:
            return False
        earlier = session.scalars(repository.earlier_runs_open(job)).first()
        return earlier is not None


def run_job(database: Database, job_id: str, progress: Progress | None = None) -> str:
    """Run every remaining step here, one after another (the CLI); the same steps the tasks run."""
    while True:
        status = run_next(database, job_id, chain=False, progress=progress)
        if status != JobStatus.RUNNING:
            return status


def run_statistics(database: Database, job_id: str) -> str:
    """Count the tables of an approved statistics request, suppress, deliver them and mark it answered."""
    settings = runtime.settings()
    if not claim(database, job_id, 0):
        return _status(database, job_id)
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        assert job is not None and job.application_id is not None
        request = applications.statistics_request(session, job.application_id)
        try:
            described = _described(session, request.specification.dataset_identifiers())
            specs = statistics.specs_from_request(
                request.specification.tables, {i: disclosure_of(found) for i, found in described.items()}
            )
        except ValueError as exc:
            _end(session, job, JobStatus.FAILED, error=str(exc))
            return job.status
        opted_out = optouts.opted_out_at(session, request.approved_at, job.created_at)
        state = optouts.registry_state(session, job.created_at)
        application_id = job.application_id
    root = (settings.spe_root or settings.data_dir / "spe") / "statistics" / application_id
    final = root / job_id
    registry = settings.registry_dir or settings.data_dir / "registry"
    where = "preparing the count"
    try:
        # the counts read the person column: DuckDB spills into the job's own private folder
        spill = workspace.work_folder(job_id) / workfiles.SPILL
        workspace.work_root().mkdir(mode=workfiles.FOLDER_MODE, parents=True, exist_ok=True)
        workfiles.private_folder(spill.parent)
        workfiles.private_folder(spill)
        con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": str(spill)})
        try:
            con.execute("SET enable_progress_bar = false")
            tables = []
            for number, spec in enumerate(specs, start=1):
                where = f"counting table {number} ({spec.dataset})"
                tables.append(
                    statistics.count_table(
                        con,
                        spec,
                        registry,
                        request.approved_at,
                        opted_out,
                        settings.optout_hash_key.encode(),
                        settings.min_k,
                    )
                )
        finally:
            con.close()
        where = "writing the answer"
        answer = {
            "application_id": application_id,
            "as_of": request.approved_at.isoformat(),
            "min_k": settings.min_k,
            "optout_receipt": {
                "opt_outs_effective_by": request.approved_at.isoformat(),
                "registry_events": state.events,
                "registry_last_event_id": state.last_event_id,
            },
            # where the registry's data came from (synthetic ones say so); None: it does not say
            "registry_provenance": read_provenance(registry),
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
        return _fail(database, job_id, exc, where, rerun=False)
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        assert job is not None
        job.delivery_id, job.delivery_path = job_id, str(final)
        job.manifest_sha256 = sha256_file(final / "answer.json")
        job.step_claimed = False
        _end(session, job, JobStatus.DELIVERED)
        applications.mark_answered(session, application_id)
        return job.status


def _status(database: Database, job_id: str) -> str:
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        return job.status if job is not None else "missing"


def _where(step: StepRef | None, index: int) -> str:
    """The step a permit job stopped in, as the job page names it."""
    if step is None:
        return f"the preparation of step {index + 1}"
    if step.name == "deliver":
        return "the deliver step"
    return f"step {step.name} of {step.dataset}"


def _fail(database: Database, job_id: str, exc: Exception, where: str, *, rerun: bool) -> str:
    """End the job as failed, with a reason people can read; the exception goes to the log alone.

    A :class:`JobFailure` or the registry's ``RegistryFailure`` (both an ``ActionableFailure``) is
    its own reason. Anything else is an internal error: the job says
    where it stopped and that the log has the rest under its id; the log gets the exception and
    its traceback (its chain, notes and groups) formatted to text with person numbers masked, and
    no key (the keys are never in a message).
    """
    if isinstance(exc, ActionableFailure):  # a job's reasons and the registry's alike
        failure = exc
        log.warning("extract job %s cannot run: %s", job_id, mask_person_numbers(exc.reason))
    else:
        failure = internal_error(job_id, where, rerun=rerun)
        # the exception as masked text, never as exc_info: a handler would render that unmasked
        log.error(
            "extract job %s stopped with an internal error in %s\n%s",
            job_id,
            mask_person_numbers(where),
            loggable(exc),
        )
    with database.session() as session:
        job = session.get(ExtractJob, job_id)
        assert job is not None
        job.step_claimed = False
        if job.status == JobStatus.CANCELLED:  # revoked while the step ran: it stays cancelled
            workspace.remove_after_commit(session, job)
            return job.status
        _end(session, job, JobStatus.FAILED, error=failure.reason[:2000], reason=failure.details())
    return JobStatus.FAILED


def _end(
    session: Session,
    job: ExtractJob,
    status: str,
    error: str | None = None,
    reason: dict[str, Any] | None = None,
) -> None:
    """Set the job's status, audited; a failure's ``reason`` (code and parameters) goes into the entry.

    A job that ends (any status but held) loses its work files once this is committed.
    """
    job.status = status
    job.error = error
    job.updated_at = clock.now()
    audit.record(
        session,
        actor=audit.SYSTEM_ACTOR,
        action=f"extract.{status}",
        object_type="extract_job",
        object_id=job.id,
        details={"permit_id": job.permit_id or "", "version": job.permit_version or 0, **(reason or {})},
    )
    if status not in ACTIVE:
        workspace.remove_after_commit(session, job)
