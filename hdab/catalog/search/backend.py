"""The search interface every backend implements, and the parts they share (facets, highlights)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from hdab.catalog.labels import label as vocabulary_label
from hdab.catalog.search.analysis import QueryTerm, analyze, stems, words
from hdab.catalog.search.documents import SearchDocument

SORTS = ("relevance", "title", "identifier")


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    page: int = 1
    page_size: int = 20
    sort: str = "relevance"
    lang: str = "nb"


@dataclass(frozen=True)
class Hit:
    identifier: str
    title: str
    description: str
    highlight: dict[str, str]
    matched_variables: list[str]
    score: float


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    total: int
    items: list[Hit]
    facets: dict[str, list[FacetValue]]
    took_ms: float = 0.0


class SearchBackend(Protocol):
    name: str

    def index(self, documents: Sequence[SearchDocument]) -> None: ...

    def remove(self, identifier: str) -> None: ...

    def rebuild(self, documents: Sequence[SearchDocument]) -> None: ...

    def search(self, query: SearchQuery) -> SearchResult: ...


def facet_label(
    document_labels: dict[str, dict[str, dict[str, str]]], facet: str, value: str, lang: str
) -> str:
    if facet == "publisher":
        names = document_labels.get("publisher", {}).get(value)
        if names:
            return names.get(lang) or names.get("en") or value
    if facet in ("keyword", "has_variable", "temporal"):
        return value
    return vocabulary_label(value, lang)


_TOKEN = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[tuple[int, int, frozenset[str]], ...]:
    """Each word of a shown text with its span and index forms (texts change only with the index)."""
    result = []
    for match in _TOKEN.finditer(text):
        forms: frozenset[str] = frozenset().union(*(stems(w) for w in words(match.group(0))))
        if forms:
            result.append((match.start(), match.end(), forms))
    return tuple(result)


def highlight(text: str, terms: list[QueryTerm]) -> str | None:
    """``text`` HTML-escaped with the words that match the query in <mark>; None when none match."""
    forms = frozenset().union(*(t.forms for t in terms)) if terms else frozenset()
    if not forms:
        return None
    out: list[str] = []
    last = 0
    for start, end, word_forms in _tokens(text):
        if word_forms & forms:
            out.append(html.escape(text[last:start]))
            out.append(f"<mark>{html.escape(text[start:end])}</mark>")
            last = end
    if last == 0 and not out:
        return None
    out.append(html.escape(text[last:]))
    return "".join(out)


def matched_variables(doc: SearchDocument, terms: list[QueryTerm]) -> list[str]:
    # Every hit shows this, for each of its variables: a disjointness test, not a set built per pair.
    forms = [t.forms for t in terms]
    anything = frozenset().union(*forms)
    matched = []
    for variable in doc.variables:
        found = variable_terms(variable.text)
        if not anything.isdisjoint(found) and any(not f.isdisjoint(found) for f in forms):
            matched.append(variable.name)
    return matched


@lru_cache(maxsize=65536)
def variable_terms(text: str) -> frozenset[str]:
    return frozenset(analyze(text))


def hit_for(doc: SearchDocument, terms: list[QueryTerm], lang: str, score: float) -> Hit:
    title = doc.title.get(lang) or doc.title["en"]
    description = doc.description.get(lang) or doc.description["en"]
    marks: dict[str, str] = {}
    for name, text in (("title", title), ("description", description)):
        marked = highlight(text, terms)
        if marked:
            marks[name] = marked
    return Hit(
        doc.identifier, title, description, marks, matched_variables(doc, terms) if terms else [], score
    )
