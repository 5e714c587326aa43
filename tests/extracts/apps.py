"""The service, its catalogue seeded, on the parametrised database, over the test's registry folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hdab.app import create_app
from hdab.core import outbox, runtime
from hdab.core.models import AuditEntry
from hdab.extracts.jobs.models import ExtractJob
from tests.applications.factories import People, access_form
from tests.applications.walk import create, to_permit
from tests.support import backends, seeding


@contextmanager
def running(tmp_path: Path, database_url: str, registry: Path) -> Iterator[tuple[TestClient, People]]:
    """The app, its tasks run in-process; ``registry`` need not exist (a fresh install)."""
    settings = backends.make_settings(
        tmp_path / "data", database_url, registry_dir=registry, spe_root=tmp_path / "spe"
    )
    runtime.configure(settings)
    seeding.seed_catalogue(settings)
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield client, People(settings)
    finally:
        assert outbox.wait_for_background(120), "in-process background work still running after 120 s"
        if not settings.uses_sqlite:
            from tests.conftest import _truncate_postgres

            _truncate_postgres(runtime.database())
        runtime.database().dispose()


def permit_with(client: TestClient, people: People, dataset: dict[str, Any]) -> dict[str, Any]:
    """A permit for one dataset, issued: its job has run by the time this returns."""
    form = access_form()
    form["specification"] = {"datasets": [dataset]}
    if dataset.get("pseudonymised"):
        form["pseudonymisation_justification"] = "Linkage across years needs a stable pseudonym."
    return to_permit(client, people, create(client, people.applicant, form))


def jobs() -> list[ExtractJob]:
    with runtime.database().session() as session:
        return list(session.scalars(select(ExtractJob).order_by(ExtractJob.created_at)))


def audit_entries(object_id: str) -> list[AuditEntry]:
    with runtime.database().session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.object_id == object_id).order_by(AuditEntry.seq)
            )
        )
