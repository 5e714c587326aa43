"""Searches from many threads at once, through the real app: never a 500.

Under concurrent load /api/search once answered 500 (``IndexError`` inside snowballstemmer: the
two stemmers were shared objects that keep state while stemming). Every request here carries words
no earlier request stemmed (the stem cache cannot hide a race), the answer cache is off, and the
threads are released together. The interpreter switches threads every few microseconds for the
test instead of every 5 ms, so a shared object used by two requests is caught in a single run.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from hdab.app import create_app
from hdab.catalog import search as search_package
from hdab.core import runtime
from hdab.core.settings import Settings
from tests.support import seeding

THREADS = 16
REQUESTS_PER_THREAD = 12
# Norwegian and English endings the snowball stemmers strip (each step keeps state in the stemmer).
ENDINGS = ("", "ene", "ende", "ingen", "heten", "erte", "ation", "ness", "ingly", "ities")
STEMS = ("innleggelse", "sykehus", "behandl", "diagnos", "ventetid", "helsetjenest", "rehabilit")


@pytest.fixture
def cold_search_client(search_settings: Settings) -> Iterator[TestClient]:
    """The seeded catalogue behind the real app, with the per-generation answer cache off."""
    cold = search_settings.model_copy(update={"search_cache_size": 0})
    runtime.configure(cold)
    search_package.reset()
    seeding.seed_catalogue(cold)
    with TestClient(create_app(cold), raise_server_exceptions=False) as client:
        yield client
    search_package.reset()


def _query(thread: int, n: int) -> str:
    # Unique per request: a made-up prefix keeps the words out of the stem cache.
    prefix = f"q{thread:02d}x{n:02d}"
    return " ".join(
        f"{prefix}{stem}{ENDINGS[(thread + n + i) % len(ENDINGS)]}" for i, stem in enumerate(STEMS)
    )


def test_concurrent_searches_never_answer_500(cold_search_client: TestClient) -> None:
    start = threading.Barrier(THREADS)

    def client(thread: int) -> list[int]:
        start.wait(timeout=30)
        statuses = []
        for n in range(REQUESTS_PER_THREAD):
            # A real word too, so matching, facets and highlighting run, not only the analysis.
            params = {"q": f"{_query(thread, n)}" if n % 2 else f"somatikk {_query(thread, n)[:40]}"}
            statuses.append(cold_search_client.get("/api/search", params=params).status_code)
            statuses.append(
                cold_search_client.get("/api/search", params={"q": "innleggelser sykehus"}).status_code
            )
        return statuses

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            statuses = Counter(s for result in pool.map(client, range(THREADS)) for s in result)
    finally:
        sys.setswitchinterval(interval)
    assert statuses == Counter({200: THREADS * REQUESTS_PER_THREAD * 2}), statuses
