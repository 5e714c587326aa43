"""The embedded search backend: SQLite FTS5 on SQLite, PostgreSQL full-text search on PostgreSQL.

The database matches and ranks; our analysis (folding, stop words, Norwegian and English stems,
typo expansion) runs in Python on both the indexed text and the query, because SQLite has none of
it and PostgreSQL's Norwegian configuration is not OpenSearch's.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from pyroaring import BitMap
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from hdab.catalog.models import SearchDocumentRow, SearchGeneration
from hdab.catalog.search.analysis import QueryTerm, analyze, query_terms
from hdab.catalog.search.backend import Hit, SearchQuery, SearchResult, hit_for
from hdab.catalog.search.corpus import Corpus
from hdab.catalog.search.documents import BOOSTS, FIELDS, SearchDocument
from hdab.core.db import Database

# PostgreSQL: the weighted tsvector; the migration indexes exactly this expression (GIN).
PG_TSVECTOR = (
    "setweight(to_tsvector('simple', title_terms), 'A')"
    " || setweight(to_tsvector('simple', keywords_terms || ' ' || codes_terms), 'B')"
    " || setweight(to_tsvector('simple', variables_terms), 'C')"
    " || setweight(to_tsvector('simple', description_terms), 'D')"
)
PG_WEIGHTS = "'{0.2, 0.4, 0.8, 1.0}'"  # D, C, B, A


_BATCH = 500
_FTS_INSERT = (
    "INSERT INTO search_fts (rowid, identifier, title, keywords, codes, variables, description)"
    " VALUES (:rowid, :i, :title, :keywords, :codes, :variables, :description)"
)


def fts_rowid(identifier: str) -> int:
    """Where a document's row lives in ``search_fts``: a 63-bit hash of its identifier.

    FTS5 finds a row by rowid in O(log n) but cannot index the identifier column: deleting by
    identifier scanned the whole table, so every update cost O(n) and a rebuild O(n^2). Two
    identifiers with the same hash (odds about n^2 / 2^64) cannot both be stored: the second
    insert fails loudly, and the delete below checks the identifier too, so it never removes the
    other document's row.
    """
    digest = hashlib.blake2b(identifier.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _delete_fts(session: Session, identifier: str) -> None:
    deleted = session.execute(
        text("DELETE FROM search_fts WHERE rowid = :r AND identifier = :i"),
        {"r": fts_rowid(identifier), "i": identifier},
    )
    if not deleted.rowcount:  # type: ignore[attr-defined]
        # A row written before rowids were derived from identifiers (once per such document).
        session.execute(text("DELETE FROM search_fts WHERE identifier = :i"), {"i": identifier})


def _terms(doc: SearchDocument) -> dict[str, str]:
    return {name: " ".join(analyze(doc.fields[name])) for name in FIELDS}


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, database: Database, cache_size: int = 1024) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._corpus: Corpus | None = None
        self._generation: int | None = None
        # Answers for this index generation, like OpenSearch's request cache: any index change
        # starts a new generation and so empties it.
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[object, ...], SearchResult] = OrderedDict()

    # --- writing ------------------------------------------------------------------------------------

    def _bump(self, session: Session) -> None:
        updated = session.execute(
            update(SearchGeneration)
            .where(SearchGeneration.id == 1)
            .values(generation=SearchGeneration.generation + 1)
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            session.add(SearchGeneration(id=1, generation=1))

    def _write(self, session: Session, doc: SearchDocument, fresh: bool = False) -> None:
        """Store one document's terms; ``fresh``: the index was emptied in this transaction."""
        terms = _terms(doc)
        row = None if fresh else session.get(SearchDocumentRow, doc.identifier)
        existed = row is not None
        row = row or SearchDocumentRow(identifier=doc.identifier)
        row.document = doc.as_json()
        row.title_terms = terms["title"]
        row.keywords_terms = terms["keywords"]
        row.codes_terms = terms["codes"]
        row.variables_terms = terms["variables"]
        row.description_terms = terms["description"]
        session.add(row)
        if self.database.dialect == "sqlite":
            if existed:
                _delete_fts(session, doc.identifier)
            session.execute(
                text(_FTS_INSERT), {"rowid": fts_rowid(doc.identifier), "i": doc.identifier, **terms}
            )

    def index(self, documents: Sequence[SearchDocument]) -> None:
        with self.database.session() as session:
            for doc in documents:
                self._write(session, doc)
            self._bump(session)

    def remove(self, identifier: str) -> None:
        with self.database.session() as session:
            deleted = session.execute(
                delete(SearchDocumentRow).where(SearchDocumentRow.identifier == identifier)
            )
            if self.database.dialect == "sqlite" and deleted.rowcount:  # type: ignore[attr-defined]
                _delete_fts(session, identifier)
            self._bump(session)

    def rebuild(self, documents: Sequence[SearchDocument]) -> None:
        """Everything afresh in one transaction: emptied, then inserted in batches (no per-row lookups)."""
        with self.database.session() as session:
            session.execute(delete(SearchDocumentRow))
            if self.database.dialect == "sqlite":
                session.execute(text("DELETE FROM search_fts"))
            for start in range(0, len(documents), _BATCH):
                batch = [(d, _terms(d)) for d in documents[start : start + _BATCH]]
                session.execute(
                    insert(SearchDocumentRow),
                    [
                        {
                            "identifier": d.identifier,
                            "document": d.as_json(),
                            **{f"{name}_terms": value for name, value in terms.items()},
                        }
                        for d, terms in batch
                    ],
                )
                if self.database.dialect == "sqlite":
                    session.execute(
                        text(_FTS_INSERT),
                        [
                            {"rowid": fts_rowid(d.identifier), "i": d.identifier, **terms}
                            for d, terms in batch
                        ],
                    )
            self._bump(session)

    # --- reading ------------------------------------------------------------------------------------

    def corpus(self, session: Session) -> Corpus:
        generation = session.scalar(select(SearchGeneration.generation).where(SearchGeneration.id == 1)) or 0
        with self._lock:
            if self._corpus is None or generation != self._generation:
                self._cache.clear()
                rows = session.execute(
                    select(
                        SearchDocumentRow.document,
                        SearchDocumentRow.title_terms,
                        SearchDocumentRow.keywords_terms,
                        SearchDocumentRow.codes_terms,
                        SearchDocumentRow.variables_terms,
                        SearchDocumentRow.description_terms,
                    )
                ).all()
                terms = {term for row in rows for column in row[1:] for term in column.split()}
                self._corpus = Corpus((SearchDocument.from_json(row[0]) for row in rows), terms)
                if self.database.dialect == "sqlite":
                    # Matching returns FTS5 rowids: reading the identifier column of thousands of
                    # matches costs five times more than the match itself. Kept with the corpus
                    # it numbers, so a query never mixes two generations.
                    number = self._corpus.number
                    self._corpus.by_rowid = {
                        rowid: number[identifier]
                        for rowid, identifier in session.execute(
                            text("SELECT rowid, identifier FROM search_fts")
                        ).all()
                        if identifier in number
                    }
                self._generation = generation
            return self._corpus

    def _match(self, session: Session, corpus: Corpus, terms: list[QueryTerm]) -> dict[int, float]:
        """Document number -> score of every document holding each query term (in any of its forms).

        Thousands of rows can match a broad query; they are fetched through the driver's cursor in
        one go, not row by row through the ORM, and kept as numbers (no identifiers) until a page
        is chosen.
        """
        cursor = session.connection().connection.cursor()
        try:
            if self.database.dialect == "sqlite":
                expression = " AND ".join(
                    "(" + " OR ".join(f'"{f}"' for f in sorted(t.forms)) + ")" for t in terms
                )
                weights = ", ".join(str(BOOSTS[name]) for name in FIELDS)
                # Only our own numbers are formatted in; the query travels as a parameter.
                cursor.execute(
                    f"SELECT rowid, bm25(search_fts, 0, {weights}) FROM search_fts WHERE search_fts MATCH ?",  # noqa: S608
                    (expression,),
                )
                by_rowid = corpus.by_rowid
                return {by_rowid[r]: -rank for r, rank in cursor.fetchall() if r in by_rowid}
            query = " & ".join("(" + " | ".join(sorted(t.forms)) + ")" for t in terms)
            cursor.execute(
                f"SELECT identifier, ts_rank({PG_WEIGHTS}, {PG_TSVECTOR}, q)"  # noqa: S608
                f" FROM search_documents, to_tsquery('simple', %s) AS q WHERE {PG_TSVECTOR} @@ q",
                (query,),
            )
            number = corpus.number
            return {number[i]: float(rank) for i, rank in cursor.fetchall() if i in number}
        finally:
            cursor.close()

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        with self.database.session(write=False) as session:
            corpus = self.corpus(session)
            key = (
                self._generation,
                query.q.strip(),
                tuple(sorted(query.filters.items())),
                query.page,
                query.page_size,
                query.sort,
                query.lang,
            )
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
            if cached is not None:
                return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 2))
            terms = query_terms(query.q, corpus.vocabulary)
            scores = self._match(session, corpus, terms) if terms else {}
        matched = BitMap(scores) if terms else corpus.everything
        selected = corpus.apply_filters(matched, query.filters)
        numbers = _order(selected, scores, corpus, query, query.page * query.page_size)
        identifiers = corpus.identifiers
        items: list[Hit] = [
            hit_for(corpus.documents[identifiers[n]], terms, query.lang, scores.get(n, 0.0))
            for n in numbers[(query.page - 1) * query.page_size :]
        ]
        result = SearchResult(
            total=len(selected),
            items=items,
            facets=corpus.facets(matched, query.filters, query.lang),
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        if self._cache_size:
            with self._lock:
                if key[0] == self._generation:
                    self._cache[key] = result
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return result


def _order(
    selected: BitMap, scores: dict[int, float], corpus: Corpus, query: SearchQuery, first: int
) -> list[int]:
    """The first ``first`` document numbers in the query's order (only a page is ever shown).

    Documents are numbered in identifier order, so the number breaks ties as the identifier did.
    """
    if query.sort == "title":
        documents, identifiers, lang = corpus.documents, corpus.identifiers, query.lang
        return heapq.nsmallest(
            first, selected, key=lambda n: (documents[identifiers[n]].title.get(lang, "").lower(), n)
        )
    if query.sort == "identifier" or not query.q.strip():
        return list(itertools.islice(selected, first))  # bitmaps iterate in number order
    return heapq.nsmallest(first, selected, key=lambda n: (-scores.get(n, 0.0), n))
