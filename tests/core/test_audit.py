"""The audit log: append-only, hash-chained, in the change's transaction, no identifiers in clear."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hdab.core import audit, clock
from hdab.core.db import Database
from hdab.core.models import GENESIS_HASH, AuditEntry
from hdab.core.settings import Settings
from tests.support.cli import clean_env, run_hdab


def write_entries(database: Database, count: int, actor: str = "caseworker-1") -> None:
    for index in range(count):
        with database.session() as session:
            audit.record(
                session,
                actor=actor,
                action="application.viewed",
                object_type="application",
                object_id=f"app-{index}",
                details={"index": index},
            )


@contextmanager
def tampering(database: Database) -> Iterator[None]:
    """Act as someone with direct database access who switched the append-only guard off."""
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
    try:
        yield
    finally:
        with database.engine.begin() as connection:
            if database.dialect == "postgresql":
                connection.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))


def verify(database: Database) -> audit.Verification:
    with database.session() as session:
        return audit.verify(session)


def test_intact_chain_verifies(database: Database) -> None:
    write_entries(database, 5)
    result = verify(database)
    assert result.ok and result.entries_checked == 5


def test_empty_chain_verifies(database: Database) -> None:
    assert verify(database).ok


def test_entries_take_the_time_from_the_clock(database: Database) -> None:
    clock.set(datetime(2029, 3, 26, 9, 30, 15, 123456, tzinfo=UTC))
    write_entries(database, 1)
    with database.session() as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert entry.occurred_at == datetime(2029, 3, 26, 9, 30, 15, 123456, tzinfo=UTC)
    assert verify(database).ok


def test_changed_row_is_detected(database: Database) -> None:
    write_entries(database, 5)
    with tampering(database), database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 3"))
    result = verify(database)
    assert not result.ok
    assert result.bad_seq == 3
    assert "entry 3 was changed" in (result.problem or "")


def test_changed_details_are_detected(database: Database) -> None:
    write_entries(database, 3)
    with tampering(database), database.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_entries SET details = :d WHERE seq = 2"), {"d": '{"index": 99}'}
        )
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 2)


def test_deleted_row_is_detected(database: Database) -> None:
    write_entries(database, 5)
    with tampering(database), database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 2)
    assert "entry 2 is missing" in (result.problem or "")


def test_deleted_last_row_is_detected(database: Database) -> None:
    write_entries(database, 4)
    with tampering(database), database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 4)
    assert "removed from the end" in (result.problem or "")


def test_swapped_pair_is_detected(database: Database) -> None:
    write_entries(database, 5)
    with tampering(database), database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET seq = -1 WHERE seq = 2"))
        connection.execute(text("UPDATE audit_entries SET seq = 2 WHERE seq = 3"))
        connection.execute(text("UPDATE audit_entries SET seq = 3 WHERE seq = -1"))
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 2)


def test_recomputed_hash_after_change_still_breaks_the_link(database: Database) -> None:
    write_entries(database, 4)
    with database.session() as session:
        entry = session.get(AuditEntry, 2)
        assert entry is not None
        entry.actor = "forged"
        forged_hash = audit.entry_hash(entry)
        session.expunge(entry)
    with tampering(database), database.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_entries SET actor = 'forged', hash = :h WHERE seq = 2"),
            {"h": forged_hash},
        )
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 3)


def test_database_refuses_update_and_delete_of_entries(database: Database) -> None:
    write_entries(database, 1)
    for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as connection:
            connection.execute(text(statement))
    assert verify(database).ok


def test_entry_is_rolled_back_with_the_change(database: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), database.session() as session:
        audit.record(session, actor="a", action="permit.issued", object_type="permit", object_id="p1")
        raise Boom
    write_entries(database, 1)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
    assert verify(database).ok


def test_person_numbers_never_enter_in_clear(database: Database) -> None:
    with pytest.raises(audit.PersonalIdentifierInAudit), database.session() as session:
        audit.record(
            session,
            actor="citizen",
            action="optout.recorded",
            object_type="optout",
            object_id="x",
            details={"who": "01010012356"},
        )
    with pytest.raises(audit.PersonalIdentifierInAudit), database.session() as session:
        audit.record(session, actor="01010012356", action="a", object_type="b", object_id="c")
    ref = audit.identifier_ref("01010012356")
    assert ref == audit.identifier_ref("01010012356")
    assert "01010012356" not in ref and ref != audit.identifier_ref("15076500565")
    with database.session() as session:
        audit.record(
            session,
            actor="citizen",
            action="optout.recorded",
            object_type="person",
            object_id=ref,
            details={},
        )
    assert verify(database).ok


def test_concurrent_writers_never_fork_the_chain(database: Database) -> None:
    # Order comes from the audit_head row: each writer's UPDATE of it holds the row lock
    # (PostgreSQL) or the database write lock (SQLite) until commit, so writers queue.
    writers, per_writer = 8, 25
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            barrier.wait()
            write_entries(database, per_writer, actor=f"writer-{number}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify(database)
    assert result.ok, result.problem
    assert result.entries_checked == writers * per_writer


def _cli_verify(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        HDAB_ENV="test", HDAB_DATA_DIR=str(settings.data_dir), HDAB_DATABASE_URL=settings.database_url
    )
    return run_hdab("audit", "verify", env=env)


def test_cli_verify_exit_codes(settings: Settings, database: Database) -> None:
    write_entries(database, 3)
    ok = _cli_verify(settings)
    assert ok.returncode == 0, ok.stderr
    assert "intact: 3 entries" in ok.stdout
    with tampering(database), database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET action = 'x' WHERE seq = 2"))
    broken = _cli_verify(settings)
    assert broken.returncode == 1
    assert broken.stderr.strip() == "hdab: audit chain broken: entry 2 was changed (its hash does not match)"


# --- the keyed chain and its checkpoints -----------------------------------------------------------


def rewrite_chain(database: Database, start: int, rehash: Callable[[AuditEntry], str], actor: str) -> None:
    """Someone with database access but not the key changes entry ``start`` and recomputes the rest."""
    with database.session() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        for entry in entries:
            session.expunge(entry)
    previous = entries[start - 2].hash if start > 1 else GENESIS_HASH
    with tampering(database), database.engine.begin() as connection:
        for entry in entries[start - 1 :]:
            if entry.seq == start:
                entry.actor = actor
            entry.prev_hash = previous
            entry.hash = rehash(entry)
            connection.execute(
                text("UPDATE audit_entries SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": entry.actor, "p": entry.prev_hash, "h": entry.hash, "s": entry.seq},
            )
            previous = entry.hash
        connection.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": previous})


def checkpoint(database: Database) -> audit.Checkpoint:
    with database.session() as session:
        return audit.checkpoint(session)


def test_new_entries_carry_the_mac_not_a_plain_hash(database: Database) -> None:
    write_entries(database, 2)
    with database.session() as session:
        entry = session.get(AuditEntry, 2)
        assert entry is not None
        assert entry.hash == audit.entry_hash(entry) != audit.legacy_entry_hash(entry)
        assert entry.hash != audit.entry_hash(entry, key="another-key-" + "x" * 32)


@pytest.mark.parametrize(
    "rehash",
    [
        pytest.param(lambda entry: audit.entry_hash(entry, key="a-guessed-key-" + "x" * 32), id="wrong-key"),
        pytest.param(audit.legacy_entry_hash, id="downgraded-to-sha256"),
    ],
)
def test_recomputed_chain_without_the_key_fails(
    database: Database, rehash: Callable[[AuditEntry], str]
) -> None:
    write_entries(database, 5)
    rewrite_chain(database, 3, rehash, actor="forged")
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 3)
    assert "entry 3 was changed" in (result.problem or "")


def test_legacy_sha256_entries_verify_and_the_chain_switches_to_the_mac(database: Database) -> None:
    write_entries(database, 3)
    # As written before the key: entries 1-3 carry the plain SHA-256 (the migration's state).
    rewrite_chain(database, 1, audit.legacy_entry_hash, actor="caseworker-1")
    assert verify(database).ok
    write_entries(database, 2)  # the cut-over: entry 4 is the first keyed one
    result = verify(database)
    assert result.ok and result.entries_checked == 5, result.problem
    with database.session() as session:
        entry = session.get(AuditEntry, 4)
        assert entry is not None and entry.hash == audit.entry_hash(entry)
    # An edit in the legacy part is still caught, and no keyed entry may fall back to SHA-256.
    rewrite_chain(database, 5, audit.legacy_entry_hash, actor="caseworker-1")
    assert (verify(database).ok, verify(database).bad_seq) == (False, 5)


def test_truncation_with_head_reset_is_detected_by_the_checkpoint(database: Database) -> None:
    write_entries(database, 5)
    made = checkpoint(database)
    assert (made.seq, made.hash) == (5, verify(database).last_hash)
    write_entries(database, 1)
    with database.session() as session:
        third = session.get(AuditEntry, 3)
        assert third is not None
        third_hash = third.hash
    with tampering(database), database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq > 3"))
        connection.execute(text("UPDATE audit_head SET seq = 3, hash = :h WHERE id = 1"), {"h": third_hash})
    assert verify_without_checkpoints(database).ok  # what the database alone can tell
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 4)
    assert result.problem == (
        f"the chain ends at entry 3 but the checkpoint taken at {made.at} names entry 5:"
        " entries were removed from the end"
    )


def verify_without_checkpoints(database: Database) -> audit.Verification:
    with database.session() as session:
        return audit.verify(session, checkpoint_file=Path("/nonexistent/audit-checkpoints.jsonl"))


def test_whole_chain_recomputed_as_legacy_is_detected_by_the_checkpoint(database: Database) -> None:
    write_entries(database, 4)
    checkpoint(database)
    rewrite_chain(database, 1, audit.legacy_entry_hash, actor="forged")
    assert verify_without_checkpoints(database).ok  # indistinguishable from a pre-key chain
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 1)  # the checkpoint says plain hashes ended at 0
    assert "plain hashes ended at entry 0" in (result.problem or "")


def test_edit_in_the_middle_is_still_detected_with_checkpoints(database: Database) -> None:
    write_entries(database, 3)
    checkpoint(database)
    write_entries(database, 3)
    checkpoint(database)
    assert verify(database).checkpoints_checked == 2
    with tampering(database), database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET action = 'x' WHERE seq = 4"))
    result = verify(database)
    assert (result.ok, result.bad_seq) == (False, 4)
    assert "entry 4 was changed" in (result.problem or "")
    with pytest.raises(audit.ChainBroken):  # a broken chain is never checkpointed
        checkpoint(database)


def test_forged_checkpoint_line_is_refused(settings: Settings, database: Database) -> None:
    write_entries(database, 2)
    checkpoint(database)
    path = settings.audit_checkpoint_file
    assert path is not None
    forged = audit.Checkpoint(1, "f" * 64, "2029-01-01T00:00:00.000000+00:00", "0" * 64)
    with path.open("a", encoding="utf-8") as out:
        out.write(forged.line() + "\n")
    result = verify(database)
    assert not result.ok
    assert "line 2 is not signed with HDAB_AUDIT_MAC_KEY" in (result.problem or "")


def test_cli_checkpoint_then_verify_catches_truncation(settings: Settings, database: Database) -> None:
    write_entries(database, 3)
    env = clean_env(
        HDAB_ENV="test", HDAB_DATA_DIR=str(settings.data_dir), HDAB_DATABASE_URL=settings.database_url
    )
    made = run_hdab("audit", "checkpoint", env=env)
    assert made.returncode == 0, made.stderr
    assert "audit checkpoint: entry 3 at " in made.stdout
    line = json.loads((settings.data_dir / "audit-checkpoints.jsonl").read_text().splitlines()[-1])
    assert set(line) == {"seq", "hash", "at", "signature", "legacy_until"} and line["seq"] == 3
    ok = _cli_verify(settings)
    assert ok.returncode == 0 and "intact: 3 entries, 1 checkpoints" in ok.stdout, ok.stderr
    with database.session() as session:
        second = session.get(AuditEntry, 2)
        assert second is not None
        second_hash = second.hash
    with tampering(database), database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
        connection.execute(text("UPDATE audit_head SET seq = 2, hash = :h WHERE id = 1"), {"h": second_hash})
    broken = _cli_verify(settings)
    assert broken.returncode == 1
    assert "names entry 3: entries were removed from the end" in broken.stderr
    refused = run_hdab("audit", "checkpoint", env=env)
    assert refused.returncode == 1 and "not checkpointed" in refused.stderr


def test_a_chain_rewritten_as_plain_hashes_after_the_first_checkpoint_is_caught(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    """With no keyed entry left, only the first checkpoint still says where plain hashes ended."""
    file = tmp_path / "checkpoints.jsonl"
    with database.session() as session:
        assert audit.ensure_checkpoint(session, file) is not None  # start-up: empty chain, no legacy
        assert audit.ensure_checkpoint(session, file) is None  # once only
        for i in range(3):
            audit.record(session, actor="a", action="x.y", object_type="o", object_id=str(i))
    rewrite_chain(database, 1, audit.legacy_entry_hash, actor="forged")
    with database.session() as session:
        result = audit.verify(session, file)
    assert not result.ok and "plain hashes ended at entry 0" in (result.problem or "")


def test_a_checkpoint_path_that_is_a_folder_is_a_clear_error(database: Database, tmp_path: Path) -> None:
    with database.session() as session:
        result = audit.verify(session, tmp_path)
    assert not result.ok and "cannot be read" in (result.problem or "")
