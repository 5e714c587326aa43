"""Keeping the search index in step with the catalogue: per change, and a reconciliation that finds
whatever a failed or lost update left behind."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hdab.catalog import repository
from hdab.catalog.codec import record_from_json
from hdab.catalog.models import DatasetStatus, SearchIndexState
from hdab.catalog.search import backend
from hdab.catalog.search.documents import document_for
from hdab.core import clock
from hdab.core.db import Database


def index_datasets(database: Database, identifiers: list[str]) -> int:
    """``index_dataset`` for many at once: one read, one index write, one record of what was indexed."""
    search = backend()
    today = clock.now_oslo().date()
    with database.session() as session:
        rows = {
            row.identifier: row
            for start in range(0, len(identifiers), 500)
            for row in session.scalars(repository.by_identifiers(identifiers[start : start + 500]))
        }
        documents = []
        versions: dict[str, int] = {}
        gone = []
        for identifier in identifiers:
            row = rows.get(identifier)
            if row is not None and row.status is DatasetStatus.PUBLISHED:
                documents.append(document_for(record_from_json(row.record), today))
                versions[identifier] = row.version
            else:
                gone.append(identifier)
    if documents:
        search.index(documents)
    for identifier in gone:
        search.remove(identifier)
    with database.session() as session:
        states = {
            s.identifier: s
            for s in session.scalars(
                select(SearchIndexState).where(
                    SearchIndexState.backend == search.name, SearchIndexState.identifier.in_(identifiers)
                )
            )
        }
        for identifier in gone:
            if identifier in states:
                session.delete(states[identifier])
        for identifier, version in versions.items():
            state = states.get(identifier)
            if state is None:
                state = SearchIndexState(backend=search.name, identifier=identifier)
                session.add(state)
            state.version, state.indexed_at = version, clock.now()
    return len(documents)


def index_dataset(database: Database, identifier: str) -> str:
    """Bring one dataset's index entry up to date; returns what was done.

    The backend writes in its own transaction (the embedded one to this same database), so no
    transaction of ours stays open around it: read, index, then record the indexed version.
    """
    search = backend()
    with database.session() as session:
        row = session.scalars(repository.by_identifier(identifier)).one_or_none()
        live = row is not None and row.status is DatasetStatus.PUBLISHED
        document = (
            document_for(record_from_json(row.record), clock.now_oslo().date()) if live and row else None
        )
        version = row.version if row is not None else 0
    if document is None:
        search.remove(identifier)
    else:
        search.index([document])
    with database.session() as session:
        state = session.get(SearchIndexState, (search.name, identifier))
        if document is None:
            if state is not None:
                session.delete(state)
            return "removed"
        if state is None:
            state = SearchIndexState(backend=search.name, identifier=identifier)
            session.add(state)
        state.version, state.indexed_at = version, clock.now()
    return "indexed"


def stale(session: Session) -> list[str]:
    """Datasets whose index entry is missing, old, or should be gone."""
    name = backend().name
    indexed = {
        s.identifier: s.version
        for s in session.scalars(select(SearchIndexState).where(SearchIndexState.backend == name))
    }
    published = {r.identifier: r.version for r in session.scalars(repository.published())}
    behind = [i for i, version in published.items() if indexed.get(i) != version]
    gone = [i for i in indexed if i not in published]
    return sorted(behind + gone)


def rebuild(database: Database) -> int:
    """Index every published dataset afresh: read, index, record, each in its own transaction."""
    search = backend()
    today = clock.now_oslo().date()
    with database.session() as session:
        rows = [(r.identifier, r.version, r.record) for r in session.scalars(repository.published())]
    search.rebuild([document_for(record_from_json(record), today) for _, _, record in rows])
    with database.session() as session:
        session.execute(delete(SearchIndexState).where(SearchIndexState.backend == search.name))
        for identifier, version, _ in rows:
            session.add(
                SearchIndexState(
                    backend=search.name, identifier=identifier, version=version, indexed_at=clock.now()
                )
            )
    return len(rows)
