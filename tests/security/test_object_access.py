"""Beyond roles: one applicant cannot see or change another's case, a recipient cannot reach another
organisation's deliveries, and a caseworker cannot decide a case."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hdab.core.auth import Role
from tests.applications.factories import People
from tests.security.conftest import C, R

HELSEDIR = "983544622"


def test_an_applicant_cannot_see_or_change_another_applicants_case(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, values = world
    stranger = People(_settings()).stranger  # another researcher, applicant role, not on the case
    case, permit, stats = values["case_id"], values["permit_id"], values["application_id"]
    owner = values["callers"]["applicant"]
    before = client.get(f"/api/applications/{case}", headers=owner).json()
    for url in (
        f"/api/applications/{case}",
        f"/applications/{case}",
        f"/api/permits/{permit}",
        f"/api/permits/{permit}/jws",
        f"/permits/{permit}",
        f"/api/statistics/{stats}/answer",
    ):
        response = client.get(url, headers=stranger)
        assert response.status_code == 404, (url, response.status_code)
        assert case not in response.text or url.endswith(case), "a permit's 404 must not name its case"
    for method, url, body in (
        ("PATCH", f"/api/applications/{case}", {"title": "mine now"}),
        ("POST", f"/api/applications/{case}/withdraw", {}),
        ("POST", f"/api/applications/{case}/appeal", {"reasons": "x"}),
        ("POST", f"/api/permits/{permit}/amend", {"reason": "x"}),
        ("POST", f"/api/permits/{permit}/extend", {"valid_until": "2031-12-31", "reason": "x"}),
    ):
        response = client.request(method, url, json=body, headers=stranger)
        assert response.status_code == 404, (url, response.status_code, response.text)
    listed = client.get("/api/applications", headers=stranger).json()["items"]
    assert case not in {item["id"] for item in listed}
    # and the case is unchanged
    assert client.get(f"/api/applications/{case}", headers=owner).json() == before


def test_a_recipient_cannot_reach_another_organisations_delivery(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, values = world
    other = People(_settings()).headers("helsedir-client", Role.RECIPIENT, org=HELSEDIR)
    delivery = values["delivery_id"]
    assert client.get("/api/deliveries", headers=other).json()["items"] == []
    for url in (
        f"/api/deliveries/{delivery}/manifest",
        f"/api/deliveries/{delivery}/files/{values['delivery_name']}",
    ):
        assert client.get(url, headers=other).status_code == 404
    receipt = client.post(f"/api/deliveries/{delivery}/receipt", json={"files": {}}, headers=other)
    assert receipt.status_code == 404
    # SSB still can, and the log names only SSB's reads
    assert client.get(f"/api/deliveries/{delivery}/manifest", headers=values["callers"][R]).status_code == 200
    log = client.get(
        f"/api/deliveries-access-log?permit_id={values['permit_id']}", headers=values["callers"][C]
    ).json()["items"]
    assert {entry["organisation"] for entry in log} == {"971526920"}


def test_a_caseworker_cannot_decide_a_case(world: tuple[TestClient, dict[str, Any]]) -> None:
    client, _ = world
    people = People(_settings())
    from tests.applications.walk import command, create

    case = create(client, people.applicant)
    command(client, people.applicant, case, "submit")
    command(client, people.caseworker, case, "start-pre-screening")
    command(client, people.caseworker, case, "start-processing")
    command(client, people.caseworker, case, "estimate-fee", {"amount": "0"})
    for decision, body in (("approve", {"valid_until": "2029-12-31"}), ("refuse", {"reasons": "no"})):
        response = client.post(f"/api/applications/{case}/{decision}", json=body, headers=people.caseworker)
        assert response.status_code == 403, response.text
        assert "decision" in response.json()["detail"] or "role" in response.json()["detail"]
    page = client.post(
        f"/applications/{case}/do/approve", data={"valid_until": "2029-12-31"}, headers=people.caseworker
    )
    assert page.status_code == 403
    assert client.get(f"/api/applications/{case}", headers=people.caseworker).json()["status"] == "PROCESSING"


def _settings() -> Any:
    from hdab.core import runtime

    return runtime.settings()
