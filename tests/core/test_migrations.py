"""One linear Alembic history; the same migrations on SQLite and PostgreSQL; models and migrations agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, Boolean, column, inspect, table, text

from hdab.core import migrate
from hdab.core.db import Database, UTCDateTime
from hdab.models import metadata


def test_history_is_linear_with_one_head() -> None:
    assert len(migrate.heads()) == 1


def test_models_and_migrations_agree(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": migrate.include_object}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(database: Database) -> None:
    migrate.downgrade(database.url, "base")
    assert "audit_entries" not in inspect(database.engine).get_table_names()
    migrate.upgrade(database.url)
    tables = set(inspect(database.engine).get_table_names())
    assert {"audit_entries", "audit_head", "outbox_messages"} <= tables


def test_a_receipt_kept_on_the_delivery_moves_to_a_row_of_its_own_and_back(database: Database) -> None:
    """0009: receipts became rows, one per client; the one receipt a delivery held is not lost."""
    migrate.downgrade(database.url, "0008_signin_sessions")
    deliveries = table(
        "deliveries",
        *(
            column(name)
            for name in ("id", "permit_id", "number", "permit_version", "path", "manifest_sha256")
        ),
        column("recipient_organisation"),
        column("files", JSON()),
        column("delivered_at", UTCDateTime()),
        column("receipt", JSON()),
        column("receipt_mismatch", Boolean()),
    )
    receipt = {
        "by": "ssb-client@https://maskinporten.no",
        "at": "2026-11-30T10:00:00+00:00",
        "checksums": {"a.parquet": "0" * 64},
        "mismatched": ["a.parquet"],
        "unknown": [],
    }
    with database.engine.begin() as connection:
        connection.execute(
            deliveries.insert().values(
                id="d1",
                permit_id="NO-HDAB-2026-1",
                number=1,
                permit_version=1,
                path="/spe/d1",
                manifest_sha256="f" * 64,
                recipient_organisation="971526920",
                files=[{"name": "a.parquet", "sha256": "1" * 64}],
                delivered_at=datetime(2026, 11, 29, tzinfo=UTC),
                receipt=receipt,
                receipt_mismatch=True,
            )
        )
    migrate.upgrade(database.url)
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT delivery_id, client, organisation, mismatch FROM delivery_receipts")
        ).all()
    assert [tuple(r) for r in rows] == [("d1", receipt["by"], "971526920", True)]
    assert "receipt" not in {c["name"] for c in inspect(database.engine).get_columns("deliveries")}
    migrate.downgrade(database.url, "0008_signin_sessions")
    with database.engine.connect() as connection:
        [(kept, mismatch)] = connection.execute(
            text("SELECT receipt, receipt_mismatch FROM deliveries")
        ).all()
    kept = json.loads(kept) if isinstance(kept, str) else kept
    assert kept["by"] == receipt["by"] and kept["mismatched"] == ["a.parquet"] and mismatch
    migrate.upgrade(database.url)
