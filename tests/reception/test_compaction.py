"""Received versions reach the registry's Parquet through its append API; "as known at T" sees exactly
what had been received by T; compaction is exactly once, even after a crash between its steps."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
from sqlalchemy import select, update

from hdab.core import clock, runtime
from hdab.core.settings import Settings
from hdab.reception import compaction, crypto
from hdab.reception.client import Sender
from hdab.reception.domain import RECORD_ID_BASE
from hdab.reception.models import Message, Watermark
from hdab.registry import api as registry
from hdab.registry import synth
from tests.reception.conftest import npr, npr_episode


def read(root: Path, as_of: datetime) -> dict[str, tuple[int, str]]:
    """lopenummer -> (version, hovedtilstand) of received records, as the registry knew them at ``as_of``."""
    query, params = registry.known_at(registry.SOURCES["npr-somatikk"], root, as_of)
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT lopenummer, version, hovedtilstand FROM ({query}) WHERE record_id >= {RECORD_ID_BASE}",
            params,
        ).fetchall()
    return {str(lid): (int(v), str(d)) for lid, v, d in rows}


def compact(settings: Settings) -> list[compaction.Compacted]:
    assert settings.registry_dir is not None
    return compaction.compact(
        runtime.database(), settings.registry_dir, crypto.storage_key(settings.reception_storage_key)
    )


def test_versions_land_in_the_registry_and_as_known_at_t_sees_what_was_received_by_t(
    registered: Settings, hospital: Sender
) -> None:
    root = registered.registry_dir
    assert root is not None
    synth.generate(root, 50, 2025, 1)  # the synthetic year's parts set the table's columns and types
    assert hospital.send(npr(1, npr_episode("EP-1"), npr_episode("EP-2", "M17.1"))).delivered
    first = clock.now()
    assert hospital.send(npr(2, npr_episode("EP-1", "I10"))).delivered
    assert hospital.send(npr(3, {"slettet": ["EP-2"]})).delivered
    assert compact(registered) == [] or all(c.versions == 0 for c in compact(registered))  # within the grace
    clock.set(clock.now() + compaction.COMPACTION_GRACE + timedelta(seconds=1))
    [done] = compact(registered)
    assert (done.dataset, done.messages, done.versions, done.tombstones) == ("npr-somatikk", 3, 3, 1)
    assert read(root, first) == {"EP-1": (1, "I21.9"), "EP-2": (1, "M17.1")}
    latest = read(root, clock.now())
    assert latest["EP-1"] == (2, "I10")
    with runtime.database().session(write=False) as session:
        mark = compaction.watermark(session, "npr-somatikk")
        received = session.scalars(select(Message.received_at)).all()
    assert mark is not None and all(at <= mark for at in received)
    # again: nothing new, nothing twice
    assert all(c.versions == 0 for c in compact(registered))
    assert read(root, clock.now()) == latest
    # the synthetic year is untouched and read beside the received records
    query, params = registry.known_at(registry.SOURCES["npr-somatikk"], root, clock.now())
    with duckdb.connect() as con:
        [(synthetic,)] = con.execute(
            f"SELECT count(*) FROM ({query}) WHERE record_id < 1000000", params
        ).fetchall()
    assert synthetic > 0


def test_a_batch_interrupted_after_its_part_was_written_is_not_written_twice(
    registered: Settings, hospital: Sender
) -> None:
    root = registered.registry_dir
    assert root is not None
    assert hospital.send(npr(1, npr_episode("EP-1"))).delivered
    clock.set(clock.now() + compaction.COMPACTION_GRACE + timedelta(seconds=1))
    [done] = compact(registered)
    assert done.versions == 1
    # as if the process died after the part was written and before the batch was marked done
    with runtime.database().session() as session:
        ids = list(session.scalars(select(Message.id)))
        session.execute(update(Message).values(compacted=False))
        mark = session.get(Watermark, "npr-somatikk")
        assert mark is not None
        name = "reception-" + hashlib.sha256("|".join(ids).encode()).hexdigest()[:20]
        mark.details = {"pending": {"messages": ids, "name": name, "through": done.through.isoformat()}}
    [again] = compact(registered)
    assert again.parts == ()  # its part was there: nothing appended again
    parts = registry.SOURCES["npr-somatikk"].parts(root)
    assert len(parts) == 1 and read(root, clock.now()) == {"EP-1": (1, "I21.9")}
