"""1,000 cases driven through the API by concurrent clients on PostgreSQL, beside /healthz in the same run.

Starts the real server (`hdab serve`) on a fresh PostgreSQL database with the catalogue seeded.
Each client thread takes cases one after another through the main path (create, submit,
pre-screening, start processing, fee estimate, fee acceptance, assessment, approval: a signed
permit and an outbox message each) and times every command. Then the same number of clients call
/healthz for the same number of requests. Prints p50/p95 of command latency, commands per second,
and the ratio of command p95 to /healthz p95 (target: command p95 under 100 ms).

    python -m bench.applications [--cases 1000] [--clients 8]

PostgreSQL from HDAB_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
outbox messages go to Redis at HDAB_BENCH_BROKER_URL (default redis://127.0.0.1:6379/14) when it
answers, as in production, so the API does not run the extract hand-over in-process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

from bench.search import _free_port, server
from hdab.catalog import service as catalog
from hdab.core import audit, migrate, runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings

ALL_MET = {k: {"met": True, "note": "ok"} for k in "abcdefgh"}


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
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[94] * 1000


def drive(
    base: str, headers: dict[str, dict[str, str]], cases: int, clients: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    counter = iter(range(cases))

    def client() -> None:
        try:
            work()
        except BaseException as exc:
            failures.append(exc)

    def work() -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=60) as http:

            def call(who: str, path: str, body: Any = None) -> dict[str, Any]:
                started = time.perf_counter()
                response = http.post(path, json=body, headers=headers[who])
                mine.append(time.perf_counter() - started)
                if response.status_code not in (200, 201):
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
                result: dict[str, Any] = response.json()
                return result

            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    break
                case = call(
                    "applicant", "/api/applications", {"type": "access", "form": application_form(index)}
                )
                path = f"/api/applications/{case['id']}"
                call("applicant", f"{path}/submit")
                call("caseworker", f"{path}/start-pre-screening")
                call("caseworker", f"{path}/start-processing")
                call("caseworker", f"{path}/estimate-fee", {"amount": "1000", "currency": "NOK"})
                call("applicant", f"{path}/accept-fee")
                call("caseworker", f"{path}/record-assessment", {"criteria": ALL_MET})
                call("decision_maker", f"{path}/approve", {"valid_until": "2029-12-31"})
        with lock:
            latencies.extend(mine)

    elapsed = _in_parallel(client, clients)
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed; the first: {failures[0]}")
    return latencies, len(latencies) / elapsed


def _in_parallel(work: Callable[[], None], clients: int) -> float:
    """Run ``work`` on ``clients`` threads at once; the wall time in seconds until all are done."""
    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def healthz(base: str, requests: int, clients: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = requests // clients

    def client() -> None:
        mine = []
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(per_client):
                started = time.perf_counter()
                assert http.get("/healthz").status_code == 200
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    elapsed = _in_parallel(client, clients)  # before len(): the threads fill latencies
    return latencies, len(latencies) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server processes (hdab serve --workers)")
    args, _ = parser.parse_known_args()
    server_url = os.environ.get("HDAB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    broker = _broker(os.environ.get("HDAB_BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"))
    url = _database(server_url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
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
            with server(env, port, "--workers", str(workers)) as base:
                drive(base, headers, max(1, args.clients * 2), args.clients)  # warm-up
                latencies, throughput = drive(base, headers, args.cases, args.clients)
                health, health_rate = healthz(base, len(latencies), args.clients)
        p50, p95 = percentiles(latencies)
        h50, h95 = percentiles(health)
        print(
            f"applications: {args.cases} cases, {len(latencies)} commands, {args.clients} clients, "
            f"{workers} server processes, "
            f"PostgreSQL, outbox to {'Redis' if broker else 'in-process'}; "
            f"commands p50 {p50:.1f} ms, p95 {p95:.1f} ms, {throughput:.0f} commands/s; "
            f"/healthz p50 {h50:.1f} ms, p95 {h95:.1f} ms, {health_rate:.0f} req/s; "
            f"p95 ratio {p95 / h95:.1f} (target: command p95 < 100 ms)"
        )
    finally:
        _drop(server_url, url)


if __name__ == "__main__":
    main()
