"""A real Celery worker (``hdab worker``) on real Redis: the outbox end to end, across processes.

Runs when HDAB_TEST_BROKER_URL is set (CI sets it); uses PostgreSQL when configured, else a SQLite
file the worker shares.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from hdab.core import clock, outbox, runtime
from hdab.core.celery_app import celery_app, configure_celery
from hdab.core.db import Database
from hdab.core.models import AuditEntry, OutboxMessage
from hdab.core.settings import Settings
from tests.support import backends
from tests.support.backends import REPOSITORY_ROOT
from tests.support.cli import clean_env, run_hdab
from tests.support.tasks import TRACE_ACTION

pytestmark = pytest.mark.worker
CLOSED_BROKER = "redis://127.0.0.1:1/0"


def wait_for(condition: Callable[[], bool], seconds: float = 40, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def traces(database: Database) -> list[str]:
    with database.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == TRACE_ACTION).order_by(AuditEntry.seq)
        )
        return [str(e.details["marker"]) for e in entries]


def _process_env(settings: Settings) -> dict[str, str]:
    return clean_env(
        HDAB_ENV="test",
        HDAB_DATA_DIR=str(settings.data_dir),
        HDAB_DATABASE_URL=settings.database_url,
        HDAB_BROKER_URL=settings.broker_url,
        HDAB_CLOCK_FILE=str(settings.clock_file),
        PYTHONPATH=str(REPOSITORY_ROOT),
    )


@pytest.fixture
def worker_settings(
    tmp_path: Path, request: pytest.FixtureRequest, sqlite_template: Path
) -> Iterator[Settings]:
    if not backends.TEST_BROKER_URL:
        backends.missing("Redis (HDAB_TEST_BROKER_URL)")
    if backends.TEST_DATABASE_URL:
        database_url = str(request.getfixturevalue("postgres_url"))
    else:
        shutil.copy(sqlite_template, tmp_path / "hdab.db")
        database_url = f"sqlite:///{tmp_path / 'hdab.db'}"
    redis.Redis.from_url(backends.TEST_BROKER_URL).flushdb()
    settings = backends.make_settings(
        tmp_path / "data",
        database_url,
        backends.TEST_BROKER_URL,
        clock_file=tmp_path / "clock.json",
    )
    runtime.configure(settings)
    yield settings
    if not settings.uses_sqlite:
        from tests.conftest import _truncate_postgres

        _truncate_postgres(runtime.database())
    runtime.database().dispose()
    configure_celery(backends.make_settings(tmp_path / "data", database_url))


def _start(settings: Settings, command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "hdab.cli", *command],
            env=_process_env(settings),
            cwd=REPOSITORY_ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def worker(worker_settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = tmp_path / "worker.log"
    process = _start(
        worker_settings,
        [
            "worker",
            "--pool",
            "solo",
            "--include",
            "tests.support.tasks",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        log,
    )

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError("worker exited:\n" + log.read_text(errors="replace"))
        return bool(celery_app.control.ping(timeout=0.5))

    wait_for(ready, what="the worker to answer a ping")
    yield process
    _stop(process)


def test_committed_message_runs_on_the_worker(worker_settings: Settings, worker: object) -> None:
    database = runtime.database()
    with database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": "through redis"})
    wait_for(lambda: traces(database) == ["through redis"], what="the worker to run the task")


def test_rolled_back_message_is_never_sent(worker_settings: Settings, worker: object) -> None:
    database = runtime.database()
    with pytest.raises(RuntimeError), database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": "rolled back"})
        raise RuntimeError("the change failed")
    with database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": "sentinel"})
    # One solo worker runs the queue in order: once the later message ran, an earlier one would have.
    wait_for(lambda: traces(database) == ["sentinel"], what="the sentinel task")
    time.sleep(1)
    assert traces(database) == ["sentinel"]


def test_message_survives_a_broker_outage_and_beat_delivers_it(
    worker_settings: Settings, worker: object, tmp_path: Path
) -> None:
    database = runtime.database()
    configure_celery(worker_settings.model_copy(update={"broker_url": CLOSED_BROKER}))
    with database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": "after the outage"})
    with database.session() as session:
        [message] = session.scalars(select(OutboxMessage))
        assert message.sent_at is None and message.attempts == 1
        assert message.last_error
    configure_celery(worker_settings)
    # Nobody in this process relays it: beat schedules core.outbox_relay, the worker runs it.
    beat = _start(worker_settings, ["beat", "--loglevel", "INFO"], tmp_path / "beat.log")
    try:
        wait_for(
            lambda: traces(database) == ["after the outage"],
            seconds=60,
            what="beat and the worker to relay the message",
        )
    finally:
        _stop(beat)


def test_worker_reads_the_shared_clock(worker_settings: Settings, worker: object) -> None:
    assert worker_settings.clock_file is not None
    frozen = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
    clock.write_clock_file(worker_settings.clock_file, instant=frozen)
    database = runtime.database()
    with database.session() as session:
        outbox.enqueue(session, "tests.leave_trace", {"marker": "when"})
    wait_for(lambda: traces(database) == ["when"], what="the task")
    with database.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == TRACE_ACTION)).one()
    assert entry.occurred_at == frozen


def test_worker_without_broker_is_refused(tmp_path: Path) -> None:
    result = run_hdab("worker", env=clean_env(HDAB_DATA_DIR=str(tmp_path)), timeout=60)
    assert result.returncode == 2
    assert "HDAB_BROKER_URL is not set" in result.stderr
