"""Compaction: received record versions into the registry's Parquet, through the registry's append API.

Every minute (Celery beat; the in-process scheduler in the embedded default) the messages received
more than ``COMPACTION_GRACE`` ago that are not in the registry yet are read back (their payload
opened with the storage key), each accepted record becomes a row of its version (``record_id`` from
the record's key, ``version``, ``recorded_at`` = the receipt time, the registry's columns mapped by
the message type) and the rows go to ``registry.api.append`` as one part per day. The watermark of
the dataset then says: everything received by ``through`` is in the registry, so a reading "as
known at T" with T before the watermark sees exactly what had been received by T
(:func:`watermark`; the receiver refuses to commit a message later than ``MAX_STORE_DELAY`` after
its receipt time, so nothing can still arrive behind the watermark).

Exactly once: the batch (its part name and messages) is written down before the part is written
and marked done after; a batch found pending is written again under the same name, and a part of
that name already there means it was written before the crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hdab.core import clock
from hdab.core.db import Database
from hdab.reception import crypto
from hdab.reception.domain import RECORD_ID_BASE
from hdab.reception.models import Message, RecordVersion, Watermark
from hdab.reception.service import COMPACTION_GRACE
from hdab.reception.types import MESSAGE_TYPES, MessageType
from hdab.registry import api as registry

log = logging.getLogger(__name__)

BATCH_MESSAGES = 2_000
ARROW_TYPES = {
    "string": pa.string(),
    "int32": pa.int32(),
    "float64": pa.float64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


@dataclass(frozen=True)
class Compacted:
    dataset: str
    messages: int
    versions: int
    tombstones: int
    through: datetime
    parts: tuple[str, ...]


def watermark(session: Session, dataset: str) -> datetime | None:
    """Everything received for ``dataset`` up to this time is in the registry (None: nothing yet)."""
    row = session.get(Watermark, dataset)
    return row.through if row is not None else None


def datasets() -> list[str]:
    return sorted({t.dataset for t in MESSAGE_TYPES.values()})


def compact(database: Database, root: Path, storage_key: bytes) -> list[Compacted]:
    """Compact every dataset fed by a message type; each batch in its own transactions."""
    done = []
    for dataset in datasets():
        while True:
            result = compact_batch(database, root, storage_key, dataset)
            if result is None:
                break
            done.append(result)
            if result.messages < BATCH_MESSAGES:
                break
    return done


def compact_batch(database: Database, root: Path, storage_key: bytes, dataset: str) -> Compacted | None:
    through = clock.now() - COMPACTION_GRACE
    with database.session() as session:
        mark = session.get(Watermark, dataset, with_for_update=True)
        pending = (mark.details or {}).get("pending") if mark is not None else None
        if pending:
            ids = list(pending["messages"])
            name = str(pending["name"])
            through = datetime.fromisoformat(pending["through"])
        else:
            ids = list(
                session.scalars(
                    select(Message.id)
                    .where(
                        Message.dataset == dataset,
                        Message.compacted.is_(False),
                        Message.received_at <= through,
                    )
                    .order_by(Message.received_at, Message.id)
                    .limit(BATCH_MESSAGES)
                )
            )
            name = "reception-" + hashlib.sha256("|".join(ids).encode()).hexdigest()[:20]
            if mark is None:
                mark = Watermark(
                    dataset=dataset, through=through, compacted_at=clock.now(), versions=0, details={}
                )
                session.add(mark)
            if not ids:
                # nothing received and not compacted up to ``through``: the registry knows it all
                mark.through = max(mark.through, through)
                return None
            mark.details = {"pending": {"messages": ids, "name": name, "through": through.isoformat()}}
    # the batch is written down: write its part (again, under the same name, after a crash)
    with database.session(write=False) as session:
        table, versions, tombstones = _rows(session, dataset, ids, storage_key)
    parts = _append(root, dataset, table, name)
    with database.session() as session:
        session.execute(update(Message).where(Message.id.in_(ids)).values(compacted=True))
        mark = session.get(Watermark, dataset, with_for_update=True)
        assert mark is not None
        remaining = session.scalar(
            select(Message.id)
            .where(Message.dataset == dataset, Message.compacted.is_(False), Message.received_at <= through)
            .limit(1)
        )
        if remaining is None:
            mark.through = max(mark.through, through)
        mark.compacted_at = clock.now()
        mark.versions += versions
        mark.details = {}
    log.info(
        "compacted %d messages of %s: %d versions, %d tombstones", len(ids), dataset, versions, tombstones
    )
    return Compacted(dataset, len(ids), versions, tombstones, through, tuple(parts))


def _append(root: Path, dataset: str, table: pa.Table, name: str) -> list[str]:
    """Append the batch's rows as parts named after the batch; days whose part is there already
    (written before a crash) are left out, so a batch written again adds nothing twice."""
    if table.num_rows == 0:
        return []
    table = _conformed(table, registry.newest_schema(registry.SOURCES[dataset], root))
    folder = root / registry.SOURCES[dataset].folder
    days = pc.cast(pc.cast(table["recorded_at"], pa.timestamp("us", tz="UTC")), pa.date32())
    written = {
        day
        for day in set(days.to_pylist())
        if (folder / f"{registry.PARTITION}={day.isoformat()}" / f"part-{name}.parquet").exists()
    }
    if written:
        keep = pc.invert(pc.is_in(days, value_set=pa.array(sorted(written), pa.date32())))
        table = table.filter(keep)
    return [str(p) for p in registry.append(root, dataset, table, name=name)]


def _conformed(table: pa.Table, target: pa.Schema | None) -> pa.Table:
    """The rows in the columns and types of the dataset's newest part (the append contract)."""
    if target is None:
        return table
    missing = [name for name in table.column_names if target.get_field_index(name) < 0]
    if missing:
        raise registry.RegistryFailure(
            f"the registry's table has no columns {', '.join(missing)}: add them to its layout first",
            code="registry_schema_mismatch",
        )
    columns = [
        table[field.name].cast(field.type)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in target
    ]
    return pa.Table.from_arrays(columns, schema=target.remove_metadata())


def _rows(session: Session, dataset: str, ids: list[str], storage_key: bytes) -> tuple[pa.Table, int, int]:
    columns: dict[str, list[Any]] = defaultdict(list)
    kinds = [t for t in MESSAGE_TYPES.values() if t.dataset == dataset]
    names = _column_types(kinds)
    versions = tombstones = 0
    by_message: dict[str, list[tuple[int, int, int, datetime, bool]]] = defaultdict(list)
    for start in range(0, len(ids), 500):  # every version of the batch in a few queries, not one a message
        for key_id, version, item, recorded_at, deleted, message_id in session.execute(
            select(
                RecordVersion.key_id,
                RecordVersion.version,
                RecordVersion.item,
                RecordVersion.recorded_at,
                RecordVersion.deleted,
                RecordVersion.message_id,
            ).where(RecordVersion.message_id.in_(ids[start : start + 500]))
        ):
            by_message[message_id].append((key_id, version, item, recorded_at, deleted))
    for message in session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.received_at)):
        kind = MESSAGE_TYPES[(message.message_type, message.message_version)]
        payload = json.loads(crypto.store_open(message.sealed, storage_key, message.id))
        items = list(kind.items(payload))
        for key_id, version, item, recorded_at, deleted in by_message[message.id]:
            if deleted:
                # the registry's tables have no tombstone column yet (see the report): held here
                tombstones += 1
                continue
            values = items[item].values or {}
            columns["record_id"].append(RECORD_ID_BASE + key_id)
            columns["version"].append(version)
            columns["recorded_at"].append(recorded_at)
            for column in names:
                columns[column].append(values.get(column))
            versions += 1
    arrays = {
        "record_id": pa.array(columns["record_id"], pa.int64()),
        "version": pa.array(columns["version"], pa.int32()),
        "recorded_at": pa.array(columns["recorded_at"], ARROW_TYPES["timestamp"]),
        **{name: pa.array(columns[name], ARROW_TYPES[kind]) for name, kind in names.items()},
    }
    return pa.table(arrays), versions, tombstones


def _column_types(kinds: list[MessageType]) -> dict[str, str]:
    found: dict[str, str] = {}
    for kind in kinds:
        for column in kind.columns:
            found.setdefault(column.name, column.type)
    return found
