"""The embedded backend's in-memory view of the index: facet sets, vocabulary, documents.

Rebuilt only when the index changes (its generation), so a query costs set operations in C, not a
pass over every document in Python.
"""

from __future__ import annotations

from collections.abc import Iterable

from hdab.catalog.search.analysis import Vocabulary, analyze
from hdab.catalog.search.backend import FacetValue, facet_label
from hdab.catalog.search.documents import FACETS, FIELDS, SearchDocument


class Corpus:
    def __init__(self, documents: Iterable[SearchDocument], terms: Iterable[str] | None = None) -> None:
        self.documents = {d.identifier: d for d in documents}
        self.all_ids = frozenset(self.documents)
        self.by_value: dict[str, dict[str, set[str]]] = {f: {} for f in FACETS}
        for doc in self.documents.values():
            for facet in FACETS:
                for value in doc.facets.get(facet, ()):
                    self.by_value[facet].setdefault(value, set()).add(doc.identifier)
        # The index already holds every document's analysed terms; analysing again is the slow way.
        self.vocabulary = Vocabulary(
            terms
            if terms is not None
            else (
                term
                for doc in self.documents.values()
                for name in FIELDS
                for term in analyze(doc.fields[name])
            )
        )

    def selected(self, facet: str, values: tuple[str, ...]) -> set[str]:
        ids: set[str] = set()
        for value in values:
            ids |= self.by_value.get(facet, {}).get(value, set())
        return ids

    def apply_filters(
        self, matched: frozenset[str] | set[str], filters: dict[str, tuple[str, ...]]
    ) -> set[str]:
        result = set(matched)
        for facet, values in filters.items():
            result &= self.selected(facet, values)
        return result

    def facets(
        self, matched: frozenset[str] | set[str], filters: dict[str, tuple[str, ...]], lang: str
    ) -> dict[str, list[FacetValue]]:
        """Counts over the query's matches and every *other* selected facet (disjunctive faceting)."""
        selections = {facet: self.selected(facet, values) for facet, values in filters.items()}
        result: dict[str, list[FacetValue]] = {}
        for facet in FACETS:
            candidates = set(matched)
            for other, ids in selections.items():
                if other != facet:
                    candidates &= ids
            everything = len(candidates) == len(self.all_ids)
            values = []
            for value, ids in self.by_value[facet].items():
                count = len(ids) if everything else len(ids & candidates)
                if count:
                    sample = self.documents[next(iter(ids))]
                    values.append(
                        FacetValue(value, facet_label(sample.facet_labels, facet, value, lang), count)
                    )
            result[facet] = sorted(values, key=lambda v: (-v.count, v.value))
        return result
