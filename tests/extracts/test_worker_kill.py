"""A worker killed with SIGKILL in the middle of an extract: the job is resumed and delivers once.

Runs with a real Celery worker on real Redis (HDAB_TEST_BROKER_URL), like tests/core/test_worker.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hdab.app import create_app
from hdab.catalog import service as catalog
from hdab.core import audit, clock, runtime
from hdab.core.celery_app import celery_app
from hdab.core.settings import Settings
from hdab.extracts.jobs import runner
from hdab.extracts.jobs.models import ExtractJob, ExtractStep
from hdab.registry import synth
from tests.applications.factories import People, access_form
from tests.applications.walk import create, to_permit
from tests.core.test_worker import _start, _stop, wait_for, worker_settings  # noqa: F401 - the fixture

pytestmark = pytest.mark.worker


def _worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    process = _start(
        settings,
        ["worker", "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        log,
    )
    wait_for(lambda: bool(celery_app.control.ping(timeout=0.5)), what="the worker to answer a ping")
    return process


def _job() -> ExtractJob | None:
    with runtime.database().session() as session:
        return session.scalars(select(ExtractJob)).first()


def _steps() -> int:
    with runtime.database().session() as session:
        return session.scalar(select(func.count()).select_from(ExtractStep)) or 0


def test_a_job_killed_mid_step_finishes_with_one_delivery(
    worker_settings: Settings,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    settings = worker_settings
    synth.generate(settings.data_dir / "registry", 300_000, 2025, 3)  # large enough to take seconds
    with runtime.database().session() as session:
        catalog.seed(session, settings, audit.SYSTEM_ACTOR)
    first = _worker(settings, tmp_path / "worker-1.log")
    try:
        people = People(settings)
        form = access_form(pseudonymisation_justification="Linkage needs a stable pseudonym.")
        form["specification"] = {
            "datasets": [
                {
                    "dataset": "npr-somatikk",
                    "variables": ["hovedtilstand", "kjonn", "fodselsar", "innskrivningstidspunkt"],
                    "pseudonymised": True,
                }
            ]
        }
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            to_permit(client, people, create(client, people.applicant, form))
        wait_for(lambda: _steps() >= 1, seconds=120, what="the first step to finish on the worker")
        os.kill(first.pid, signal.SIGKILL)  # in the middle of the job
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            _stop(first)
    job = _job()
    assert job is not None and job.status == "running" and job.delivery_path is None
    finished_before = _steps()
    assert 1 <= finished_before < 7
    permit_dir = settings.data_dir / "spe" / str(job.permit_id)
    assert not (permit_dir / job.id / "manifest.json").exists()
    assert settings.clock_file is not None
    clock.write_clock_file(settings.clock_file, offset=runner.LEASE + timedelta(minutes=1))
    second = _worker(settings, tmp_path / "worker-2.log")
    try:
        celery_app.send_task("extracts.resume")
        wait_for(
            lambda: (_job() or job).status == "delivered", seconds=180, what="the resumed job to deliver"
        )
    finally:
        _stop(second)
    deliveries = [p.name for p in permit_dir.iterdir()]
    assert deliveries == [job.id]  # one delivery, nothing half-written beside it
    with runtime.database().session() as session:
        indexes = list(session.scalars(select(ExtractStep.step_index).order_by(ExtractStep.step_index)))
    # the job went on from the step that was killed: no finished step ran twice
    assert indexes == list(range(7))
