"""RDF formats: names, media types, content negotiation and serialisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rdflib import BNode, Graph

from hdab.catalog.rdf.namespaces import PREFIXES


@dataclass(frozen=True)
class RdfFormat:
    key: str  # ?format= value
    media_type: str
    rdflib_name: str
    extension: str


TURTLE = RdfFormat("ttl", "text/turtle", "turtle", "ttl")
JSONLD = RdfFormat("jsonld", "application/ld+json", "json-ld", "jsonld")
RDFXML = RdfFormat("rdf", "application/rdf+xml", "xml", "rdf")
NTRIPLES = RdfFormat("nt", "application/n-triples", "nt", "nt")
FORMATS = (TURTLE, JSONLD, RDFXML, NTRIPLES)
BY_KEY = {f.key: f for f in FORMATS}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS} | {
    "application/x-turtle": TURTLE,
    "application/json": JSONLD,
    "text/n3": TURTLE,
    "text/plain": NTRIPLES,
    "application/xml": RDFXML,
    "text/xml": RDFXML,
}
HTML = "text/html"


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """Accept's media ranges and their quality, in the client's order (``q=0`` kept: it refuses)."""
    if not header:
        return []
    ranges: list[tuple[str, float]] = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality))
    return ranges


# Types a client may name for one of our formats (text/plain is left out: a browser's fallback).
ALIASES = {m: f.media_type for m, f in BY_MEDIA_TYPE.items() if m != "text/plain"}


def _specificity(media_range: str, offer: str) -> int | None:
    """How specifically ``media_range`` names ``offer`` (2 exact, 1 type/*, 0 */*), or None."""
    if ALIASES.get(media_range, media_range) == offer:
        return 2
    if media_range == "*/*":
        return 0
    if media_range.endswith("/*") and offer.startswith(media_range[:-1]):
        return 1
    return None


def negotiate(accept: str | None, offers: Sequence[str], default: str) -> str | None:
    """The offer the client prefers (RFC 9110 section 12.5.1), ``default`` without an Accept, None if none.

    Each offer takes the quality of the most specific range that names it, so ``text/turtle;q=0``
    refuses Turtle even beside ``*/*``; ties go to the type the client named exactly, then to the
    one it named first, then to ``default``, then to the server's order.
    """
    ranges = parse_accept(accept)
    if not ranges:
        return default
    best: tuple[float, int, int, int, int] | None = None
    chosen: str | None = None
    for order, offer in enumerate(offers):
        matches = [
            (spec, quality, index)
            for index, (media, quality) in enumerate(ranges)
            if (spec := _specificity(media, offer)) is not None
        ]
        if not matches:
            continue
        top = max(spec for spec, _, _ in matches)
        quality = min(q for spec, q, _ in matches if spec == top)
        index = min(i for spec, _, i in matches if spec == top)
        if quality <= 0:
            continue
        key = (quality, top, -index, int(offer == default), -order)
        if best is None or key > best:
            best, chosen = key, offer
    return chosen


RDF_MEDIA_TYPES = tuple(f.media_type for f in FORMATS)


def serialize(graph: Graph, fmt: RdfFormat) -> bytes:
    if fmt is JSONLD:
        context = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
        data = graph.serialize(format="json-ld", context=context, auto_compact=True)
    else:
        data = graph.serialize(format=fmt.rdflib_name)
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _prefix_line(prefix: str, namespace: str) -> str:
    return f"@prefix {prefix}: <{namespace}> ."


STANDARD_PREFIX_LINES = frozenset(_prefix_line(p, str(ns)) for p, ns in PREFIXES.items())


def turtle_header() -> str:
    return "\n".join(sorted(STANDARD_PREFIX_LINES)) + "\n\n"


def turtle_fragment(graph: Graph) -> str:
    """Turtle of ``graph`` without the standard prefix lines, ready to follow ``turtle_header()``.

    Turtle lets statements about one subject appear in several places and prefixes be declared
    anywhere, so fragments of blank-node-free graphs concatenate into one valid document. Any prefix
    the serialiser had to invent stays in the fragment, declared where it is used.
    """
    if any(isinstance(term, BNode) for triple in graph for term in triple):
        raise ValueError("graphs with blank nodes cannot be concatenated as Turtle fragments")
    text = graph.serialize(format="turtle")
    lines = [line for line in text.splitlines() if line.strip() not in STANDARD_PREFIX_LINES]
    return "\n".join(lines).strip() + "\n\n"
