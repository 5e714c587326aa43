"""The SPARQL worker process: holds the public catalogue graph in an Oxigraph store and answers queries.

It runs in a process of its own (``hdab.catalog.sparql`` starts it) so that a query that runs too
long is stopped by killing the process: Oxigraph cannot interrupt a query from outside. Imports
stay light (a process start imports this module anew). It reads requests from a pipe:

- ``("load", stamp, ntriples)``: replace the graph; answers ``("loaded", stamp, triples)``;
- ``("query", text, result_format, max_rows)``: answers ``("ok", media_type, body, truncated)`` or
  ``("error", message)`` for a query that does not parse or cannot run.

Results are written here, not by Oxigraph, so that at most ``max_rows`` solutions or triples are
ever taken from the query (the rest is never computed).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from multiprocessing.connection import Connection
from typing import Any

JSON = "application/sparql-results+json"
CSV = "text/csv"
TURTLE = "text/turtle"
NTRIPLES = "application/n-triples"


def serve(connection: Connection) -> None:
    """The worker's loop: until the pipe closes."""
    import pyoxigraph

    store = pyoxigraph.Store()
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        kind = request[0]
        if kind == "load":
            _, stamp, data = request
            store = pyoxigraph.Store()
            store.bulk_load(data, format=pyoxigraph.RdfFormat.N_TRIPLES)
            connection.send(("loaded", stamp, len(store)))
        elif kind == "query":
            _, text, result_format, max_rows = request
            try:
                connection.send(run(store, text, result_format, max_rows))
            except (SyntaxError, ValueError, OSError, TypeError) as exc:
                connection.send(("error", str(exc)[:500]))


def run(store: Any, text: str, result_format: str, max_rows: int) -> tuple[str, str, bytes, bool]:
    import pyoxigraph

    result = store.query(text)
    if isinstance(result, pyoxigraph.QueryBoolean):
        if result_format != JSON:
            raise ValueError("an ASK query answers in SPARQL JSON only (application/sparql-results+json)")
        return ("ok", JSON, json.dumps({"head": {}, "boolean": bool(result)}).encode(), False)
    if isinstance(result, pyoxigraph.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows, truncated = _take(result, max_rows)
        if result_format == CSV:
            return ("ok", CSV, _csv(variables, rows), truncated)
        if result_format == JSON:
            return ("ok", JSON, _json(variables, rows), truncated)
        raise ValueError("a SELECT query answers in SPARQL JSON or CSV")
    triples, truncated = _take(result, max_rows)
    if result_format not in (TURTLE, NTRIPLES):
        raise ValueError("a CONSTRUCT or DESCRIBE query answers in Turtle or N-Triples")
    rdf_format = pyoxigraph.RdfFormat.TURTLE if result_format == TURTLE else pyoxigraph.RdfFormat.N_TRIPLES
    body = pyoxigraph.serialize(triples, format=rdf_format) or b""
    return ("ok", result_format, body, truncated)


def _take(items: Iterable[Any], limit: int) -> tuple[list[Any], bool]:
    taken: list[Any] = []
    for item in items:
        if len(taken) == limit:
            return taken, True
        taken.append(item)
    return taken, False


def _term_json(term: Any) -> dict[str, str]:
    import pyoxigraph

    if isinstance(term, pyoxigraph.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, pyoxigraph.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, pyoxigraph.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            out["datatype"] = term.datatype.value
        return out
    return {"type": "literal", "value": str(term)}


def _json(variables: list[str], rows: list[Any]) -> bytes:
    bindings = []
    for row in rows:
        binding = {}
        for name in variables:
            term = row[name]
            if term is not None:
                binding[name] = _term_json(term)
        bindings.append(binding)
    return json.dumps(
        {"head": {"vars": variables}, "results": {"bindings": bindings}}, ensure_ascii=False
    ).encode("utf-8")


def _csv_value(term: Any) -> str:
    """SPARQL 1.1 CSV: IRIs and literals as their plain value, blank nodes as _:label."""
    import pyoxigraph

    if term is None:
        return ""
    if isinstance(term, pyoxigraph.BlankNode):
        return f"_:{term.value}"
    return str(getattr(term, "value", term))


def _csv(variables: list[str], rows: list[Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(variables)
    for row in rows:
        writer.writerow([_csv_value(row[name]) for name in variables])
    return out.getvalue().encode("utf-8")
