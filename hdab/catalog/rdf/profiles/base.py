"""Helpers shared by the profiles: reading and writing literals, IRIs, dates and typed values."""

from __future__ import annotations

from datetime import date
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD
from rdflib.term import Node

from hdab.catalog.domain import LANGUAGES, LangString, PeriodOfTime, Text

Subject = URIRef | BNode


def sub_iri(base: str, part: str) -> URIRef:
    """A stable IRI for a part of a record (``{base}#{part}``), also when ``base`` has a fragment."""
    return URIRef(f"{base}-{part}" if "#" in base else f"{base}#{part}")


def add_text(g: Graph, s: Subject, p: URIRef, text: Text | None) -> None:
    if text is None:
        return
    for lang, value in text.items():
        g.add((s, p, Literal(value, lang=lang)))


def read_text(g: Graph, s: Node, p: URIRef) -> Text | None:
    """Literals of ``p`` grouped by language; an untagged literal counts as English if none is tagged so."""
    by_lang: dict[str, str] = {}
    untagged: str | None = None
    for obj in sorted(g.objects(s, p), key=str):  # sorted: the same choice each time values repeat
        if not isinstance(obj, Literal):
            continue
        lang = (obj.language or "").lower()
        if not lang:
            untagged = untagged or str(obj)
        elif lang in LANGUAGES or lang in ("no", "nob", "nno", "eng"):
            key = {"no": "nb", "nob": "nb", "nno": "nn", "eng": "en"}.get(lang, lang)
            by_lang.setdefault(key, str(obj))
    if "en" not in by_lang and untagged is not None:
        by_lang["en"] = untagged
    if "en" not in by_lang:
        if not by_lang:
            return None
        raise ValueError(f"{p.n3()} of {s.n3()} has no English value (English is always required)")
    return Text(en=by_lang["en"], nb=by_lang.get("nb"), nn=by_lang.get("nn"))


def add_lang_strings(g: Graph, s: Subject, p: URIRef, values: tuple[LangString, ...]) -> None:
    for item in values:
        g.add((s, p, Literal(item.value, lang=item.lang)))


def read_lang_strings(g: Graph, s: Node, p: URIRef) -> tuple[LangString, ...]:
    values = {
        LangString(str(o), (o.language or "en").lower()) for o in g.objects(s, p) if isinstance(o, Literal)
    }
    return tuple(sorted(values, key=lambda k: (k.lang, k.value)))


def add_iris(g: Graph, s: Subject, p: URIRef, iris: tuple[str, ...], rdf_type: URIRef | None = None) -> None:
    for iri in iris:
        add_iri(g, s, p, iri, rdf_type)


def add_iri(g: Graph, s: Subject, p: URIRef, iri: str | None, rdf_type: URIRef | None = None) -> None:
    """Link to ``iri``; type it as the property's range expects (the validators do no inference)."""
    if iri is None:
        return
    node = URIRef(iri)
    g.add((s, p, node))
    if rdf_type is not None:
        g.add((node, RDF.type, rdf_type))


def read_iris(g: Graph, s: Node, p: URIRef) -> tuple[str, ...]:
    return tuple(sorted({str(o) for o in g.objects(s, p) if isinstance(o, URIRef)}))


def read_iri(g: Graph, s: Node, p: URIRef) -> str | None:
    values = read_iris(g, s, p)
    return values[0] if values else None


def read_literal(g: Graph, s: Node, p: URIRef) -> Any:
    values = sorted(o for o in g.objects(s, p) if isinstance(o, Literal))
    return values[0].toPython() if values else None


def read_str(g: Graph, s: Node, p: URIRef) -> str | None:
    value = read_literal(g, s, p)
    return None if value is None else str(value)


def read_int(g: Graph, s: Node, p: URIRef) -> int | None:
    value = read_literal(g, s, p)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{p.n3()} of {s.n3()} must be a whole number, got {value!r}") from None


def add_int(g: Graph, s: Subject, p: URIRef, value: int | None) -> None:
    if value is not None:
        g.add((s, p, Literal(value, datatype=XSD.nonNegativeInteger)))


def add_date(g: Graph, s: Subject, p: URIRef, value: date | None) -> None:
    if value is not None:
        g.add((s, p, Literal(value.isoformat(), datatype=XSD.date)))


def read_date(g: Graph, s: Node, p: URIRef) -> date | None:
    value = read_literal(g, s, p)
    if value is None:
        return None
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"{p.n3()} of {s.n3()} is not a date: {value!r}") from None


def add_period(g: Graph, node: Subject, period: PeriodOfTime, start: URIRef, end: URIRef) -> None:
    g.add((node, RDF.type, DCTERMS.PeriodOfTime))
    add_date(g, node, start, period.start)
    add_date(g, node, end, period.end)


def read_period(g: Graph, node: Node, start: URIRef, end: URIRef) -> PeriodOfTime:
    return PeriodOfTime(read_date(g, node, start), read_date(g, node, end))


def objects(g: Graph, s: Node, p: URIRef) -> list[Node]:
    """Objects in a stable order (IRIs by value, blank nodes after)."""
    return sorted(g.objects(s, p), key=lambda o: (isinstance(o, BNode), str(o)))
