"""Application commands under load, on PostgreSQL and on the embedded SQLite default, beside /healthz.

For each database the real server (`hdab serve`) starts on a fresh database with the catalogue
seeded. First ``--open`` cases (default 1,000) are opened through the API and left open, spread over
the states a caseworker's inbox holds (submitted, pre-screening, processing, awaiting fee
acceptance): the load runs with that many cases open at once. Then each of ``--clients`` client
threads takes new cases one after another through the main path (create, submit, pre-screening,
start processing, fee estimate, fee acceptance, assessment, approval: a signed permit and an
outbox message each) and times every command; after each case the caseworker reads the case and
the inbox's first page (timed apart, as "reads"). Then the same clients call /healthz as many
times. Prints p50/p95 of command latency, commands per second and the ratio of command p95 to
/healthz p95 (targets: p95 < 100 ms on PostgreSQL and ratio <= 5; p95 < 150 ms on SQLite).

The outbox is counted from its table once the load ends: messages written, sent, sent more than
once or after a failure, never sent, and the delay from writing to sending (p50, p95, max); and the
server's "not delivered" warnings in its log. Nothing may be lost, and nothing may wait for the
periodic relay (15 s): a message counts as delayed when it was sent more than 5 s after it was
written.

    python -m bench.applications [--cases 1000] [--open 1000] [--clients 8] [--database both]

PostgreSQL from HDAB_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
its outbox messages go to Redis at HDAB_BENCH_BROKER_URL (default redis://127.0.0.1:6379/14) when
it answers, as in production, so the API does not run the extract hand-over in-process. SQLite runs
as the embedded default does: no broker, tasks in-process, one server process.
HDAB_BENCH_LOG_DIR names a folder that keeps the servers' logs (server-<database>.log).

Where a command's time goes: attach py-spy (`pip install py-spy`) to the server while the load
runs, e.g. `py-spy record --pid <hdab serve pid> --subprocesses --format raw -d 40 -o out.txt`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, select, text

import hdab.tasks  # noqa: F401 - registers the tasks the catalogue seed enqueues
from bench.search import _free_port
from bench.serve import server
from hdab.catalog import service as catalog
from hdab.core import audit, clock, migrate, runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.models import OutboxMessage
from hdab.core.settings import Settings

ALL_MET = {k: {"met": True, "note": "ok"} for k in "abcdefgh"}
DELAYED_SECONDS = 5.0  # the periodic relay runs every 15 s: a message later than this waited for it
Headers = dict[str, dict[str, str]]


def application_form(index: int) -> dict[str, Any]:
    return {
        "title": f"Benchmark study {index}",
        "applicant": {"organisation": "974757486", "organisation_name": "Universitetet i Oslo"},
        "persons": [{"email": f"pi{index}@uio.no", "name": "Principal Investigator"}],
        "purpose": "e",
        "use_description": "Benchmark",
        "expected_benefit": "Speed",
        "specification": {
            "datasets": [
                {
                    "dataset": "npr-somatikk",
                    "variables": ["hovedtilstand", "kjonn", "fodselsar"],
                    "period": {"start": "2020-01-01", "end": "2024-12-31"},
                    "cohort": [{"variable": "hovedtilstand", "prefixes": ["S72"]}],
                }
            ]
        },
        "safeguards": "Secure environment",
        "access_period": {"start": "2027-01-01", "end": "2029-12-31"},
        "tools": "R",
        "ethics": "REK",
        "legal_basis": "GDPR 6(1)(e)",
        "art54_declaration": True,
    }


# The main path of one case: (who, command, body); a case left open stops after 2 to 5 of them.
MAIN_PATH: list[tuple[str, str, Any]] = [
    ("applicant", "submit", None),
    ("caseworker", "start-pre-screening", None),
    ("caseworker", "start-processing", None),
    ("caseworker", "estimate-fee", {"amount": "1000", "currency": "NOK"}),
    ("applicant", "accept-fee", None),
    ("caseworker", "record-assessment", {"criteria": ALL_MET}),
    ("decision_maker", "approve", {"valid_until": "2029-12-31"}),
]


def _database(server_url: str) -> str:
    name = f"hdab_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop(server_url: str, url: str) -> None:
    engine = create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def _broker(url: str) -> str:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=1) as connection:
            connection.ensure_connection(max_retries=1, timeout=1)
        return url
    except Exception:
        return ""


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[94] * 1000


class Client:
    """One HTTP client acting as applicant, caseworker and decision maker by turns."""

    def __init__(self, http: httpx.Client, headers: Headers) -> None:
        self.http = http
        self.headers = headers

    def post(self, who: str, path: str, body: Any = None) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        response = self.http.post(path, json=body, headers=self.headers[who])
        took = time.perf_counter() - started
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        result: dict[str, Any] = response.json()
        return took, result

    def get(self, who: str, path: str) -> float:
        started = time.perf_counter()
        response = self.http.get(path, headers=self.headers[who])
        took = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        return took

    def case(self, index: int, steps: int) -> tuple[str, list[tuple[str, float]]]:
        """Create case ``index``, take it ``steps`` commands along the main path; its path, (command, s)."""
        took, created = self.post(
            "applicant", "/api/applications", {"type": "access", "form": application_form(index)}
        )
        timings = [("create", took)]
        path = f"/api/applications/{created['id']}"
        for who, command, body in MAIN_PATH[:steps]:
            took, _ = self.post(who, f"{path}/{command}", body)
            timings.append((command, took))
        return path, timings


def in_parallel(work: Callable[[int], None], clients: int) -> float:
    """Run ``work(client number)`` on ``clients`` threads at once; the wall time until all are done.

    A failure in any thread is raised here, after all have ended.
    """
    failures: list[BaseException] = []

    def run(number: int) -> None:
        try:
            work(number)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed; the first: {failures[0]}") from failures[0]
    return elapsed


def open_cases(base: str, headers: Headers, count: int, clients: int) -> None:
    """Open ``count`` cases and leave them open in the inbox's states (2 to 5 commands along)."""
    counter = iter(range(count))
    lock = threading.Lock()

    def work(_number: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            client = Client(http, headers)
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                client.case(1_000_000 + index, 1 + index % 4)

    in_parallel(work, clients)


@dataclass
class Drive:
    timed: list[tuple[str, float]]  # (command, seconds)
    reads: list[float]
    rate: float

    @property
    def commands(self) -> list[float]:
        return [took for _command, took in self.timed]

    def slowest(self) -> str:
        """The p95 of each command, slowest first."""
        by: dict[str, list[float]] = {}
        for command, took in self.timed:
            by.setdefault(command, []).append(took)
        p95 = {command: percentiles(times)[1] for command, times in by.items() if len(times) > 1}
        return ", ".join(f"{c} {t:.0f}" for c, t in sorted(p95.items(), key=lambda item: -item[1]))


def drive(base: str, headers: Headers, cases: int, clients: int, first: int = 0) -> Drive:
    """Take ``cases`` new cases through the main path from ``clients`` threads; timings and commands/s."""
    commands: list[tuple[str, float]] = []
    reads: list[float] = []
    lock = threading.Lock()
    counter = iter(range(first, first + cases))

    def work(_number: int) -> None:
        mine: list[tuple[str, float]] = []
        looked: list[float] = []
        with httpx.Client(base_url=base, timeout=120) as http:
            client = Client(http, headers)
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    break
                path, timings = client.case(index, len(MAIN_PATH))
                mine.extend(timings)
                looked.append(client.get("caseworker", path))
                looked.append(client.get("caseworker", "/api/inbox"))
        with lock:
            commands.extend(mine)
            reads.extend(looked)

    elapsed = in_parallel(work, clients)
    return Drive(commands, reads, len(commands) / elapsed)


def healthz(base: str, requests: int, clients: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = max(1, requests // clients)

    def work(_number: int) -> None:
        mine = []
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(per_client):
                started = time.perf_counter()
                assert http.get("/healthz").status_code == 200
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    in_parallel(work, clients)
    return latencies


@dataclass
class Outbox:
    written: int
    sent: int
    unsent: int
    retried: int  # sent after a failed attempt, or sent more than once
    delays: list[float]  # seconds from writing to sending, of each message sent
    late: Counter[str]  # the delayed messages by task
    warnings: int  # "outbox message ... not delivered" lines in the server's log
    waited: float  # seconds after the load until nothing was left unsent (or the wait ended)

    @property
    def delayed(self) -> int:
        return sum(1 for d in self.delays if d > DELAYED_SECONDS)

    def line(self) -> str:
        if self.delays:
            cuts = statistics.quantiles(self.delays, n=100) if len(self.delays) > 1 else self.delays * 99
            delay = (
                f"delay p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, "
                f"max {max(self.delays):.1f} s"
            )
        else:
            delay = "no delays"
        return (
            f"outbox: {self.written} written, {self.sent} sent, {self.unsent} never sent, "
            f"{self.retried} retried, {self.delayed} delayed > {DELAYED_SECONDS:.0f} s"
            f"{' (' + ', '.join(f'{n} {t}' for t, n in self.late.most_common()) + ')' if self.late else ''}; "
            f"{delay}; "
            f"{self.warnings} 'not delivered' warnings; drained {self.waited:.1f} s after the load"
        )


def outbox_figures(url: str, log: Path, since: datetime, wait: float = 60.0) -> Outbox:
    """Count the messages written from ``since`` once the outbox has drained (or ``wait`` seconds passed)."""
    database_url = url.replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(database_url)
    started = time.monotonic()
    try:
        while True:
            with engine.connect() as connection:
                rows: list[Any] = list(
                    connection.execute(
                        select(
                            OutboxMessage.task,
                            OutboxMessage.created_at,
                            OutboxMessage.sent_at,
                            OutboxMessage.attempts,
                            OutboxMessage.last_error,
                        ).where(OutboxMessage.created_at >= since)
                    )
                )
            unsent = sum(1 for r in rows if r.sent_at is None)
            waited = time.monotonic() - started
            if unsent == 0 or waited > wait:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    delays = [(_aware(r.sent_at) - _aware(r.created_at)).total_seconds() for r in rows if r.sent_at]
    late = Counter(
        r.task
        for r in rows
        if r.sent_at and (_aware(r.sent_at) - _aware(r.created_at)).total_seconds() > DELAYED_SECONDS
    )
    warnings = sum(1 for line in log.read_text(errors="replace").splitlines() if "not delivered" in line)
    return Outbox(
        written=len(rows),
        sent=len(rows) - unsent,
        unsent=unsent,
        retried=sum(1 for r in rows if r.attempts > 1 or r.last_error),
        delays=delays,
        late=late,
        warnings=warnings,
        waited=waited,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run(kind: str, args: argparse.Namespace, log_dir: Path) -> str:
    """One database's run: seed, open cases, load, /healthz, outbox; the figures as one line."""
    server_url = os.environ.get("HDAB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "postgresql":
            broker = _broker(os.environ.get("HDAB_BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"))
            url = _database(server_url)
        else:
            broker = ""  # the embedded default: tasks in-process
            url = f"sqlite:///{tmp}/hdab.db"
        try:
            migrate.upgrade(url)
            port = _free_port()
            settings = Settings(
                env="test", data_dir=Path(tmp), database_url=url, port=port, broker_url=broker
            )
            runtime.configure(settings)
            with runtime.database().session() as session:
                catalog.seed(session, settings, audit.SYSTEM_ACTOR)
            runtime.database().dispose()
            idp = DevIdentityProvider(settings)
            headers = {
                who: {"Authorization": f"Bearer {idp.issue(who, [role], email=f'{who}@bench.no')}"}
                for who, role in (
                    ("applicant", Role.APPLICANT),
                    ("caseworker", Role.CASEWORKER),
                    ("decision_maker", Role.DECISION_MAKER),
                )
            }
            base_env = {k: v for k, v in os.environ.items() if not k.startswith("HDAB_")}
            env = {
                **base_env,
                "HDAB_ENV": "test",
                "HDAB_DATA_DIR": tmp,
                "HDAB_DATABASE_URL": url,
                "HDAB_BROKER_URL": broker,
                "HDAB_PORT": str(port),  # the development issuer's URL names the port
                "HDAB_LOG_LEVEL": "WARNING",
            }
            workers = args.workers if broker else 1
            log = log_dir / f"server-{kind}.log"
            with server(env, port, log, "--workers", str(workers)) as base:
                since = clock.now()
                opened = time.perf_counter()
                open_cases(base, headers, args.open, args.clients)
                opened = time.perf_counter() - opened
                drive(base, headers, max(1, args.clients * 2), args.clients, first=2_000_000)  # warm-up
                load = drive(base, headers, args.cases, args.clients)
                health = healthz(base, len(load.commands), args.clients)
                outbox = outbox_figures(url, log, since)
        finally:
            if kind == "postgresql":
                _drop(server_url, url)
    p50, p95 = percentiles(load.commands)
    r50, r95 = percentiles(load.reads)
    h50, h95 = percentiles(health)
    target = "p95 < 100 ms, ratio <= 5" if kind == "postgresql" else "p95 < 150 ms"
    where = "Redis" if broker else "in-process"
    return (
        f"applications on {kind} ({workers} server process{'es' if workers > 1 else ''}, outbox to {where}): "
        f"{args.open} cases open, then {args.cases} cases, {len(load.commands)} commands, "
        f"{args.clients} clients "
        f"(opening took {opened:.0f} s)\n"
        f"  commands p50 {p50:.1f} ms, p95 {p95:.1f} ms, {load.rate:.0f} commands/s; "
        f"reads (case, inbox) p50 {r50:.1f} ms, p95 {r95:.1f} ms\n"
        f"  p95 by command (ms): {load.slowest()}\n"
        f"  /healthz p50 {h50:.1f} ms, p95 {h95:.1f} ms; p95 ratio {p95 / h95:.1f} (target: {target})\n"
        f"  {outbox.line()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000, help="cases taken through the main path")
    parser.add_argument("--open", type=int, default=1000, help="cases left open before the load")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server processes with a broker")
    parser.add_argument("--database", choices=("both", "postgresql", "sqlite"), default="both")
    args, _ = parser.parse_known_args()
    kinds = ["postgresql", "sqlite"] if args.database == "both" else [args.database]
    keep = os.environ.get("HDAB_BENCH_LOG_DIR")
    with tempfile.TemporaryDirectory() as logs:
        log_dir = Path(keep) if keep else Path(logs)
        log_dir.mkdir(parents=True, exist_ok=True)
        for kind in kinds:
            print(run(kind, args, log_dir), flush=True)


if __name__ == "__main__":
    main()
