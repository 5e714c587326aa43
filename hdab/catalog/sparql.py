"""A read-only SPARQL 1.1 endpoint over the public catalogue graph (issue 18, item 7).

The graph (every published dataset as harvesters get it, with the catalogue, its records, the
access service and licence) is held by an Oxigraph store in a worker process
(``sparql_worker``). A query that has not answered within the time limit is stopped by killing
that process; the next query starts a new one, which loads the graph again. At most ``MAX_ROWS``
solutions (or triples) are returned; a truncated answer says so in ``X-SPARQL-MaxRows`` (as
Virtuoso does). Only queries: the worker never runs an update (Oxigraph's query parser takes
none), and a query that would call another endpoint (``SERVICE``) is refused before it runs,
because Oxigraph would fetch it over HTTP.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from hdab.catalog import sparql_worker

TIMEOUT_SECONDS = 10.0
MAX_ROWS = 10_000
MAX_QUERY_CHARS = 20_000
LOAD_TIMEOUT_SECONDS = 120.0

SELECT_TYPES = (sparql_worker.JSON, sparql_worker.CSV)
GRAPH_TYPES = (sparql_worker.TURTLE, sparql_worker.NTRIPLES)


class QueryRefused(ValueError):
    """The query is not one this endpoint runs (too long, SERVICE, does not parse): the client's to fix."""


class QueryTimeout(Exception):
    """The query ran past the time limit and was stopped."""


class Busy(Exception):
    """Other queries held the worker for the whole time limit."""


@dataclass(frozen=True)
class Answer:
    media_type: str
    body: bytes
    truncated: bool


_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_STRINGS = re.compile(r"'''.*?'''|\"\"\"(?:.|\n)*?\"\"\"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"", re.S)
_IRIS = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_COMMENTS = re.compile(r"#[^\n]*")
_SERVICE = re.compile(r"(?<![\w:?$])SERVICE(?![\w:])", re.I)


_FORM = re.compile(r"(?<![\w:?$])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:])", re.I)


def _plain(text: str) -> str:
    """The query's keywords and names: escapes applied, strings, IRIs and comments blanked."""
    # SPARQL applies \\u escapes before parsing (section 19.2), so they are applied here too
    plain = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)
    return _COMMENTS.sub(" ", _IRIS.sub(" <> ", _STRINGS.sub(' "" ', plain)))


def check_query(text: str) -> str:
    """The query's form (SELECT, ASK, CONSTRUCT or DESCRIBE); refuses what this endpoint never runs.

    Oxigraph's parser judges the rest (an update does not parse as a query).
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefused(f"the query is longer than {MAX_QUERY_CHARS} characters")
    plain = _plain(text)
    if _SERVICE.search(plain):
        raise QueryRefused("SERVICE (federated query) is not allowed: only the catalogue graph is queried")
    form = _FORM.search(plain)
    if form is None:
        raise QueryRefused(
            "not a SPARQL query: SELECT, ASK, CONSTRUCT or DESCRIBE (this endpoint takes no update)"
        )
    return form.group(1).upper()


def result_types(form: str) -> tuple[str, ...]:
    """The media types a query of ``form`` can answer in, the default first."""
    return {"SELECT": SELECT_TYPES, "ASK": (sparql_worker.JSON,)}.get(form, GRAPH_TYPES)


class SparqlEndpoint:
    """One worker process, one query at a time, the graph reloaded when the catalogue changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._stamp: str | None = None

    def _start(self) -> Connection:
        context = multiprocessing.get_context("spawn")  # no copy of the web process's threads and sockets
        parent, child = context.Pipe()
        process = context.Process(target=sparql_worker.serve, args=(child,), daemon=True, name="hdab-sparql")
        process.start()
        child.close()
        self._process, self._connection, self._stamp = process, parent, None
        return parent

    def _stop(self) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        self._stamp = None
        if connection is not None:
            connection.close()
        if process is not None and process.is_alive():
            process.kill()
            process.join(5)

    def worker_pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def query(self, text: str, result_format: str, stamp: str, graph_ntriples: Callable[[], str]) -> Answer:
        """Run ``text`` over the graph whose content ``stamp`` names (``graph_ntriples()`` makes it)."""
        check_query(text)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        if not self._lock.acquire(timeout=TIMEOUT_SECONDS):
            raise Busy
        try:
            connection = self._connection
            if connection is None or self._process is None or not self._process.is_alive():
                self._stop()
                connection = self._start()
            if self._stamp != stamp:
                connection.send(("load", stamp, graph_ntriples()))
                if not connection.poll(LOAD_TIMEOUT_SECONDS):
                    self._stop()
                    raise QueryTimeout("the catalogue graph could not be loaded in time")
                self._stamp = connection.recv()[1]
            connection.send(("query", text, result_format, MAX_ROWS))
            if not connection.poll(max(0.1, deadline - time.monotonic())):
                self._stop()  # the only way to stop a running Oxigraph query
                raise QueryTimeout(f"the query ran longer than {TIMEOUT_SECONDS:g} s and was stopped")
            reply = connection.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._stop()
            raise
        finally:
            self._lock.release()
        if reply[0] == "error":
            raise QueryRefused(reply[1])
        _, media_type, body, truncated = reply
        return Answer(media_type, body, truncated)

    def close(self) -> None:
        with self._lock:
            self._stop()


def stamp_of(parts: Sequence[object]) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


endpoint = SparqlEndpoint()
