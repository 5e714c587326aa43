"""The opt-out registry (Art. 71): citizens opt out and reverse, an external file is imported whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from hdab.core import clock, runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.extracts.optouts import domain as optout
from hdab.extracts.optouts import service
from hdab.extracts.optouts.models import OptOutEvent
from tests.extracts.conftest import bearer
from tests.extracts.people import people, person_number

T0 = datetime(2026, 5, 1, 10, tzinfo=UTC)


def test_a_citizen_opts_out_and_reverses(client: TestClient, idp: DevIdentityProvider) -> None:
    pid = person_number(12, 3, 1985)
    clock.set(T0)
    me = bearer(idp, "citizen-1", Role.CITIZEN, pid=pid)
    assert client.get("/api/optouts/me", headers=me).json() == {"opted_out": False}
    assert client.post("/api/optouts/me", headers=me).status_code == 201
    assert client.post("/api/optouts/me", headers=me).status_code == 409
    assert client.get("/api/optouts/me", headers=me).json() == {"opted_out": True}
    clock.advance(timedelta(days=30))
    me = bearer(idp, "citizen-1", Role.CITIZEN, pid=pid)
    assert client.delete("/api/optouts/me", headers=me).status_code == 200
    assert client.delete("/api/optouts/me", headers=me).status_code == 409
    person = optout.person_hash(runtime.settings().optout_hash_key, pid)
    with runtime.database().session() as session:
        # the full history answers "was this person opted out at time T?"
        assert not service.opted_out(session, person, T0 - timedelta(seconds=1))
        assert service.opted_out(session, person, T0 + timedelta(days=10))
        assert not service.opted_out(session, person, T0 + timedelta(days=31))


def test_only_citizens_with_a_national_identity_may_opt_out(
    client: TestClient, idp: DevIdentityProvider
) -> None:
    assert client.post("/api/optouts/me").status_code == 401
    assert client.post("/api/optouts/me", headers=bearer(idp, "cw", Role.CASEWORKER)).status_code == 403
    no_pid = client.post("/api/optouts/me", headers=bearer(idp, "c", Role.CITIZEN))
    assert no_pid.status_code == 403 and "pid" in no_pid.json()["detail"]


def test_identifiers_are_stored_only_as_keyed_hashes(client: TestClient, idp: DevIdentityProvider) -> None:
    pid = person_number(5, 6, 1970)
    client.post("/api/optouts/me", headers=bearer(idp, "c", Role.CITIZEN, pid=pid))
    with runtime.database().engine.connect() as connection:
        dump = str(connection.execute(text("SELECT * FROM optout_events")).all())
        audit_dump = str(connection.execute(text("SELECT * FROM audit_entries")).all())
    assert pid not in dump and pid not in audit_dump
    assert optout.person_hash(runtime.settings().optout_hash_key, pid) in dump


def _csv(rows: list[tuple[str, str, str]]) -> bytes:
    return ("identifier,time,action\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)).encode()


def test_an_invalid_file_is_refused_whole_with_line_numbers(
    client: TestClient, idp: DevIdentityProvider
) -> None:
    admin = {**bearer(idp, "admin", Role.ADMIN), "Content-Type": "text/csv"}
    good = people(3)
    bad_checksum = good[1][:-1] + str((int(good[1][-1]) + 1) % 10)
    body = _csv(
        [
            (good[0], "2026-01-01T10:00:00+01:00", "opt_out"),
            (bad_checksum, "2026-01-02T10:00:00+01:00", "opt_out"),
            (good[2], "yesterday", "opt_out"),
            (good[2], "2026-01-03T10:00:00+01:00", "maybe"),
        ]
    )
    response = client.post("/api/optouts/import", content=body, headers=admin)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["line 3", "line 4", "line 5"]
    assert "mod 11" in errors[0]["message"] and bad_checksum not in response.text
    with runtime.database().session() as session:
        assert session.scalars(select(OptOutEvent)).first() is None


def test_an_import_counts_reversals_and_is_idempotent(client: TestClient, idp: DevIdentityProvider) -> None:
    admin = {**bearer(idp, "admin", Role.ADMIN), "Content-Type": "text/csv"}
    a, b, c = people(3)
    body = _csv(
        [
            (a, "2026-01-01T10:00:00+01:00", "opt_out"),
            (b, "2026-01-01T10:00:00+01:00", "opt_out"),
            (b, "2026-03-01T10:00:00+01:00", "reverse"),
            (c, "2026-06-01T10:00:00+02:00", "opt_out"),
        ]
    )
    first = client.post("/api/optouts/import", content=body, headers=admin)
    assert first.status_code == 200 and first.json()["added"] == 4
    assert client.post("/api/optouts/import", content=body, headers=admin).json()["added"] == 0
    key = runtime.settings().optout_hash_key
    h = {p: optout.person_hash(key, p) for p in (a, b, c)}
    with runtime.database().session() as session:
        feb = service.opted_out_at(session, datetime(2026, 2, 1, tzinfo=UTC), clock.now())
        apr = service.opted_out_at(session, datetime(2026, 4, 1, tzinfo=UTC), clock.now())
        jul = service.opted_out_at(session, datetime(2026, 7, 1, tzinfo=UTC), clock.now())
    assert feb == {h[a], h[b]} and apr == {h[a]} and jul == {h[a], h[c]}
    assert (
        client.post(
            "/api/optouts/import", content=body, headers=bearer(idp, "cw", Role.CASEWORKER)
        ).status_code
        == 403
    )


def test_a_file_without_the_header_is_refused(client: TestClient, idp: DevIdentityProvider) -> None:
    admin = {**bearer(idp, "admin", Role.ADMIN), "Content-Type": "text/csv"}
    response = client.post("/api/optouts/import", content=b"fnr;when\n", headers=admin)
    assert response.status_code == 422 and "identifier,time,action" in response.json()["errors"][0]["message"]
