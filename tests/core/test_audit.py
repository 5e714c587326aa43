"""The audit log: append-only, hash-chained, in the change's transaction, no identifiers in clear."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hdab.core import audit, clock
from hdab.core.db import Database
from hdab.core.models import AuditEntry
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
            connection.execute(text("DROP TRIGGER audit_entries_no_update"))
            connection.execute(text("DROP TRIGGER audit_entries_no_delete"))
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
