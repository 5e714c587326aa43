"""The embedded default's SQLite file with many writers at once: they queue, none fails, none is lost.

SQLite has one writer at a time. A transaction that reads and then writes cannot take the write lock
once another has written since its read, whatever the busy timeout; so a unit of work that may write
takes the lock when it begins, and waits its turn (hdab.core.db). When the lock still cannot be had,
the answer is 503 with Retry-After, never 500.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from hdab.app import create_app
from hdab.applications.models import Application
from hdab.core import audit, runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.models import AuditEntry
from hdab.core.problems import install_handlers
from hdab.core.settings import Settings
from hdab.extracts.optouts.models import OptOutEvent
from tests.extracts.people import people

THREADS = 12
ROUNDS = 3


def at_once(work: list[Callable[[], Any]]) -> list[Any]:
    """Run every piece of work in its own thread, all released together; their results, in order."""
    start = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = work[index]()
        except BaseException as exc:  # the test reports it
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@pytest.fixture
def client(sqlite_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_settings), raise_server_exceptions=False) as client:
        yield client


def test_concurrent_audited_writes_through_the_app_all_succeed_and_the_chain_verifies(
    client: TestClient, sqlite_settings: Settings
) -> None:
    idp = DevIdentityProvider(sqlite_settings)
    citizens = people(THREADS)

    def citizen(number: int) -> Callable[[], list[int]]:
        token = idp.issue(f"borger-{number}", [Role.CITIZEN], national_id=citizens[number])
        headers = {"Authorization": f"Bearer {token}"}

        def work() -> list[int]:
            # each reads the citizen's opt-out history first, then writes: the case SQLite refuses
            # outright to a transaction that began reading before another committed
            statuses = []
            for _ in range(ROUNDS):
                statuses.append(client.post("/api/optouts/me", headers=headers).status_code)
                statuses.append(client.delete("/api/optouts/me", headers=headers).status_code)
            return statuses

        return work

    def applicant(number: int) -> Callable[[], list[int]]:
        headers = {"Authorization": f"Bearer {idp.issue(f'forsker-{number}', [Role.APPLICANT])}"}

        def work() -> list[int]:
            return [
                client.post("/api/applications", json={"type": "access"}, headers=headers).status_code
                for _ in range(ROUNDS)
            ]

        return work

    def reader() -> list[int]:
        return [client.get("/api/datasets").status_code for _ in range(ROUNDS)]

    work = [citizen(n) for n in range(THREADS)] + [applicant(n) for n in range(THREADS)] + [reader] * 4
    results = at_once(work)
    assert results[:THREADS] == [[201, 200] * ROUNDS] * THREADS
    assert results[THREADS : 2 * THREADS] == [[201] * ROUNDS] * THREADS
    assert results[2 * THREADS :] == [[200] * ROUNDS] * 4
    with runtime.database().session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(OptOutEvent)) == THREADS * ROUNDS * 2
        assert session.scalar(select(func.count()).select_from(Application)) == THREADS * ROUNDS
        entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        assert entries >= THREADS * ROUNDS * 3
        assert audit.verify(session).ok


def test_concurrent_units_of_work_that_read_then_write_queue_in_the_service_layer(
    sqlite_settings: Settings,
) -> None:
    database = runtime.database()

    def writer(number: int) -> Callable[[], int]:
        def work() -> int:
            for round_ in range(ROUNDS):
                with database.session() as session:
                    before = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
                    audit.record(
                        session,
                        actor=f"writer-{number}",
                        action="test.concurrent_write",
                        object_type="test",
                        object_id=f"{number}-{round_}",
                        details={"seen_before": before},
                    )
            return number

        return work

    assert at_once([writer(n) for n in range(THREADS * 2)]) == list(range(THREADS * 2))
    with database.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == THREADS * 2 * ROUNDS
        assert audit.verify(session).ok


def test_a_lock_that_cannot_be_had_is_503_with_retry_after(tmp_path: Path) -> None:
    from fastapi import FastAPI

    app = FastAPI()
    install_handlers(app)

    @app.get("/api/busy")
    def busy() -> None:
        raise OperationalError("INSERT ...", {}, Exception("database is locked"))

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/busy")
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.headers["content-type"] == "application/problem+json"
    assert "busy" in response.json()["detail"]
