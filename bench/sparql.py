"""SPARQL over the catalogue: the endpoint's Oxigraph store against rdflib's in-memory evaluation.

Builds the published catalogue graph of N generated datasets (default 500: the eight seed records,
varied, with what publishing adds), then in one run measures the median time of each query:

- oxigraph: the query in a pyoxigraph store (what the /sparql worker runs), results taken in full;
- endpoint: the same through ``hdab.catalog.sparql.endpoint`` (worker process, pipe, JSON written);
- baseline: rdflib's ``Graph.query`` on the same graph, results taken in full.

It prints medians and the ratios baseline / oxigraph and baseline / endpoint (how much faster the
store the endpoint uses is than rdflib's evaluation).

    python -m bench.sparql [--datasets N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from rdflib import Graph

from bench.catalog import generate
from hdab.catalog.rdf.profiles import new_graph, write_dataset

PREFIXES = (
    "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/> "
    "PREFIX csvw: <http://www.w3.org/ns/csvw#> PREFIX healthdcatap: <http://healthdataportal.eu/ns/health#> "
)
QUERIES = {
    "datasets by theme": "SELECT ?theme (COUNT(?d) AS ?n) WHERE { ?d a dcat:Dataset ; dcat:theme ?theme }"
    " GROUP BY ?theme",
    "variables with a code list": "SELECT ?d ?name WHERE {"
    " ?d healthdcatap:hasVariables/csvw:table/csvw:column ?c ."
    " ?c csvw:name ?name ; healthdcatap:hasCodingSystem ?s }",
    "title search": "SELECT ?d WHERE { ?d a dcat:Dataset ; dct:title ?t"
    ' FILTER(CONTAINS(LCASE(STR(?t)), "psyk")) }',
}


def _median(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()

    import pyoxigraph

    from hdab.catalog import sparql

    graph: Graph = new_graph()
    for record in generate(args.datasets, "https://hdab.example.no"):
        write_dataset(record, graph)
    ntriples = graph.serialize(format="nt")
    store = pyoxigraph.Store()
    store.bulk_load(ntriples.encode(), format=pyoxigraph.RdfFormat.N_TRIPLES)
    print(f"sparql: {args.datasets} datasets, {len(graph):,} triples")
    sparql.endpoint.query("ASK {}", sparql.SELECT_TYPES[0], "bench", lambda: ntriples)  # start, load
    try:
        for name, body in QUERIES.items():
            query = PREFIXES + body
            expected = len(list(graph.query(query)))
            assert len(list(store.query(query))) == expected
            baseline = _median(lambda q=query: list(graph.query(q)), args.rounds)
            oxigraph = _median(lambda q=query: list(store.query(q)), args.rounds)
            endpoint = _median(
                lambda q=query: sparql.endpoint.query(q, sparql.SELECT_TYPES[0], "bench", lambda: ntriples),
                args.rounds,
            )
            print(
                f"sparql: {name} ({expected} rows): rdflib {baseline * 1000:.1f} ms, oxigraph"
                f" {oxigraph * 1000:.1f} ms, endpoint {endpoint * 1000:.1f} ms; ratio rdflib/oxigraph"
                f" {baseline / oxigraph:.1f}, rdflib/endpoint {baseline / endpoint:.1f}"
                f" (median of {args.rounds})"
            )
    finally:
        sparql.endpoint.close()


if __name__ == "__main__":
    main()
