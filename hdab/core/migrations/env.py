"""Alembic environment: every domain's tables, one history, SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import context

from hdab.core import domains
from hdab.core.db import Base, make_engine
from hdab.core.migrate import include_object

domains.load_models()
target_metadata = Base.metadata


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
