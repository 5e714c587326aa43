"""Alembic, driven from code: one linear history for the whole database, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


# Objects one database has and the models do not describe: SQLite's FTS5 table (and its shadow
# tables) and PostgreSQL's functional GIN index, both for the embedded search.
DIALECT_ONLY_PREFIXES = ("search_fts", "ix_search_documents_fts")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (name or "").startswith(DIALECT_ONLY_PREFIXES)


def alembic_config(database_url: str, target_metadata: MetaData | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    config.attributes["target_metadata"] = target_metadata
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def heads(database_url: str = "sqlite://") -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def revision(database_url: str, message: str, metadata: MetaData, autogenerate: bool = True) -> None:
    """Write a new migration; with ``autogenerate``, from the differences of ``metadata`` (every table)."""
    command.revision(alembic_config(database_url, metadata), message=message, autogenerate=autogenerate)
