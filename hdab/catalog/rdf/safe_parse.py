"""Parsing uploaded RDF safely: bounded size and triples, no DTDs or entities, no remote JSON-LD contexts.

The triple limit holds while parsing: the graph's store refuses the triple past the limit, so an
upload of millions of triples is refused after reading the first ``max_triples``, not after all of
them. Parsing is CPU work of seconds for a large upload: the web app runs it in a worker thread.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rdflib import Graph
from rdflib.plugins.stores.memory import Memory

from hdab.catalog.rdf.formats import JSONLD, RDFXML, RdfFormat
from hdab.core.errors import ProblemError

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# DCAT-AP in JSON-LD nests a few levels (catalogue, dataset, distribution, checksum); far deeper
# nesting is an attack on the recursive parsers, refused before any of them runs.
MAX_JSON_DEPTH = 64
_TOO_DEEP_JSON = (
    f"the JSON-LD nests arrays and objects more than {MAX_JSON_DEPTH} levels deep:"
    " flatten it (refer to nodes by @id)"
)


class UploadTooLarge(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, 413, "too-large")


class UnparsableRdf(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, 422, "unparsable-rdf")


class _TooManyTriples(Exception):
    pass


class _BoundedMemory(Memory):
    """rdflib's in-memory store, refusing the first triple past ``limit`` (None: no limit)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit: int | None = limit

    def add(self, triple: Any, context: Any, quoted: bool = False) -> None:
        super().add(triple, context, quoted)
        if self.limit is not None and len(self) > self.limit:
            raise _TooManyTriples()


def _json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (without recursion, so any depth is safe)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _remote_contexts(value: Any) -> bool:
    """True when a JSON-LD document refers to a context by URL (rdflib would fetch it)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context" and _context_is_remote(item):
                return True
            if _remote_contexts(item):
                return True
    elif isinstance(value, list):
        return any(_remote_contexts(item) for item in value)
    return False


def _context_is_remote(context: Any) -> bool:
    if isinstance(context, str):
        return True
    if isinstance(context, list):
        return any(_context_is_remote(c) for c in context)
    if isinstance(context, dict):
        return "@import" in context
    return False


def parse_rdf(data: bytes, fmt: RdfFormat, *, max_bytes: int, max_triples: int) -> Graph:
    if len(data) > max_bytes:
        raise UploadTooLarge(f"the upload is {len(data)} bytes; at most {max_bytes} are accepted")
    if fmt is RDFXML and _DTD.search(data):
        raise UnparsableRdf("RDF/XML with a DOCTYPE or ENTITY declaration is not accepted")
    text: str
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnparsableRdf("the upload is not UTF-8 text") from None
    if fmt is JSONLD:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnparsableRdf(f"the JSON-LD is not valid JSON: {exc}") from None
        except RecursionError:
            raise UnparsableRdf(_TOO_DEEP_JSON) from None
        if _json_depth_exceeds(document, MAX_JSON_DEPTH):
            raise UnparsableRdf(_TOO_DEEP_JSON)
        if _remote_contexts(document):
            raise UnparsableRdf(
                "the JSON-LD refers to a remote @context, which is never loaded: inline the context"
            )
    store = _BoundedMemory(max_triples)
    graph = Graph(store=store)
    try:
        graph.parse(data=text, format=fmt.rdflib_name)
    except Exception as exc:
        if store.limit is not None and len(store) > store.limit:  # also when a parser wrapped our refusal
            raise UploadTooLarge(
                f"the upload holds more than {max_triples} triples; at most {max_triples} are accepted"
            ) from None
        if isinstance(exc, RecursionError):
            raise UnparsableRdf(
                "the upload nests blank nodes or lists too deeply to be read: give the nodes IRIs"
            ) from None
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise UnparsableRdf(f"the upload is not valid {fmt.media_type}: {message}") from None
    store.limit = None  # parsed: what the importer adds to the graph later is not upload
    return graph
