"""Deliveries to recipients: their own organisation's only, resumable downloads, receipts, an access log,
access ending with the permit, and deletion on the deletion date with a certificate."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from hdab.core import clock, runtime
from hdab.core.auth import Role
from hdab.core.celery_app import celery_app
from hdab.extracts.deliveries.models import Delivery
from tests.applications.factories import People
from tests.extracts.apps import audit_entries
from tests.extracts.test_jobs import PSEUDONYMISED, jobs, registry  # noqa: F401 - shared fixtures
from tests.extracts.test_recurring import SSB, monthly_permit

HELSEDIR = "983544622"


def test_a_recipient_lists_reads_and_resumes_a_download_of_its_own_delivery(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    permit_id = monthly_permit(client, people)
    ssb = people.headers("ssb-client", Role.RECIPIENT, org=SSB)
    listed = client.get(f"/api/deliveries?permit_id={permit_id}", headers=ssb).json()["items"]
    assert [d["number"] for d in listed] == [1] and listed[0]["predecessor"] is None
    delivery = listed[0]
    manifest = client.get(f"/api/deliveries/{delivery['id']}/manifest", headers=ssb)
    assert manifest.status_code == 200 and manifest.json()["delivery_number"] == 1
    name = "npr-somatikk.parquet"
    url = f"/api/deliveries/{delivery['id']}/files/{name}"
    whole = client.get(url, headers=ssb)
    expected = next(f["sha256"] for f in delivery["files"] if f["name"] == name)
    assert (
        whole.headers["x-content-sha256"] == expected
        and hashlib.sha256(whole.content).hexdigest() == expected
    )
    # a download cut short resumes where it stopped
    first = client.get(url, headers={**ssb, "Range": "bytes=0-999"})
    assert first.status_code == 206 and len(first.content) == 1000
    rest = client.get(url, headers={**ssb, "Range": "bytes=1000-"})
    assert rest.status_code == 206
    assert hashlib.sha256(first.content + rest.content).hexdigest() == expected
    receipt = client.post(
        f"/api/deliveries/{delivery['id']}/receipt",
        json={"files": {f["name"]: f["sha256"] for f in delivery["files"]}},
        headers=ssb,
    )
    assert receipt.status_code == 200 and receipt.json()["receipt_mismatch"] is False
    log = client.get(f"/api/deliveries-access-log?permit_id={permit_id}", headers=people.caseworker).json()[
        "items"
    ]
    assert len(log) == 4 and {e["range"] for e in log} == {None, "bytes=0-999", "bytes=1000-"}
    assert all(e["organisation"] == SSB for e in log)


def test_another_organisation_sees_nothing_and_a_bad_checksum_is_flagged(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    monthly_permit(client, people)
    ssb = people.headers("ssb-client", Role.RECIPIENT, org=SSB)
    other = people.headers("hdir-client", Role.RECIPIENT, org=HELSEDIR)
    [delivery] = client.get("/api/deliveries", headers=ssb).json()["items"]
    assert client.get("/api/deliveries", headers=other).json()["items"] == []
    for path in ("manifest", "files/npr-somatikk.parquet"):
        assert client.get(f"/api/deliveries/{delivery['id']}/{path}", headers=other).status_code == 404
    assert (
        client.get(f"/api/deliveries/{delivery['id']}/files/..%2Fmanifest.json", headers=ssb).status_code
        == 404
    )
    assert client.get("/api/deliveries", headers=people.applicant).status_code == 403
    bad = {f["name"]: "0" * 64 for f in delivery["files"]}
    flagged = client.post(
        f"/api/deliveries/{delivery['id']}/receipt", json={"files": bad}, headers=ssb
    ).json()
    assert flagged["receipt_mismatch"] is True
    assert "npr-somatikk.parquet" in flagged["receipts"][0]["mismatched"]


def test_each_client_of_the_organisation_keeps_its_own_receipt(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    monthly_permit(client, people)
    first = people.headers("ssb-client", Role.RECIPIENT, org=SSB)
    second = people.headers("ssb-analysis-client", Role.RECIPIENT, org=SSB)
    [delivery] = client.get("/api/deliveries", headers=first).json()["items"]
    url = f"/api/deliveries/{delivery['id']}/receipt"
    good = {"files": {f["name"]: f["sha256"] for f in delivery["files"]}}
    bad = {"files": {f["name"]: "0" * 64 for f in delivery["files"]}}
    assert client.post(url, json=good, headers=first).status_code == 200
    both = client.post(url, json=bad, headers=second).json()
    # the second client's receipt is added beside the first, not in its place
    assert [(r["by"].split("@")[0], r["mismatch"]) for r in both["receipts"]] == [
        ("ssb-client", False),
        ("ssb-analysis-client", True),
    ]
    assert both["receipt_mismatch"] is True and all(r["organisation"] == SSB for r in both["receipts"])
    # the same receipt again changes nothing and is not audited twice
    again = client.post(url, json=good, headers=first).json()
    assert again["receipts"] == both["receipts"]
    # a client that fetched again and now confirms replaces only its own receipt
    fixed = client.post(url, json=good, headers=second).json()
    assert [r["mismatch"] for r in fixed["receipts"]] == [False, False] and not fixed["receipt_mismatch"]
    assert fixed["receipts"][0] == both["receipts"][0]
    listed = client.get("/api/deliveries", headers=first).json()["items"][0]
    assert listed["receipts"] == fixed["receipts"]
    entries = [e for e in audit_entries(delivery["id"]) if e.action.startswith("delivery.receipt")]
    assert [(e.actor.split("@")[0], e.action, e.details["replaced_own"]) for e in entries] == [
        ("ssb-client", "delivery.receipt_confirmed", False),
        ("ssb-analysis-client", "delivery.receipt_mismatch", False),
        ("ssb-analysis-client", "delivery.receipt_confirmed", True),
    ]
    page = client.get(f"/extracts/permits/{delivery['permit_id']}", headers=people.caseworker).text
    assert "ssb-client@" in page and "ssb-analysis-client@" in page


def test_revocation_ends_access_at_once_and_cancels_jobs(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    permit_id = monthly_permit(client, people)
    ssb = people.headers("ssb-client", Role.RECIPIENT, org=SSB)
    [delivery] = client.get("/api/deliveries", headers=ssb).json()["items"]
    from hdab.core.db import Database
    from hdab.extracts.jobs import runner
    from hdab.extracts.jobs.models import ExtractJob

    rerun = client.post("/api/extracts", json={"permit_id": permit_id}, headers=people.caseworker).json()
    # catch the re-run in the middle: two steps done, the third about to run on a worker
    with runtime.database().session() as session:
        row = session.get(ExtractJob, rerun["id"])
        assert row is not None
        row.status, row.next_step, row.delivery_path = "running", 2, None
        session.query(Delivery).filter(Delivery.id == row.id).delete()
    client.post(f"/api/permits/{permit_id}/revoke", json={"reasons": "breach"}, headers=people.decision_maker)
    assert client.get(f"/api/deliveries/{delivery['id']}/manifest", headers=ssb).status_code == 404
    assert client.get("/api/deliveries", headers=ssb).json()["items"] == []
    database: Database = runtime.database()
    assert runner.run_next(database, rerun["id"]) == "cancelled"  # the next step does not run
    statuses = {j.id: j.status for j in jobs()}
    assert statuses[rerun["id"]] == "cancelled"


def test_delivered_data_are_deleted_on_the_deletion_date_and_not_before(
    app: tuple[TestClient, People],
) -> None:
    from pathlib import Path

    client, people = app
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    permit_id = monthly_permit(client, people)  # valid until 2029-12-31; delete by 2030-06-30
    [job] = jobs()
    folder = Path(str(job.delivery_path))
    clock.set(datetime(2030, 6, 29, 21, 0, tzinfo=UTC))  # 23:00 on 29 June in Oslo
    assert celery_app.tasks["extracts.delete_due"].apply().get() == 0 and folder.exists()
    clock.set(datetime(2030, 6, 29, 22, 30, tzinfo=UTC))  # 00:30 on 30 June in Oslo
    assert celery_app.tasks["extracts.delete_due"].apply().get() == 1
    assert not folder.exists()
    with runtime.database().session() as session:
        [delivery] = session.query(Delivery).filter(Delivery.permit_id == permit_id).all()
        certificate = delivery.deletion_certificate
    assert certificate is not None and certificate["delete_data_by"] == "2030-06-30"
    assert {f["name"] for f in certificate["files"]} >= {"npr-somatikk.parquet", "principals.json"}
    assert all(len(f["sha256"]) == 64 for f in certificate["files"])
    assert (
        celery_app.tasks["extracts.delete_due"].apply().get() == 0
    )  # the certificate stays, nothing more to do


def test_an_extension_moves_the_deletion_date(
    app: tuple[TestClient, People],
) -> None:
    from pathlib import Path

    client, people = app
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    permit_id = monthly_permit(client, people)
    extended = client.post(
        f"/api/permits/{permit_id}/extend",
        json={"valid_until": "2031-12-31", "reason": "more years"},
        headers=people.applicant,
    )
    assert extended.status_code == 200
    client.post(f"/api/permits/{permit_id}/approve-extension", headers=people.decision_maker)
    first = next(j for j in jobs() if j.kind == "permit")
    clock.set(datetime(2030, 7, 1, 12, tzinfo=UTC))  # after the old deletion date, before the new one
    assert celery_app.tasks["extracts.delete_due"].apply().get() == 0
    assert Path(str(first.delivery_path)).exists()
    clock.set(datetime(2032, 6, 30, 12, tzinfo=UTC))  # the new date: 2031-12-31 + 6 months
    assert celery_app.tasks["extracts.delete_due"].apply().get() >= 1
    assert not Path(str(first.delivery_path)).exists()
