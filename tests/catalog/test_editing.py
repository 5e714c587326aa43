"""Editing through the JSON API (versions, withdrawal) and importing RDF (atomic, safe, idempotent)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hdab.app import create_app
from hdab.catalog.models import CatalogDataset, CatalogDatasetVersion
from hdab.core import audit, clock, runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings
from tests.support import backends


def record_of(client: TestClient, identifier: str) -> dict[str, object]:
    return client.get(f"/api/datasets/{identifier}").json()["record"]  # type: ignore[no-any-return]


def new_record(client: TestClient, identifier: str) -> dict[str, object]:
    record = record_of(client, "npr-tsb")
    record.update(
        identifier=identifier,
        iri="",
        distributions=[
            {**d, "iri": d["iri"].replace("npr-tsb", identifier)}
            for d in record["distributions"]  # type: ignore[attr-defined]
        ],
    )
    return record


def test_create_mints_the_iri_and_starts_version_1(client: TestClient, holder: dict[str, str]) -> None:
    response = client.post(
        "/api/datasets", json={"record": new_record(client, "npr-ny"), "note": "new"}, headers=holder
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["record"]["iri"] == "http://127.0.0.1:8000/datasets/npr-ny"
    assert body["version"] == 1
    assert body["record"]["version"] == "1"
    assert client.get("/datasets/npr-ny?format=ttl").status_code == 200


@pytest.mark.parametrize("identifier", ["npr ny", "npr/ny", "-npr", "npr?x", "æøå"])
def test_identifier_that_is_not_path_safe_is_422(
    client: TestClient, holder: dict[str, str], identifier: str
) -> None:
    response = client.post("/api/datasets", json={"record": new_record(client, identifier)}, headers=holder)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "identifier"


def test_existing_identifier_is_409(client: TestClient, holder: dict[str, str]) -> None:
    response = client.post("/api/datasets", json={"record": new_record(client, "npr-phv")}, headers=holder)
    assert response.status_code == 409


def test_payload_errors_name_the_field(client: TestClient, holder: dict[str, str]) -> None:
    record = new_record(client, "npr-x")
    record["number_of_records"] = "many"
    response = client.post("/api/datasets", json={"record": record}, headers=holder)
    assert response.status_code == 422
    assert any(e["field"] == "record.number_of_records" for e in response.json()["errors"])


@pytest.mark.usefixtures("shapes")
def test_shape_violation_on_save_is_422_with_focus_node(client: TestClient, holder: dict[str, str]) -> None:
    record = new_record(client, "npr-x")
    record["themes"] = ["http://publications.europa.eu/resource/authority/data-theme/ECON"]
    response = client.post("/api/datasets", json={"record": record}, headers=holder)
    assert response.status_code == 422
    assert any("dcat#theme" in e["field"] for e in response.json()["errors"])


def test_roles_decide_who_may_edit(client: TestClient, applicant: dict[str, str]) -> None:
    record = new_record(client, "npr-x")
    assert client.post("/api/datasets", json={"record": record}).status_code == 401
    assert client.post("/api/datasets", json={"record": record}, headers=applicant).status_code == 403
    assert client.delete("/api/datasets/npr-tsb", headers=applicant).status_code == 403


def test_update_makes_a_version_with_author_time_and_note(client: TestClient, seeded: Settings) -> None:
    clock.advance(timedelta(days=3))
    token = DevIdentityProvider(seeded).issue("fhi-editor", [Role.DATA_HOLDER], organisation="983744516")
    holder = {"Authorization": f"Bearer {token}"}
    record = record_of(client, "npr-phbu")
    record["min_typical_age"] = 1
    response = client.put("/api/datasets/npr-phbu", json={"record": record, "note": "ages"}, headers=holder)
    assert response.status_code == 200
    assert response.json()["version"] == 2
    published = response.json()["record"]
    assert published["version"] == "2"
    assert published["modified"] == clock.now_oslo().date().isoformat()
    assert published["issued"] != published["modified"]
    versions = client.get("/api/datasets/npr-phbu/versions").json()
    assert [(v["version"], v["change"], v["note"]) for v in versions] == [
        (1, "created", "catalogue seed"),
        (2, "updated", "ages"),
    ]
    assert versions[1]["author"].startswith("fhi-editor@")
    same = client.put("/api/datasets/npr-phbu", json={"record": record, "note": "again"}, headers=holder)
    assert same.json()["version"] == 2  # nothing changed, no new version


def test_identifier_cannot_change_on_update(client: TestClient, holder: dict[str, str]) -> None:
    record = record_of(client, "npr-phbu")
    record["identifier"] = "npr-other"
    assert client.put("/api/datasets/npr-phbu", json={"record": record}, headers=holder).status_code == 422


def test_withdrawn_dataset_leaves_the_catalogue(client: TestClient, holder: dict[str, str]) -> None:
    response = client.delete("/api/datasets/npr-rehabilitering?note=closed", headers=holder)
    assert response.json() == {"status": "withdrawn", "version": 2}
    assert b"npr-rehabilitering" not in client.get("/catalog?format=nt").content
    assert client.get("/datasets/npr-rehabilitering").status_code == 410
    assert client.delete("/api/datasets/npr-rehabilitering", headers=holder).status_code == 409
    assert client.get("/api/datasets/npr-rehabilitering/versions").json()[-1]["change"] == "withdrawn"


def test_changes_are_audited_and_the_chain_holds(client: TestClient, holder: dict[str, str]) -> None:
    client.delete("/api/datasets/npr-tsb", headers=holder)
    with runtime.database().session() as session:
        result = audit.verify(session)
        assert result.ok
        actions = [e.action for e in session.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.seq))]
    assert actions.count("catalog.dataset.created") == 8
    assert actions[-1] == "catalog.dataset.withdrawn"


# --- import -----------------------------------------------------------------------------------------


def _counts() -> tuple[int, int]:
    with runtime.database().session() as session:
        return (
            session.scalar(select(func.count()).select_from(CatalogDataset)) or 0,
            session.scalar(select(func.count()).select_from(CatalogDatasetVersion)) or 0,
        )


@pytest.mark.parametrize(
    ("key", "media"),
    [
        ("ttl", "text/turtle"),
        ("jsonld", "application/ld+json"),
        ("rdf", "application/rdf+xml"),
        ("nt", "application/n-triples"),
    ],
)
def test_importing_the_export_changes_nothing(
    client: TestClient, holder: dict[str, str], key: str, media: str
) -> None:
    exported = client.get(f"/catalog?format={key}&page_size=1000").content
    before = _counts()
    response = client.post("/api/catalog/import", content=exported, headers={**holder, "Content-Type": media})
    assert response.status_code == 200, response.text
    assert {d["outcome"] for d in response.json()["datasets"]} == {"unchanged"}
    assert _counts() == before


def test_import_creates_and_updates_by_identifier(client: TestClient, holder: dict[str, str]) -> None:
    exported = client.get("/datasets/npr-tsb?format=ttl").text
    changed = exported.replace("/datasets/npr-tsb", "/datasets/npr-tsb2").replace('"npr-tsb"', '"npr-tsb2"')
    response = client.post(
        "/api/catalog/import", content=changed, headers={**holder, "Content-Type": "text/turtle"}
    )
    assert response.json()["datasets"] == [{"identifier": "npr-tsb2", "outcome": "created", "version": 1}]
    renamed = exported.replace("substance abuse", "substance use")
    response = client.post(
        "/api/catalog/import", content=renamed, headers={**holder, "Content-Type": "text/turtle"}
    )
    assert response.json()["datasets"] == [{"identifier": "npr-tsb", "outcome": "updated", "version": 2}]


def test_nonconforming_import_stores_nothing_and_lists_violations(
    client: TestClient, holder: dict[str, str]
) -> None:
    backends.reference()  # the service validates with the tests' reference folder
    example = "dcat/examples/ckanext-dcat_dataset_health.ttl"
    draft = (backends.reference(example) / example).read_bytes()
    good = client.get("/datasets/npr-tsb?format=ttl").text.replace("npr-tsb", "npr-tsb3").encode()
    before = _counts()
    response = client.post(
        "/api/catalog/import", content=good + b"\n" + draft, headers={**holder, "Content-Type": "text/turtle"}
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) > 40  # the draft alone has 45; the good record types some shared IRIs
    assert all(e["field"].split()[0] and ":" in e["field"] for e in errors)  # focus node (and path) named
    assert _counts() == before  # the valid dataset beside it was not stored either


def test_unsafe_and_oversized_uploads_are_refused(
    client: TestClient, holder: dict[str, str], seeded: Settings
) -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    response = client.post(
        "/api/catalog/import", content=xxe, headers={**holder, "Content-Type": "application/rdf+xml"}
    )
    assert response.status_code == 422
    assert "DOCTYPE" in response.json()["detail"]
    remote = json.dumps({"@context": "https://example.org/context.jsonld", "@id": "x"}).encode()
    response = client.post(
        "/api/catalog/import", content=remote, headers={**holder, "Content-Type": "application/ld+json"}
    )
    assert response.status_code == 422
    assert "remote @context" in response.json()["detail"]
    response = client.post(
        "/api/catalog/import", content=b"<a> <b> ", headers={**holder, "Content-Type": "text/turtle"}
    )
    assert response.status_code == 422
    response = client.post(
        "/api/catalog/import", content=b"x,y", headers={**holder, "Content-Type": "text/csv"}
    )
    assert response.status_code == 415
    big = b"#" * (seeded.import_max_bytes + 1)
    response = client.post(
        "/api/catalog/import", content=big, headers={**holder, "Content-Type": "text/turtle"}
    )
    assert response.status_code == 413


def test_triple_limit(holder: dict[str, str], seeded: Settings) -> None:
    from hdab.catalog.rdf.formats import NTRIPLES
    from hdab.catalog.rdf.safe_parse import UploadTooLarge, parse_rdf

    data = "".join(f"<urn:s{i}> <urn:p> <urn:o> .\n" for i in range(11)).encode()
    with pytest.raises(UploadTooLarge, match="more than 10 triples"):
        parse_rdf(data, NTRIPLES, max_bytes=10**6, max_triples=10)


def _many_triples(count: int) -> dict[str, bytes]:
    """The same ``count`` triples in each upload format."""
    subjects = [f"urn:example:s{i}" for i in range(count)]
    return {
        "nt": "".join(f"<{s}> <urn:example:p> <urn:example:o> .\n" for s in subjects).encode(),
        "ttl": ("".join(f"<{s}> <urn:example:p> <urn:example:o> .\n" for s in subjects)).encode(),
        "jsonld": json.dumps(
            [{"@id": s, "urn:example:p": {"@id": "urn:example:o"}} for s in subjects]
        ).encode(),
        "rdf": (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="urn:example:">'
            + "".join(
                f'<rdf:Description rdf:about="{s}"><ex:p rdf:resource="urn:example:o"/></rdf:Description>'
                for s in subjects
            )
            + "</rdf:RDF>"
        ).encode(),
    }


def test_an_upload_over_the_triple_limit_is_refused_while_it_is_parsed(
    seeded: Settings, holder: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """413 after reading the limit's worth of triples, not after reading them all (a 600,000-triple
    upload once took 133 s to be refused)."""
    from rdflib.plugins.stores.memory import Memory

    limit = 1000
    settings = seeded.model_copy(update={"import_max_triples": limit, "rate_limit_import": 100})
    added = {"count": 0}
    real_add = Memory.add

    def counted_add(self: Memory, *args: Any, **kwargs: Any) -> None:
        added["count"] += 1
        real_add(self, *args, **kwargs)

    monkeypatch.setattr(Memory, "add", counted_add)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for key, upload in _many_triples(20 * limit).items():
            added["count"] = 0
            response = client.post(f"/api/catalog/import?format={key}", content=upload, headers=holder)
            assert response.status_code == 413, (key, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert f"more than {limit} triples" in response.json()["detail"]
            assert added["count"] == limit + 1, (key, added["count"])  # parsing stopped at the limit
        # at the limit it is not refused for its size (it holds no dataset, so 422)
        at_limit = _many_triples(limit)["nt"]
        response = client.post("/api/catalog/import?format=nt", content=at_limit, headers=holder)
        assert response.status_code == 422 and "triples" not in response.json()["detail"]


def test_healthz_answers_while_a_large_import_is_parsed(
    client: TestClient, holder: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing and validating an upload is CPU work of seconds: never on the event loop (a
    200,000-triple upload once froze /healthz for 55 s)."""
    from hdab.catalog import routes

    parsing, release = threading.Event(), threading.Event()
    real_parse = routes.parse_rdf

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        parsing.set()
        release.wait(30)  # as long as a large upload takes, until the test lets it go on
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(routes, "parse_rdf", slow_parse)
    answers: list[Any] = []
    upload = _many_triples(10)["nt"]
    importing = threading.Thread(
        target=lambda: answers.append(
            client.post("/api/catalog/import?format=nt", content=upload, headers=holder)
        )
    )
    importing.start()
    watchdog = threading.Timer(15, release.set)  # a blocked event loop fails the test, not hangs it
    watchdog.start()
    try:
        assert parsing.wait(15), "the import did not start parsing"
        started = time.monotonic()
        health = client.get("/healthz")
        waited = time.monotonic() - started
        assert health.status_code == 200 and waited < 5, f"/healthz waited {waited:.1f} s for the import"
        assert not answers, "the import finished before it was released"
    finally:
        release.set()
        watchdog.cancel()
        importing.join(30)
    assert answers and answers[0].status_code == 422  # ten triples, no dataset: parsed after all


def test_json_ld_nested_too_deeply_is_422_not_500(client: TestClient, holder: dict[str, str]) -> None:
    for depth in (100, 900, 100_000):
        for body in (
            "[" * depth + "]" * depth,
            '{"@id": "urn:example:x", "urn:example:p": ' + "[" * depth + "]" * depth + "}",
            '{"@id": "urn:example:x", "urn:example:p": '
            + '{"urn:example:q": ' * depth
            + "1"
            + "}" * depth
            + "}",
        ):
            response = client.post(
                "/api/catalog/import",
                content=body.encode(),
                headers={**holder, "Content-Type": "application/ld+json"},
            )
            assert response.status_code == 422, (depth, response.text[:300])
            assert response.headers["content-type"] == "application/problem+json"
            assert "levels deep" in response.json()["detail"]
