"""Extracts Celery tasks: thin, they call the service and the runner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hdab.core import clock, runtime
from hdab.core.celery_app import celery_app, is_eager
from hdab.extracts.deliveries import service as deliveries
from hdab.extracts.jobs import runner, service
from hdab.extracts.jobs.domain import RUN_JOB

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # a job whose worker died (or whose message was lost) is started again
    "extracts-resume": {"task": "extracts.resume", "schedule": timedelta(minutes=5)},
    # Art. 67(5): recurring deliveries start when due; missed runs are caught up in order
    "extracts-recurring": {"task": "extracts.schedule_recurring", "schedule": timedelta(minutes=15)},
    # Art. 68(12): delivered data are deleted when the permit's deletion date comes
    "extracts-delete-due": {"task": "extracts.delete_due", "schedule": timedelta(hours=1)},
    # work files that ended or vanished jobs left behind (a killed process): they hold identifiers
    "extracts-sweep-work": {"task": "extracts.sweep_work", "schedule": timedelta(hours=1)},
}


@celery_app.task(name="permit.issued", ignore_result=True)
def permit_issued(permit_id: str, version: int) -> str:
    """Exactly one job per permit version; a repeated message changes nothing."""
    with runtime.database().session() as session:
        job, _created = service.job_for_permit_version(session, permit_id, version)
        return job.id


@celery_app.task(name="statistics_request.approved", ignore_result=True)
def statistics_request_approved(application_id: str) -> str:
    with runtime.database().session() as session:
        job, _created = service.job_for_statistics(session, application_id)
        return job.id


# background: without a broker, steps run in the server's background thread, never in the request
# (the approval) that started the job
@celery_app.task(name=RUN_JOB, ignore_result=True, background=True)
def run_job(job_id: str, index: int | None = None) -> str:
    """Run one step of the job (its next one); the step enqueues the step after it."""
    return runner.run_next(runtime.database(), job_id, index)


@celery_app.task(name="extracts.resume", ignore_result=True)
def resume() -> int:
    jobs = runner.stale(runtime.database())
    for job_id in jobs:
        if is_eager():  # the embedded default: no broker, the scheduler runs it here
            runner.run_next(runtime.database(), job_id)
        else:
            celery_app.send_task(RUN_JOB, kwargs={"job_id": job_id})
    return len(jobs)


@celery_app.task(name="permit.revoked", ignore_result=True)
def permit_revoked(permit_id: str) -> int:
    """Art. 63: a revoked permit's queued and running jobs stop (access already ends with the status)."""
    with runtime.database().session() as session:
        return service.cancel_jobs(session, permit_id, "the permit was revoked")


@celery_app.task(name="extracts.delete_due", ignore_result=True)
def delete_due() -> int:
    with runtime.database().session() as session:
        return len(deliveries.delete_due(session, clock.now_oslo().date()))


@celery_app.task(name="extracts.schedule_recurring", ignore_result=True)
def schedule_recurring() -> int:
    with runtime.database().session() as session:
        return len(service.schedule_recurring(session, clock.now()))


@celery_app.task(name="extracts.sweep_work", ignore_result=True)
def sweep_work() -> int:
    with runtime.database().session() as session:
        return service.sweep_work(session, clock.now()).removed
