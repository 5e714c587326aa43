"""Parsing uploaded RDF safely: bounded size and triples, no DTDs or entities, no remote JSON-LD contexts."""

from __future__ import annotations

import json
import re
from typing import Any

from rdflib import Graph

from hdab.catalog.rdf.formats import JSONLD, RDFXML, RdfFormat
from hdab.core.errors import ProblemError

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class UploadTooLarge(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, 413, "too-large")


class UnparsableRdf(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, 422, "unparsable-rdf")


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
        if _remote_contexts(document):
            raise UnparsableRdf(
                "the JSON-LD refers to a remote @context, which is never loaded: inline the context"
            )
    graph = Graph()
    try:
        graph.parse(data=text, format=fmt.rdflib_name)
    except Exception as exc:
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise UnparsableRdf(f"the upload is not valid {fmt.media_type}: {message}") from None
    if len(graph) > max_triples:
        raise UploadTooLarge(f"the upload holds {len(graph)} triples; at most {max_triples} are accepted")
    return graph
