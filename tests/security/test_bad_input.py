"""Bad input gets a 4xx problem saying what to fix, never a 500: bodies nested far deeper than any
real document, and dates and times outside what the calendar or UTC can hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hdab.core import runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from tests.applications.factories import ALL_MET, People, access_form
from tests.applications.walk import command, create
from tests.support import backends, seeding

DEEP = 100_000  # far past any parser's recursion
NESTINGS = {
    "arrays": "[" * DEEP + "]" * DEEP,
    "objects": '{"a": ' * DEEP + "1" + "}" * DEEP,
    "just under the recursion limit": "[" * 950 + "]" * 950,
}


@pytest.fixture
def app(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    from hdab.app import create_app

    database = tmp_path / "hdab.db"
    database.write_bytes(sqlite_template.read_bytes())
    settings = backends.make_settings(tmp_path / "data", f"sqlite:///{database}", rate_limit_import=1000)
    runtime.configure(settings)
    seeding.seed_catalogue(settings)
    idp = DevIdentityProvider(settings)

    def bearer(subject: str, role: Role, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {idp.issue(subject, [role], **claims)}"}

    callers = {
        "applicant": bearer("forsker", Role.APPLICANT),
        "holder": bearer("fhi-editor", Role.DATA_HOLDER, organisation="983744516"),
        "admin": bearer("admin", Role.ADMIN),
    }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, callers
    runtime.database().dispose()


def problem(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["detail"]
    return body


@pytest.mark.parametrize("nesting", NESTINGS)
def test_a_deeply_nested_json_body_is_a_4xx_problem(
    app: tuple[TestClient, dict[str, dict[str, str]]], nesting: str
) -> None:
    client, callers = app
    value = NESTINGS[nesting]
    case_id = create(client, callers["applicant"])
    json_type = {"Content-Type": "application/json"}
    for method, path, caller, body in [
        ("POST", "/api/applications", "applicant", value),
        ("POST", "/api/applications", "applicant", '{"type": "access", "form": ' + value + "}"),
        ("PATCH", f"/api/applications/{case_id}", "applicant", '{"title": ' + value + "}"),
        ("POST", f"/api/applications/{case_id}/withdraw", "applicant", '{"reason": ' + value + "}"),
        ("POST", "/api/datasets", "holder", '{"record": ' + value + "}"),
        ("PUT", "/api/datasets/npr-tsb", "holder", '{"record": {}, "note": ' + value + "}"),
    ]:
        response = client.request(method, path, content=body, headers={**callers[caller], **json_type})
        found = problem(response, 400, 422)
        if response.status_code == 400:
            assert "too deeply" in found["detail"] and found["type"].endswith("/nested-too-deeply"), path
    # RDF as JSON-LD is read by recursive parsers of its own
    response = client.post(
        "/api/catalog/import",
        content=('{"@id": "urn:example:x", "urn:example:p": ' + value + "}").encode(),
        headers={**callers["holder"], "Content-Type": "application/ld+json"},
    )
    assert "levels deep" in problem(response, 422)["detail"]


@pytest.mark.parametrize(
    "value",
    [
        "0000-01-01",
        "99999-01-01",
        "2023-02-30",
        "2023-13-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
        "1e400",
    ],
)
def test_a_time_out_of_range_in_a_query_is_a_422_problem(
    app: tuple[TestClient, dict[str, dict[str, str]]], value: str
) -> None:
    client, _callers = app
    for path in ("/catalog", "/catalog?format=jsonld"):
        body = problem(client.get(path, params={"modified_since": value}), 422)
        assert body["errors"][0]["field"] == "query.modified_since"
    assert client.get("/catalog", params={"modified_since": "0001-01-01"}).status_code == 200
    assert client.get("/catalog", params={"modified_since": "9999-12-31T23:59:59Z"}).status_code == 200


def test_times_out_of_range_in_an_opt_out_file_are_named_by_line(
    app: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, callers = app
    lines = [
        "identifier,time,action",
        "01010012356,2026-01-01T00:00:00+01:00,opt_out",
        "01010012356,0001-01-01T00:00:00+14:00,opt_out",
        "01010012356,9999-12-31T23:59:59-14:00,reverse",
        "01010012356,2023-02-30T00:00:00+01:00,opt_out",
        "01010012356,99999-01-01T00:00:00+01:00,opt_out",
    ]
    response = client.post(
        "/api/optouts/import",
        content="\n".join(lines).encode(),
        headers={**callers["admin"], "Content-Type": "text/csv"},
    )
    body = problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["line 3", "line 4", "line 5", "line 6"]
    assert "years 1 to 9999" in body["errors"][0]["message"]
    assert all("01010012356" not in e["message"] for e in body["errors"])


def test_dates_out_of_range_in_bodies_are_422_problems(
    app: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, _callers = app
    people = People(runtime.settings())
    # a period lies within the years a registry can hold: the calendar's first and last days are
    # refused, saying so, rather than approved and then failing every extract (year 10000)
    response = client.post(
        "/api/applications",
        json={
            "type": "access",
            "form": access_form(access_period={"start": "0001-01-01", "end": "9999-12-31"}),
        },
        headers=people.applicant,
    )
    body = problem(response, 422)
    assert {e["field"] for e in body["errors"]} == {"form.access_period.start", "form.access_period.end"}
    assert "1900-01-01" in response.text and "2199-12-31" in response.text
    case_id = create(
        client, people.applicant, access_form(access_period={"start": "1900-01-01", "end": "2199-12-31"})
    )
    for bad in ("0000-01-01", "2023-02-30", "99999-01-01", "2023-01-01T25:00:00"):
        patch = {"access_period": {"start": bad, "end": "2030-01-01"}}
        response = client.patch(f"/api/applications/{case_id}", json=patch, headers=people.applicant)
        problem(response, 422)
    command(client, people.applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    command(client, people.caseworker, case_id, "start-processing")
    command(client, people.caseworker, case_id, "estimate-fee", {"amount": "0"})
    command(client, people.caseworker, case_id, "record-assessment", {"criteria": ALL_MET})
    for bad in ("0000-01-01", "0001-01-01", "2029-02-30", "9999-12-31", "99999-12-31"):
        response = client.post(
            f"/api/applications/{case_id}/approve", json={"valid_until": bad}, headers=people.decision_maker
        )
        problem(response, 422)
    deadline = {"weeks": 10**12, "reason": "complex case"}
    response = client.post(
        f"/api/applications/{case_id}/extend-deadline", json=deadline, headers=people.caseworker
    )
    problem(response, 422)
