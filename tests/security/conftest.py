"""The world the access tests run in: a granted permit delivered to SSB, an answered statistics
request, and one caller per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hdab.core import runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.registry import synth
from tests.applications.factories import People, access_form, statistics_form
from tests.applications.walk import create, to_approved_statistics, to_permit
from tests.support import backends, seeding
from tests.support.forms import csrf_token

SSB = "971526920"
CITIZEN_PID = "01010012356"
ANON = "anonymous"
A, C, D, H, M, Z, R, S = (
    "applicant",
    "caseworker",
    "decision_maker",
    "data_holder",
    "admin",
    "citizen",
    "recipient",
    "submitter",
)
GP_OFFICE = "974589028"  # a reporting unit (not registered in this world)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    synth.generate(root, 2_000, 2025, 11)
    return root


@pytest.fixture
def world(
    tmp_path: Path, sqlite_template: Path, registry: Path
) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """A granted permit with a delivery to SSB, an answered statistics request, and a caller per role."""

    database = tmp_path / "hdab.db"
    database.write_bytes(sqlite_template.read_bytes())
    settings = backends.make_settings(
        tmp_path / "data",
        f"sqlite:///{database}",
        registry_dir=registry,
        spe_root=tmp_path / "spe",
        rate_limit_import=1000,  # every caller comes from the same test address
    )
    runtime.configure(settings)
    seeding.seed_catalogue(settings)
    from hdab.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        people = People(settings)
        form = access_form(
            purpose="c",
            applicant={"organisation": SSB, "organisation_name": "SSB", "public_sector": True},
            pseudonymisation_justification="Official statistics link years.",
        )
        form["specification"] = {
            "datasets": [
                {
                    "dataset": "npr-somatikk",
                    "variables": ["hovedtilstand", "fodselsar", "kjonn"],
                    "period": {"start": "2025-01-01", "end": "2025-12-31"},
                    "pseudonymised": True,
                }
            ],
            "recurrence": {"schedule": "monthly", "mode": "snapshot", "recipient_organisation": SSB},
        }
        case = to_permit(client, people, create(client, people.applicant, form))
        stats_form = statistics_form()
        stats_form["specification"]["tables"][0]["period"] = {"start": "2025-01-01", "end": "2025-12-31"}
        stats = to_approved_statistics(client, people, stats_form)

        idp = DevIdentityProvider(settings)
        callers = {
            ANON: {},
            A: people.applicant,
            C: people.caseworker,
            D: people.decision_maker,
            H: people.headers("registerforvalter", Role.DATA_HOLDER),
            M: people.headers("admin", Role.ADMIN),
            Z: {"Authorization": f"Bearer {idp.issue('borger', [Role.CITIZEN], national_id=CITIZEN_PID)}"},
            R: people.headers("ssb-client", Role.RECIPIENT, org=SSB),
            S: people.headers("epj-client", Role.SUBMITTER, org=GP_OFFICE),
        }
        [delivery] = client.get("/api/deliveries", headers=callers[R]).json()["items"]
        jobs = client.get(f"/extracts/permits/{case['permit_id']}", headers=callers[C])
        assert jobs.status_code == 200
        from hdab.extracts.jobs.models import ExtractJob

        with runtime.database().session() as session:
            job_id = session.query(ExtractJob.id).filter(ExtractJob.permit_id == case["permit_id"]).scalar()
        [notification] = client.get("/api/notifications", headers=callers[A]).json()["items"][:1]
        values = {
            "name": "nowhere",
            "identifier": "npr-somatikk",
            "case_id": case["id"],
            "application_id": stats,
            "permit_id": case["permit_id"],
            "job_id": str(job_id),
            "delivery_id": delivery["id"],
            "delivery_name": delivery["files"][0]["name"],
            "notification_id": str(notification["id"]),
            "section": "purpose",
            "command": "withdraw",
            "callers": callers,
            "csrf": csrf_token(client),  # forms carry it, as from a page the browser loaded
        }
        yield client, values
    runtime.database().dispose()
