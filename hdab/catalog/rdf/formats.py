"""RDF formats: names, media types, content negotiation and serialisation."""

from __future__ import annotations

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
    """Media ranges of an Accept header, best first (ties keep the client's order)."""
    if not header:
        return []
    ranges: list[tuple[str, float, int]] = []
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality, index))
    ranges.sort(key=lambda r: (-r[1], r[2]))
    return [(m, q) for m, q, _ in ranges if q > 0]


def negotiate(accept: str | None, offer_html: bool, default: str) -> str:
    """The media type to answer with: one of the RDF types, or text/html when offered and preferred."""
    offers = [f.media_type for f in FORMATS] + ([HTML] if offer_html else [])
    for media, _quality in parse_accept(accept):
        if media in offers:
            return media
        if media in BY_MEDIA_TYPE and media != "text/plain":
            return BY_MEDIA_TYPE[media].media_type
        if media in ("*/*", "text/*", "application/*"):
            return default
    return default


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
