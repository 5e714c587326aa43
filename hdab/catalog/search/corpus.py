"""The embedded backend's in-memory view of the index: facet bitmaps, vocabulary, documents.

Rebuilt only when the index changes (its generation). Documents are numbered; each facet value
holds a compressed bitmap of the documents that have it, so counting a facet over thousands of
matches is a bitmap intersection count, not a pass over documents in Python.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyroaring import BitMap

from hdab.catalog.search.analysis import Vocabulary, analyze
from hdab.catalog.search.backend import FacetValue, facet_label
from hdab.catalog.search.documents import FACETS, FIELDS, SearchDocument


class Corpus:
    def __init__(self, documents: Iterable[SearchDocument], terms: Iterable[str] | None = None) -> None:
        self.documents = {d.identifier: d for d in documents}
        self.identifiers = sorted(self.documents)
        self.number = {identifier: n for n, identifier in enumerate(self.identifiers)}
        self.everything = BitMap(range(len(self.identifiers)))
        # SQLite only: FTS5 rowid -> document number (the backend fills it with the corpus)
        self.by_rowid: dict[int, int] = {}
        self.by_value: dict[str, dict[str, BitMap]] = {f: {} for f in FACETS}
        for doc in self.documents.values():
            n = self.number[doc.identifier]
            for facet in FACETS:
                for value in doc.facets.get(facet, ()):
                    self.by_value[facet].setdefault(value, BitMap()).add(n)
        for values in self.by_value.values():
            for bitmap in values.values():
                bitmap.run_optimize()
        self._labels = {
            (facet, value): self.documents[self.identifiers[bitmap.min()]].facet_labels
            for facet, values in self.by_value.items()
            for value, bitmap in values.items()
        }
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

    def selected(self, facet: str, values: tuple[str, ...]) -> BitMap:
        result = BitMap()
        for value in values:
            result |= self.by_value.get(facet, {}).get(value, BitMap())
        return result

    def apply_filters(self, matched: BitMap, filters: dict[str, tuple[str, ...]]) -> BitMap:
        result = BitMap(matched)
        for facet, values in filters.items():
            result &= self.selected(facet, values)
        return result

    def facets(
        self, matched: BitMap, filters: dict[str, tuple[str, ...]], lang: str
    ) -> dict[str, list[FacetValue]]:
        """Counts over the query's matches and every *other* selected facet (disjunctive faceting)."""
        selections = {facet: self.selected(facet, values) for facet, values in filters.items()}
        result: dict[str, list[FacetValue]] = {}
        for facet in FACETS:
            candidates = matched
            for other, bitmap in selections.items():
                if other != facet:
                    candidates = candidates & bitmap
            values = []
            for value, bitmap in self.by_value[facet].items():
                count = bitmap.intersection_cardinality(candidates)
                if count:
                    labels = self._labels[(facet, value)]
                    values.append(FacetValue(value, facet_label(labels, facet, value, lang), count))
            result[facet] = sorted(values, key=lambda v: (-v.count, v.value))
        return result
