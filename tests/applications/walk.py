"""Driving a case through the API, step by step, as the tests and the benchmark do."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hdab.core import outbox
from tests.applications.factories import ALL_MET, People, access_form


def settle() -> None:
    """Wait for the extract work the requests so far started: without a broker it runs in the
    server's background thread after the approval (or re-run, or release) has answered."""
    assert outbox.wait_for_background(120), "the extract work did not finish within 120 s"


def command(
    client: TestClient, headers: dict[str, str], case_id: str, name: str, body: Any = None
) -> dict[str, Any]:
    response = client.post(f"/api/applications/{case_id}/{name}", json=body, headers=headers)
    assert response.status_code == 200, (name, response.status_code, response.text)
    result: dict[str, Any] = response.json()
    return result


def create(
    client: TestClient, headers: dict[str, str], form: dict[str, Any] | None = None, kind: str = "access"
) -> str:
    response = client.post(
        "/api/applications", json={"type": kind, "form": form or access_form()}, headers=headers
    )
    assert response.status_code == 201, response.text
    case_id: str = response.json()["id"]
    return case_id


def to_permit(client: TestClient, people: People, case_id: str | None = None) -> dict[str, Any]:
    """Draft to signed permit along the main path; returns the final case view."""
    case_id = case_id or create(client, people.applicant)
    command(client, people.applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    command(client, people.caseworker, case_id, "request-information", {"message": "Send the REK approval"})
    command(client, people.applicant, case_id, "provide-information", {"message": "REK 2026/12345 attached"})
    command(client, people.caseworker, case_id, "start-processing")
    command(client, people.caseworker, case_id, "estimate-fee", {"amount": "15000.00", "currency": "NOK"})
    command(client, people.applicant, case_id, "accept-fee")
    command(client, people.caseworker, case_id, "record-assessment", {"criteria": ALL_MET, "risks": "low"})
    view = command(
        client,
        people.decision_maker,
        case_id,
        "approve",
        {"valid_until": "2029-12-31", "conditions": ["no linkage"]},
    )
    settle()  # the permit's extract has run
    return view


def to_approved_statistics(client: TestClient, people: People, form: dict[str, Any]) -> str:
    """A statistics request (Art. 69) from draft to approval, at no fee; returns its id."""
    case_id = create(client, people.applicant, form, kind="statistics")
    command(client, people.applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    command(client, people.caseworker, case_id, "start-processing")
    command(client, people.caseworker, case_id, "estimate-fee", {"amount": "0"})
    command(client, people.caseworker, case_id, "record-assessment", {"criteria": ALL_MET})
    command(client, people.decision_maker, case_id, "approve", {})
    settle()  # the request's answer has been counted
    return case_id
