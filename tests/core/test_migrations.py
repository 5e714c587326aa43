"""One linear Alembic history; the same migrations on SQLite and PostgreSQL; models and migrations agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hdab.core import domains, migrate
from hdab.core.db import Base, Database


def test_history_is_linear_with_one_head() -> None:
    assert len(migrate.heads()) == 1


def test_models_and_migrations_agree(database: Database) -> None:
    domains.load_models()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": migrate.include_object}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(database: Database) -> None:
    migrate.downgrade(database.url, "base")
    assert "audit_entries" not in inspect(database.engine).get_table_names()
    migrate.upgrade(database.url)
    tables = set(inspect(database.engine).get_table_names())
    assert {"audit_entries", "audit_head", "outbox_messages"} <= tables
