"""The applications API end to end on SQLite and PostgreSQL: a case from draft to signed permit."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hdab.applications.models import Application
from hdab.applications.schemas import CaseOut
from hdab.applications.signing import verify
from hdab.core import audit, runtime
from hdab.core.auth import Principal, Role
from hdab.core.devidp import DEV_ISSUER
from hdab.core.identifiers import contains_person_number
from hdab.core.models import AuditEntry, OutboxMessage
from tests.applications.factories import ALL_MET, UIO, People, access_form, statistics_form
from tests.applications.walk import command, create, to_permit

PERSON_NUMBER = "01010012356"  # a valid fødselsnummer (mod 11)


def test_create_answers_201_with_id_and_draft(client: TestClient, people: People) -> None:
    response = client.post("/api/applications", json={"type": "access"}, headers=people.applicant)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "DRAFT" and len(body["id"]) == 36


def test_patch_saves_draft_fields_and_validates_them(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant, {"title": "first"})
    response = client.patch(
        f"/api/applications/{case_id}", json={"title": "second", "tools": "R"}, headers=people.applicant
    )
    assert response.status_code == 200
    assert response.json()["form"]["title"] == "second" and response.json()["form"]["tools"] == "R"
    bad = client.patch(f"/api/applications/{case_id}", json={"purpose": "z"}, headers=people.applicant)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "purpose"
    assert (
        client.get(f"/api/applications/{case_id}", headers=people.applicant).json()["form"]["title"]
        == "second"
    )


def test_submitting_an_incomplete_draft_lists_what_to_fix(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant, {"title": "half"})
    response = client.post(f"/api/applications/{case_id}/submit", headers=people.applicant)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"purpose", "persons", "art54_declaration"} <= fields


def test_a_case_walks_from_draft_to_a_signed_permit(client: TestClient, people: People) -> None:
    view = to_permit(client, people)
    CaseOut.model_validate(view)  # the answer keeps to the schema OpenAPI publishes
    assert view["status"] == "DECISION_ISSUED" and view["decision"] == "POSITIVE"
    assert view["permit_status"] == "GRANTED"
    permit_id = view["permit_id"]
    assert [e["type"] for e in view["events"]] == [
        "created",
        "submitted",
        "pre_screening_started",
        "information_requested",
        "information_provided",
        "processing_started",
        "fee_estimated",
        "fee_accepted",
        "assessment_recorded",
        "approved",
    ]
    assert {d["name"] for d in view["deadlines"]} >= {
        "decision",
        "publication",
        "permit_expiry",
        "data_deletion",
    }

    permit = client.get(f"/api/permits/{permit_id}", headers=people.applicant).json()
    assert permit["version"] == 1 and permit["delete_data_by"] == "2030-06-30"
    jws = client.get(f"/api/permits/{permit_id}/jws", headers=people.applicant)
    assert jws.status_code == 200 and jws.headers["content-type"] == "application/jose"
    keys = client.get("/.well-known/jwks.json").json()
    payload = verify(jws.text, keys)
    assert payload["permit_id"] == permit_id and payload["version"] == 1
    assert payload == permit["current"]
    assert payload["authorised_persons"][0]["email"] == "pi@uio.no"
    assert payload["pseudonymised"] is False and payload["fee"] == {"amount": "15000.00", "currency": "NOK"}

    with runtime.database().session() as session:
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.task == "permit.issued")).all()
        assert [m.payload for m in messages] == [{"permit_id": permit_id, "version": 1}]


def test_a_tampered_permit_fails_verification(client: TestClient, people: People) -> None:
    import pytest
    from joserfc.errors import BadSignatureError

    permit_id = to_permit(client, people)["permit_id"]
    token = client.get(f"/api/permits/{permit_id}/jws", headers=people.applicant).text
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}"
    with pytest.raises((BadSignatureError, ValueError)):
        verify(forged, client.get("/.well-known/jwks.json").json())


def test_amend_extend_and_revoke_through_the_permit_api(client: TestClient, people: People) -> None:
    permit_id = to_permit(client, people)["permit_id"]
    spec = access_form()["specification"]
    spec["datasets"].append({"dataset": "kpr-kuhr", "variables": ["hoveddiagnose", "kjonn"]})
    response = client.post(
        f"/api/permits/{permit_id}/amend",
        json={"reason": "add GP data", "specification": spec},
        headers=people.applicant,
    )
    assert response.status_code == 200 and response.json()["permit_status"] == "AMENDMENT_REQUESTED"
    assert (
        client.post(f"/api/permits/{permit_id}/approve-amendment", headers=people.decision_maker).status_code
        == 200
    )
    permit = client.get(f"/api/permits/{permit_id}", headers=people.caseworker).json()
    assert permit["version"] == 2 and permit["status"] == "AMENDED"
    v1 = client.get(f"/api/permits/{permit_id}/jws?version=1", headers=people.applicant)
    assert verify(v1.text, client.get("/.well-known/jwks.json").json())["version"] == 1
    extend = client.post(
        f"/api/permits/{permit_id}/extend",
        json={"valid_until": "2033-12-31", "reason": "cohort follow-up"},
        headers=people.applicant,
    )
    assert extend.status_code == 200
    client.post(f"/api/permits/{permit_id}/approve-extension", headers=people.decision_maker)
    assert (
        client.get(f"/api/permits/{permit_id}", headers=people.applicant).json()["valid_until"]
        == "2033-12-31"
    )
    revoke = client.post(
        f"/api/permits/{permit_id}/revoke",
        json={"reasons": "breach (Art. 63)"},
        headers=people.decision_maker,
    )
    assert revoke.status_code == 200 and revoke.json()["permit_status"] == "REVOKED"
    with runtime.database().session() as session:
        versions = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.task == "permit.issued")
        ).all()
    assert sorted(v["version"] for v in versions) == [1, 2, 3]


def test_409_when_not_allowed_now_and_403_when_never_allowed(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant)
    early = client.post(f"/api/applications/{case_id}/start-processing", headers=people.caseworker)
    assert early.status_code == 404  # staff do not see drafts
    command(client, people.applicant, case_id, "submit")
    early = client.post(f"/api/applications/{case_id}/start-processing", headers=people.caseworker)
    assert early.status_code == 409 and "SUBMITTED" in early.json()["detail"]
    never = client.post(
        f"/api/applications/{case_id}/approve", json={"valid_until": "2029-01-01"}, headers=people.caseworker
    )
    assert never.status_code == 403 and "decision_maker" in never.json()["detail"]
    assert client.post(
        f"/api/applications/{case_id}/no-such-command", headers=people.applicant
    ).status_code in (404, 405)


def test_the_body_cannot_choose_actor_or_time(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant)
    response = client.post(
        f"/api/applications/{case_id}/submit",
        json={"actor": "someone-else", "at": "2020-01-01"},
        headers=people.applicant,
    )
    assert response.status_code == 422


def test_one_applicant_cannot_see_or_change_anothers_case(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant)
    assert client.get(f"/api/applications/{case_id}", headers=people.stranger).status_code == 404
    assert client.post(f"/api/applications/{case_id}/submit", headers=people.stranger).status_code == 404
    assert (
        client.patch(f"/api/applications/{case_id}", json={"title": "x"}, headers=people.stranger).status_code
        == 404
    )
    listed = client.get("/api/applications", headers=people.stranger).json()
    assert listed["total"] == 0


def test_a_named_person_is_bound_at_first_sign_in_and_then_sees_the_case(
    client: TestClient, people: People
) -> None:
    case_id = create(client, people.applicant)
    command(client, people.applicant, case_id, "submit")
    listed = client.get("/api/applications", headers=people.pi).json()
    assert [i["id"] for i in listed["items"]] == [case_id]
    # the binding is to the subject: someone else later claiming the same email gets nothing
    impostor = people.headers("impostor", *[], email="pi@uio.no")
    assert client.get(f"/api/applications/{case_id}", headers=impostor).status_code == 404


def test_statistics_request_approval_hands_over_to_extracts(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant, statistics_form(), kind="statistics")
    command(client, people.applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    command(client, people.caseworker, case_id, "start-processing")
    command(client, people.caseworker, case_id, "estimate-fee", {"amount": "0"})
    command(client, people.caseworker, case_id, "record-assessment", {"criteria": ALL_MET})
    view = command(client, people.decision_maker, case_id, "approve", {})
    assert view["permit_id"] is None and view["decision"] == "POSITIVE"
    with runtime.database().session() as session:
        payloads = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.task == "statistics_request.approved")
        ).all()
    assert payloads == [{"application_id": case_id}]


def test_inbox_sorts_by_what_is_due_first(client: TestClient, people: People) -> None:
    from datetime import UTC, datetime, timedelta

    from hdab.core import clock

    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    first = create(client, people.applicant)
    command(client, people.applicant, first, "submit")
    command(client, people.caseworker, first, "start-pre-screening")
    command(client, people.caseworker, first, "start-processing")
    clock.advance(timedelta(days=10))
    second = create(client, people.applicant)
    command(client, people.applicant, second, "submit")
    command(client, people.caseworker, second, "start-pre-screening")
    command(client, people.caseworker, second, "request-information", {"message": "?"})  # 4 weeks: due first
    inbox = client.get("/api/inbox", headers=people.caseworker).json()["items"]
    assert [i["id"] for i in inbox] == [second, first]
    assert not any(i["overdue"] for i in inbox)
    clock.advance(timedelta(days=120))
    inbox = client.get("/api/inbox", headers=people.caseworker).json()["items"]
    assert all(i["overdue"] for i in inbox)
    assert client.get("/api/inbox", headers=people.applicant).status_code == 403


def test_concurrent_commands_one_wins_the_other_gets_409(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant)
    command(client, people.applicant, case_id, "submit")
    barrier = threading.Barrier(2)
    results: list[int] = []

    def start() -> None:
        barrier.wait()
        response = client.post(f"/api/applications/{case_id}/start-pre-screening", headers=people.caseworker)
        results.append(response.status_code)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    events = client.get(f"/api/applications/{case_id}", headers=people.caseworker).json()["events"]
    assert [e["type"] for e in events] == ["created", "submitted", "pre_screening_started"]
    assert [e["seq"] for e in events] == [1, 2, 3]
    with runtime.database().session() as session:
        assert session.get(Application, case_id).version == 3  # type: ignore[union-attr]


def test_concurrent_different_commands_lose_no_event(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant)
    command(client, people.applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def run(name: str, headers: dict[str, str], body: Any) -> None:
        barrier.wait()
        results[name] = client.post(
            f"/api/applications/{case_id}/{name}", json=body, headers=headers
        ).status_code

    threads = [
        threading.Thread(target=run, args=("withdraw", people.applicant, {})),
        threading.Thread(target=run, args=("start-processing", people.caseworker, None)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = client.get(f"/api/applications/{case_id}", headers=people.applicant).json()["events"]
    succeeded = [name for name, status in results.items() if status == 200]
    assert len(events) == 3 + len(succeeded)
    assert all(status in (200, 409) for status in results.values())


def test_the_public_register_lists_received_cases_and_decisions_without_personal_data(
    client: TestClient, people: People
) -> None:
    draft = create(client, people.applicant, access_form(title="Still a draft"))
    view = to_permit(client, people)
    statistics = create(client, people.applicant, statistics_form(), kind="statistics")
    command(client, people.applicant, statistics, "submit")
    register = client.get("/api/register").json()
    ids = [e["id"] for e in register["items"]]
    assert draft not in ids and set(ids) == {view["id"], statistics}
    granted = next(e for e in register["items"] if e["id"] == view["id"])
    assert granted["decision"] == "POSITIVE" and granted["justification"].startswith(
        "All criteria of Art. 68(1)"
    )
    assert granted["datasets"] == ["npr-somatikk"] and granted["organisation"] == "Universitetet i Oslo"
    text = str(register)
    assert "pi@uio.no" not in text and "Kari" not in text and "researcher" not in text
    assert [e["id"] for e in client.get("/api/register?purpose=a").json()["items"]] == []
    assert len(client.get("/api/register?dataset=npr-somatikk").json()["items"]) == 2
    assert client.get("/api/register?dataset=kpr-kuhr").json()["total"] == 0
    assert client.get("/api/register?q=hip").json()["total"] == 2


def test_every_command_route_is_documented_with_its_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for name in ("submit", "request-information", "estimate-fee", "record-assessment", "approve", "appeal"):
        assert "post" in paths[f"/api/applications/{{case_id}}/{name}"]
    for name in ("amend", "extend", "revoke"):
        assert "post" in paths[f"/api/permits/{{permit_id}}/{name}"]
    body = paths["/api/applications/{case_id}/estimate-fee"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert "EstimateFee" in str(body)
    answer = paths["/api/applications/{case_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert "CaseOut" in str(answer)
    assert {
        "/api/applications",
        "/api/applications/{case_id}",
        "/api/permits/{permit_id}/jws",
        "/api/register",
    } <= set(paths)


def test_the_first_signatures_in_parallel_agree_on_one_key(tmp_path: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from hdab.applications.signing import PermitSigner

    signer = PermitSigner(tmp_path / "keys.json")
    with ThreadPoolExecutor(8) as pool:
        kids = set(pool.map(lambda i: signer.sign({"n": i})[1], range(16)))
    assert len(kids) == 1 and len(signer.jwks()["keys"]) == 1


def test_a_write_is_committed_before_its_response_is_sent(client: TestClient, people: People) -> None:
    """Read-your-writes: when the 201 leaves, another connection already sees the new case."""
    import asyncio
    import json

    app = client.app
    seen: list[bool] = []
    body = json.dumps({"type": "access"}).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            case_id = json.loads(message["body"])["id"]
            with runtime.database().session() as session:
                seen.append(session.get(Application, case_id) is not None)

    headers = [
        (b"content-type", b"application/json"),
        (b"authorization", people.applicant["Authorization"].encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/api/applications",
        "raw_path": b"/api/applications",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "scheme": "http",
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert seen == [True]


def test_an_organisation_number_in_other_digits_is_422(client: TestClient, people: People) -> None:
    form = access_form()
    form["applicant"] = {**form["applicant"], "organisation": "".join(chr(0xFF10 + int(d)) for d in UIO)}
    response = client.post(
        "/api/applications", json={"type": "access", "form": form}, headers=people.applicant
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"] == "form.applicant.organisation" for e in response.json()["errors"])


def test_percent_and_underscore_in_the_register_search_are_literal(
    client: TestClient, people: People
) -> None:
    fifty = create(client, people.applicant, access_form(title="Waiting 50% longer"))
    other = create(client, people.applicant, access_form(title="Hip fractures in 2020"))
    for case_id in (fifty, other):
        command(client, people.applicant, case_id, "submit")
    assert client.get("/api/register?q=hip").json()["total"] == 1
    assert client.get("/api/register", params={"q": "%"}).json()["total"] == 1
    assert [e["id"] for e in client.get("/api/register", params={"q": "50%"}).json()["items"]] == [fifty]
    assert client.get("/api/register", params={"q": "_"}).json()["total"] == 0
    assert client.get("/api/register", params={"q": "\\"}).json()["total"] == 0


def test_a_nul_in_the_register_search_is_422(client: TestClient) -> None:
    response = client.get("/api/register", params={"q": "hip\x00"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "q", "message": "NUL"}]
    page = client.get("/register", params={"q": "\x00"}, headers={"accept": "text/html"})
    assert page.status_code == 422


def test_a_subject_holding_a_valid_person_number_acts_and_is_audited_by_its_hash(
    client: TestClient, people: People
) -> None:
    """An opaque ``sub`` may contain eleven digits that pass mod 11: the audit log names such an actor
    by a keyed hash (never refusing the action, never holding the number)."""
    subject = f"user-{PERSON_NUMBER}"
    applicant = people.headers(subject, Role.APPLICANT)
    case_id = create(client, applicant)
    command(client, applicant, case_id, "submit")
    view = client.get(f"/api/applications/{case_id}", headers=applicant)
    assert view.status_code == 200 and view.json()["status"] == "SUBMITTED"  # still the owner
    with runtime.database().session() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.object_id == case_id)))
        assert audit.verify(session).ok
    assert entries and {e.actor for e in entries} == {Principal(subject, DEV_ISSUER, frozenset()).actor}
    for entry in entries:
        assert entry.actor.startswith("pid-hmac:")
        assert not contains_person_number(f"{entry.actor} {entry.object_id} {entry.details}")
