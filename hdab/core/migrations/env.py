"""Alembic environment: one history for every domain's tables, SQLite and PostgreSQL alike.

Upgrades and downgrades need no models. Autogenerate (``hdab db revision``) compares the models
with the database: its caller hands over the metadata of every table (``hdab.models.metadata``)
as ``target_metadata``, since core names no domain.
"""

from __future__ import annotations

from alembic import context

from hdab.core.db import make_engine
from hdab.core.migrate import include_object

target_metadata = context.config.attributes.get("target_metadata")


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(str(context.config.attributes["database_url"]), pool=False)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables so one history serves both.
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
