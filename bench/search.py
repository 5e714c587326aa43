"""Search under load: 10,000 generated datasets, the embedded and the OpenSearch backend.

For each backend: index the generated catalogue, start the real server (`hdab serve`), then run
a fixed mix of realistic queries from concurrent clients over HTTP, and /healthz the same way in
the same run. Prints p50/p95/p99 latency and requests per second for both, and the ratio of
search throughput to /healthz throughput (targets: at least 1/3; p95 under 50 ms).

The embedded backend runs twice: warm (the per-generation answer cache on; the mix repeats, so
most answers come from it, as OpenSearch's request cache would serve them) and cold (the server
started with HDAB_SEARCH_CACHE_SIZE=0: no answer is cached, every request analyses, matches,
counts facets and highlights afresh; only the per-generation corpus, built by the warm-up, and
the stem caches stay, as they do in any server that has answered once).

Rebuild: the embedded index is rebuilt at N/5 and at N datasets (the issue's 2 k and 10 k);
printed as time per dataset at each size and their ratio (linear: about 1).

    python -m bench.search [--datasets N] [--clients C] [--seconds S] [--backend embedded|opensearch|both]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.catalog import generate
from bench.serve import server
from hdab.catalog.search import backend as search_backend
from hdab.catalog.search import reset as reset_backends
from hdab.catalog.search.documents import document_for
from hdab.core import clock, migrate, runtime
from hdab.core.settings import Settings

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]

QUERIES = [
    {"q": "hjerneslag innleggelser 2019"},
    {"q": "ICPC-2"},
    {"q": "ventetid"},
    {"q": "somatikk"},
    {"q": "somatik"},
    {"q": "psykisk helsevern"},
    {"q": "mental health"},
    {"q": "rusbehandlng"},
    {"q": "hovedtilstand", "coding_system": "ICD-10"},
    {"q": "refusjon fysioterapi"},
    {"q": "", "health_category": "HRAD"},
    {"q": "hjemmet", "lang": "en"},
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load(
    base: str, requests: list[tuple[str, dict[str, str]]], clients: int, seconds: float
) -> tuple[list[float], float]:
    """Run the requests round-robin from ``clients`` threads for ``seconds``; latencies (s) and req/s."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=30) as http:
            index = offset
            while time.monotonic() < stop:
                path, params = requests[index % len(requests)]
                started = time.perf_counter()
                response = http.get(path, params=params)
                mine.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:200]
                index += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, len(latencies) / (time.perf_counter() - started)


def _percentiles(latencies: list[float]) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    return f"p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"


def index(name: str, settings: Settings, count: int) -> float:
    """Rebuild the index with ``count`` datasets; seconds taken (the documents made beforehand)."""
    runtime.configure(settings)
    reset_backends()
    today = clock.now_oslo().date()
    documents = [document_for(r, today) for r in generate(count, settings.base_url)]
    started = time.perf_counter()
    search_backend().rebuild(documents)
    took = time.perf_counter() - started
    print(
        f"search[{name}]: indexed {count} datasets in {took:.1f} s ({took / count * 1000:.2f} ms per dataset)"
    )
    return took


def rebuild_scaling(name: str, settings: Settings, count: int) -> None:
    small = max(count // 5, 1)
    per_small = index(name, settings, small) / small
    per_large = index(name, settings, count) / count
    print(
        f"search[{name}]: rebuild time per dataset at {count} / at {small}: {per_large / per_small:.2f}"
        " (linear: about 1)"
    )


def run(name: str, settings: Settings, env: dict[str, str], clients: int, seconds: float) -> None:
    # HDAB_BENCH_SERVER_LOG names a file for the server's log (to see why a request failed)
    log = Path(os.environ["HDAB_BENCH_SERVER_LOG"]) if os.environ.get("HDAB_BENCH_SERVER_LOG") else None
    with server(env, settings.port, log) as base:
        search_requests = [("/api/search", {**q, "page_size": "20"}) for q in QUERIES]
        load(base, search_requests, clients, 2)  # warm-up: caches, connections
        health, health_rps = load(base, [("/healthz", {})], clients, seconds)
        found, search_rps = load(base, search_requests, clients, seconds)
    print(f"search[{name}]: /healthz {health_rps:.0f} req/s, {_percentiles(health)}")
    print(
        f"search[{name}]: /api/search {search_rps:.0f} req/s, {_percentiles(found)}; "
        f"throughput ratio {search_rps / health_rps:.2f} (target >= 0.33, p95 < 50 ms); "
        f"{clients} clients, {seconds:.0f} s each"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--backend", choices=["embedded", "opensearch", "both"], default="both")
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        port = _free_port()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("HDAB_")}
        env = {
            **base_env,
            "HDAB_ENV": "test",
            "HDAB_DATA_DIR": tmp,
            "HDAB_DATABASE_URL": url,
            "HDAB_LOG_LEVEL": "WARNING",
        }
        settings = Settings(env="test", data_dir=Path(tmp), database_url=url, port=port)
        if args.backend in ("embedded", "both"):
            rebuild_scaling("embedded/sqlite", settings, args.datasets)
            # Warm: the mix repeats, so answers come from the per-generation cache (as OpenSearch's
            # request cache would serve them). Cold: no cache, every query searched afresh.
            run("embedded/sqlite warm", settings, env, args.clients, args.seconds)
            run(
                "embedded/sqlite cold",
                settings,
                {**env, "HDAB_SEARCH_CACHE_SIZE": "0"},
                args.clients,
                args.seconds,
            )
        if args.backend in ("opensearch", "both"):
            from osmem_server import OsmemServer

            with OsmemServer.start() as opensearch:
                with_search = settings.model_copy(update={"search_url": opensearch.url})
                index("opensearch (osmem-server)", with_search, args.datasets)
                run(
                    "opensearch (osmem-server)",
                    with_search,
                    {**env, "HDAB_SEARCH_URL": opensearch.url},
                    args.clients,
                    args.seconds,
                )


if __name__ == "__main__":
    main()
