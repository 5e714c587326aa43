"""Serving the whole paged catalogue as Turtle, against rdflib alone serialising the same triples.

Builds a catalogue of N generated datasets (default 10,000: the eight seed records, varied), then
in one run measures, per round:

- serve: GET /catalog?page=P&page_size=1000 for every page, through the real app (TestClient);
- baseline: rdflib serialising the same triples as Turtle, page by page (the graphs parsed from
  what was served, so the triples are the same).

It prints medians and the ratio serve / baseline (target: at most 2).

    python -m bench.catalog [--datasets N] [--rounds R]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import tempfile
import time
from pathlib import Path

from rdflib import Graph

from hdab.catalog import service
from hdab.catalog.domain import DatasetRecord
from hdab.catalog.seed import seed_records
from hdab.core import audit, migrate, runtime
from hdab.core.settings import Settings

PAGE_SIZE = 1000


def generate(count: int, base_url: str) -> list[DatasetRecord]:
    templates = seed_records(base_url)
    records = []
    for index in range(count):
        template = templates[index % len(templates)]
        identifier = f"{template.identifier}-{index:05d}"
        iri = f"{base_url}/datasets/{identifier}"
        records.append(
            dataclasses.replace(
                template,
                identifier=identifier,
                iri=iri,
                distributions=tuple(
                    dataclasses.replace(d, iri=d.iri.replace(f"/{template.identifier}/", f"/{identifier}/"))
                    for d in template.distributions
                ),
                title=dataclasses.replace(template.title, en=f"{template.title.en} ({index})"),
            )
        )
    return records


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()

    from fastapi.testclient import TestClient

    from hdab.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        settings = Settings(env="test", data_dir=Path(tmp), database_url=url)
        runtime.configure(settings)
        started = time.perf_counter()
        with runtime.database().session() as session:
            for record in generate(args.datasets, settings.base_url):
                service.upsert(session, audit.SYSTEM_ACTOR, record, "benchmark")
        print(f"catalog: stored {args.datasets} datasets in {time.perf_counter() - started:.1f} s")
        pages = -(-args.datasets // PAGE_SIZE)
        app = create_app(settings)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        with TestClient(app) as client:
            serve_times, baseline_times = [], []
            triples = 0
            for _ in range(args.rounds):
                bodies = []
                started = time.perf_counter()
                for page in range(1, pages + 1):
                    response = client.get(f"/catalog?page={page}&page_size={PAGE_SIZE}")
                    assert response.status_code == 200
                    bodies.append(response.content)
                serve_times.append(time.perf_counter() - started)
                graphs = [Graph().parse(data=body, format="turtle") for body in bodies]
                triples = sum(len(g) for g in graphs)
                started = time.perf_counter()
                for graph in graphs:
                    graph.serialize(format="turtle")
                baseline_times.append(time.perf_counter() - started)
        serve, baseline = statistics.median(serve_times), statistics.median(baseline_times)
        print(
            f"catalog: {args.datasets} datasets, {pages} pages of {PAGE_SIZE}, {triples:,} triples; "
            f"serve {serve:.2f} s, rdflib serialise {baseline:.2f} s, "
            f"ratio {serve / baseline:.2f} (median of {args.rounds} rounds; target <= 2)"
        )
        runtime.database().dispose()


if __name__ == "__main__":
    main()
