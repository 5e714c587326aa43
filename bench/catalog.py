"""Storing and serving the catalogue: one big RDF import, and the whole paged catalogue as Turtle.

Import (``--import-datasets``, default 2,000 and 10,000): the generated datasets as one Turtle
file, imported the way ``hdab catalog import`` does it (safe parse, the official SHACL shapes from
HDAB_REFERENCE_DIR or ../shared/reference, every record stored, one transaction). Baseline in the
same run: rdflib parsing the same file. Prints seconds, seconds per dataset and import / parse
(target: 2,000 in at most 20 s; the per-dataset time the same at both sizes).

Serve: builds a catalogue of N generated datasets (default 10,000: the eight seed records, varied),
then per round measures

- serve: GET /catalog?page=P&page_size=1000 for every page, through the real app (TestClient);
- baseline: rdflib serialising the same triples as Turtle, page by page (the graphs parsed from
  what was served, so the triples are the same).

It prints medians and the ratio serve / baseline (target: at most 2).

    python -m bench.catalog [--datasets N] [--rounds R] [--import-datasets N,M] [--skip-serve]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from rdflib import Graph

from hdab import tasks  # noqa: F401  (the outbox enqueues the search updates by name)
from hdab.catalog import service
from hdab.catalog.domain import DatasetRecord
from hdab.catalog.ownership import Writer
from hdab.catalog.rdf.formats import BY_KEY
from hdab.catalog.rdf.profiles import new_graph, write_dataset
from hdab.catalog.rdf.safe_parse import parse_rdf
from hdab.catalog.seed import seed_records
from hdab.catalog.validation import shapes_root
from hdab.core import audit, migrate, runtime
from hdab.core.settings import Settings

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference"

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


def turtle_of(records: list[DatasetRecord]) -> bytes:
    graph = new_graph()
    for record in records:
        write_dataset(record, graph)
    return graph.serialize(format="turtle").encode()


def import_once(count: int) -> tuple[float, float]:
    """Seconds to import ``count`` generated datasets as one Turtle file, and to parse it alone."""
    reference = Path(os.environ.get("HDAB_REFERENCE_DIR") or REFERENCE_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        settings = Settings(
            env="test",
            data_dir=Path(tmp),
            database_url=url,
            reference_dir=reference,
            import_max_bytes=1 << 30,
            import_max_triples=50_000_000,
        )
        runtime.configure(settings)
        if shapes_root(settings) is None:
            raise SystemExit(f"bench.catalog: no official shapes under {reference} (set HDAB_REFERENCE_DIR)")
        data = turtle_of(generate(count, settings.base_url))
        started = time.perf_counter()
        Graph().parse(data=data, format="turtle")
        parse = time.perf_counter() - started
        started = time.perf_counter()
        graph = parse_rdf(
            data, BY_KEY["ttl"], max_bytes=settings.import_max_bytes, max_triples=settings.import_max_triples
        )
        with runtime.database().session() as session:
            results = service.import_graph(session, settings, Writer.system(), graph, "benchmark")
        took = time.perf_counter() - started
        assert len(results) == count
        runtime.database().dispose()
    return took, parse


def bench_import(sizes: list[int]) -> None:
    # The shapes load once per process (seconds): load them before the clock starts.
    import_once(8)
    per_dataset = []
    for count in sizes:
        took, parse = import_once(count)
        per_dataset.append(took / count)
        print(
            f"catalog: imported {count} datasets (one Turtle file, SHACL included) in {took:.1f} s,"
            f" {took / count * 1000:.1f} ms per dataset; rdflib parse alone {parse:.1f} s,"
            f" ratio {took / parse:.1f} (target: 2,000 in <= 20 s)"
        )
    if len(sizes) > 1:
        print(
            f"catalog: import time per dataset at {sizes[-1]} / at {sizes[0]}:"
            f" {per_dataset[-1] / per_dataset[0]:.2f} (linear: about 1)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--import-datasets", default="2000,10000", help="sizes, comma-separated; 0: skip")
    parser.add_argument("--skip-serve", action="store_true")
    args, _ = parser.parse_known_args()
    sizes = [int(n) for n in args.import_datasets.split(",") if int(n) > 0]
    if sizes:
        bench_import(sizes)
    if args.skip_serve:
        return

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
