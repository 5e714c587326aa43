"""Catalogue use cases: create, update, withdraw, import and seed datasets, each change a new version.

Services take a session and an actor, write audit entries in the same transaction, and never commit.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
from rdflib import Graph
from sqlalchemy import select
from sqlalchemy.orm import Session

from hdab.catalog import repository
from hdab.catalog.codec import content_hash, record_from_json, record_to_json
from hdab.catalog.domain import DatasetRecord, InvalidRecord, canonical, check_record
from hdab.catalog.models import CatalogDataset, CatalogDatasetVersion, ChangeKind, DatasetStatus, UrlCheck
from hdab.catalog.ownership import Writer, require
from hdab.catalog.publish import published_record
from hdab.catalog.quality import QualityReport, probe, report_json, score, urls_of
from hdab.catalog.rdf.formats import turtle_fragment
from hdab.catalog.rdf.profiles import RecordError, new_graph, read_datasets, write_dataset
from hdab.catalog.rdf.shacl import shapes_bundle
from hdab.catalog.seed import seed_records
from hdab.catalog.validation import gate, shapes_root
from hdab.core import audit, clock, outbox
from hdab.core.db import Database
from hdab.core.errors import Conflict, FieldError, InvalidInput, NotFound
from hdab.core.settings import Settings

INDEX_BATCH = 500


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class UpsertResult:
    identifier: str
    outcome: Outcome
    version: int


def dataset_iri(settings: Settings, identifier: str) -> str:
    return f"{settings.base_url}/datasets/{identifier}"


def checked(record: DatasetRecord) -> DatasetRecord:
    try:
        check_record(record)
    except InvalidRecord as exc:
        raise InvalidInput(f"the record is not valid: {exc}", [FieldError(exc.field, exc.message)]) from None
    return canonical(record)


def current_record(row: CatalogDataset) -> DatasetRecord:
    return record_from_json(row.record)


def _published_form(record: DatasetRecord, row_issued: date | None, version: int) -> DatasetRecord:
    """The record as published: issued, modified and version follow the version history."""
    today = clock.now_oslo().date()
    return dataclasses.replace(
        record,
        issued=row_issued or today,
        modified=today,
        version=str(version),
    )


def _serialised(record: DatasetRecord) -> tuple[str, str]:
    """The record as N-Triples and as a Turtle fragment, made once per version."""
    graph = write_dataset(record)
    return graph.serialize(format="nt"), turtle_fragment(graph)


def _store(
    session: Session,
    actor: str,
    record: DatasetRecord,
    note: str,
    change: ChangeKind,
    row: CatalogDataset | None,
    index: bool = True,
) -> CatalogDataset:
    now = clock.now()
    before = current_record(row) if row is not None else None
    version = 1 if row is None else row.version + 1
    published = _published_form(record, row.issued if row else None, version)
    data = record_to_json(published)
    digest = content_hash(published)
    if row is None:
        row = CatalogDataset(
            identifier=record.identifier,
            iri=record.iri,
            issued=published.issued,
            status=DatasetStatus.PUBLISHED,
        )
        session.add(row)
    row.status = DatasetStatus.WITHDRAWN if change is ChangeKind.WITHDRAWN else DatasetStatus.PUBLISHED
    row.version = version
    row.record = data
    row.content_hash = digest
    row.ntriples, row.turtle = _serialised(published)
    row.updated_at = now
    session.flush()
    session.add(
        CatalogDatasetVersion(
            dataset_id=row.id,
            version=version,
            change=change,
            record=data,
            content_hash=digest,
            author=actor,
            note=note,
            created_at=now,
        )
    )
    # The search index follows through the outbox: sent only if this change commits.
    if index:
        outbox.enqueue(session, "catalog.index_dataset", {"identifier": record.identifier})
    audit.record(
        session,
        actor=actor,
        action=f"catalog.dataset.{change.value}",
        object_type="dataset",
        object_id=record.identifier,
        details={
            "version": version,
            "note": note[:500],
            **({"disclosure": changed} if (changed := disclosure_changes(before, record)) else {}),
        },
    )
    return row


def disclosure_changes(before: DatasetRecord | None, after: DatasetRecord) -> dict[str, list[str | None]]:
    """Per variable whose disclosure role or default generalisation changed: [before, after]."""

    def roles(record: DatasetRecord | None) -> dict[str, str | None]:
        if record is None:
            return {}
        return {
            c.name: "/".join(
                (c.disclosure.value if c.disclosure else "unclassified",
                 c.anonymised_as.value if c.anonymised_as else "exact")
            )
            for c in record.columns
        }  # fmt: skip

    old, new = roles(before), roles(after)
    return {
        name: [old.get(name), new.get(name)]
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name) and before is not None
    }


def _find(session: Session, identifier: str) -> CatalogDataset:
    row = session.scalars(repository.by_identifier(identifier)).one_or_none()
    if row is None:
        raise NotFound(f"no dataset with identifier {identifier!r}")
    return row


def create(
    session: Session, settings: Settings, writer: Writer, record: DatasetRecord, note: str
) -> CatalogDataset:
    """A new dataset; its IRI is minted under HDAB_BASE_URL. A data holder creates only its own."""
    require(writer, [(record, False)])
    record = checked(dataclasses.replace(record, iri=dataset_iri(settings, record.identifier)))
    if session.scalars(repository.by_identifier(record.identifier)).one_or_none() is not None:
        raise Conflict(f"a dataset with identifier {record.identifier!r} exists already")
    gate(settings, write_dataset(record))
    return _store(session, writer.actor, record, note, ChangeKind.CREATED, None)


def update(
    session: Session, settings: Settings, writer: Writer, identifier: str, record: DatasetRecord, note: str
) -> CatalogDataset:
    """A new version. A data holder updates only its own dataset, and cannot give it to another publisher."""
    row = _find(session, identifier)
    require(writer, [(current_record(row), True)])
    if record.identifier != identifier:
        raise InvalidInput(
            "the identifier cannot change", [FieldError("identifier", f"must stay {identifier!r}")]
        )
    require(writer, [(record, False)])
    record = checked(dataclasses.replace(record, iri=row.iri))
    gate(settings, write_dataset(record))
    if row.status is DatasetStatus.PUBLISHED and content_hash(record) == row.content_hash:
        return row
    return _store(session, writer.actor, record, note, ChangeKind.UPDATED, row)


def withdraw(session: Session, writer: Writer, identifier: str, note: str) -> CatalogDataset:
    row = _find(session, identifier)
    record = current_record(row)
    require(writer, [(record, True)])
    if row.status is DatasetStatus.WITHDRAWN:
        raise Conflict(f"dataset {identifier!r} is withdrawn already")
    return _store(session, writer.actor, record, note, ChangeKind.WITHDRAWN, row)


def upsert(
    session: Session, actor: str, record: DatasetRecord, note: str, index: bool = True
) -> UpsertResult:
    """Store a record (already validated) by its dct:identifier: created, updated or unchanged.

    ``index=False``: the caller sends the search update itself (an import, one message per batch).
    """
    record = checked(record)
    row = session.scalars(repository.by_identifier(record.identifier)).one_or_none()
    if row is None:
        clash = session.scalars(repository.by_iri(record.iri)).one_or_none()
        if clash is not None:
            raise Conflict(f"IRI {record.iri} belongs to dataset {clash.identifier!r}")
        row = _store(session, actor, record, note, ChangeKind.CREATED, None, index)
        return UpsertResult(record.identifier, Outcome.CREATED, row.version)
    if row.status is DatasetStatus.PUBLISHED and content_hash(record) == row.content_hash:
        return UpsertResult(record.identifier, Outcome.UNCHANGED, row.version)
    record = dataclasses.replace(record, iri=row.iri)
    row = _store(session, actor, record, note, ChangeKind.UPDATED, row, index)
    return UpsertResult(record.identifier, Outcome.UPDATED, row.version)


def import_graph(
    session: Session, settings: Settings, writer: Writer, graph: Graph, note: str
) -> list[UpsertResult]:
    """Atomic: the whole graph passes the shapes and every record is stored, or the caller rolls back.

    The shapes judge the RDF as submitted, so the answer lists every violation with its focus node
    and path; only then are the records read from it. A data holder imports only its own
    organisation's datasets: one that is (or would become) another publisher's refuses the whole
    import before anything is stored.
    """
    gate(settings, graph)
    try:
        records = read_datasets(graph)
    except RecordError as exc:
        raise InvalidInput("a dataset cannot be read", [FieldError(exc.node, str(exc))]) from None
    if not records:
        raise InvalidInput("the RDF holds no dcat:Dataset")
    seen: set[str] = set()
    for record in records:
        checked(record)
        if record.identifier in seen:
            raise InvalidInput(f"dataset identifier {record.identifier!r} appears twice")
        seen.add(record.identifier)
    checks: list[tuple[DatasetRecord, bool]] = []
    for record in records:
        row = session.scalars(repository.by_identifier(record.identifier)).one_or_none()
        if row is not None:
            checks.append((current_record(row), True))
        checks.append((record, False))
    require(writer, checks)
    results = [upsert(session, writer.actor, record, note, index=False) for record in records]
    # One search update per batch, not per dataset: thousands of messages each opening their own
    # transactions cost as much as storing the datasets.
    changed = [r.identifier for r in results if r.outcome is not Outcome.UNCHANGED]
    for start in range(0, len(changed), INDEX_BATCH):
        outbox.enqueue(
            session, "catalog.index_datasets", {"identifiers": changed[start : start + INDEX_BATCH]}
        )
    return results


def seed(session: Session, settings: Settings, actor: str) -> list[UpsertResult]:
    """Load the NPR and KPR seed; running it again changes nothing."""
    records = seed_records(settings.base_url)
    graph = new_graph()
    for record in records:
        write_dataset(record, graph)
    gate(settings, graph)
    return [upsert(session, actor, record, "catalogue seed") for record in records]


def versions(session: Session, identifier: str) -> list[CatalogDatasetVersion]:
    return list(session.scalars(repository.versions(_find(session, identifier).id)))


# --- metadata quality -------------------------------------------------------------------------------


def check_urls(database: Database, client: httpx.Client) -> dict[str, bool]:
    """Request every access and download URL of the published datasets; store each answer.

    No transaction stays open while the URLs are requested (they may be this service's own pages,
    and on SQLite a transaction that read before another one wrote may no longer write).
    """
    with database.session() as session:
        urls: set[str] = set()
        for row in session.scalars(repository.published()):
            urls |= urls_of(current_record(row))
    answers: dict[str, tuple[int | None, str | None]] = {}
    for url in sorted(urls):
        answers[url] = probe(client, url)  # HEAD, falling back to GET, as the MQA does
    results: dict[str, bool] = {}
    with database.session() as session:
        for url, (status, error) in answers.items():
            ok = status is not None and status < 400
            check = session.get(UrlCheck, url) or UrlCheck(url=url)
            check.status_code, check.ok, check.error, check.checked_at = status, ok, error, clock.now()
            session.add(check)
            results[url] = ok
    return results


@functools.lru_cache(maxsize=4096)
def _conforms(identifier: str, version: int, ntriples: str, shapes_key: str) -> bool:
    graph = Graph().parse(data=ntriples, format="nt")
    return shapes_bundle(Path(shapes_key)).validate(graph).conforms


def quality(session: Session, settings: Settings, identifier: str) -> dict[str, object]:
    """The MQA score of one dataset, with the catalogue's average."""
    root = shapes_root(settings)
    url_ok = {c.url: c.ok for c in session.scalars(select(UrlCheck))}

    def report_for(row: CatalogDataset) -> QualityReport:
        compliant = _conforms(row.identifier, row.version, row.ntriples, str(root)) if root else None
        # scored as published: what a harvester computing the MQA sees (the permit licence included)
        return score(
            published_record(settings.base_url, current_record(row)), url_ok, dcat_ap_compliant=compliant
        )

    row = _find(session, identifier)
    result = report_json(report_for(row))
    # The average scores every published dataset: done again only when a dataset or a URL check
    # changed, not on every dataset page view.
    stamp = (
        settings.database_url,
        str(root),
        session.scalar(repository.count_published()),
        session.scalar(repository.last_change()),
        tuple(sorted(url_ok.items())),
    )
    average = _averages.get(stamp)
    if average is None:
        points = [report_for(r).points for r in session.scalars(repository.published())]
        average = round(sum(points) / len(points), 1) if points else None
        _averages.clear()
        _averages[stamp] = average
    result["catalogue_average"] = average
    result["urls_checked"] = bool(url_ok)
    return result


_averages: dict[tuple[object, ...], float | None] = {}
