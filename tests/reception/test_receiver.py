"""The receiver end to end: a token from a local HelseID, real DPoP, RSA-OAEP, AES-GCM and database."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hdab.core import runtime
from hdab.reception import crypto
from hdab.reception.client import MESSAGE, Outgoing, Sender, proof
from hdab.reception.domain import MAX_BODY_BYTES
from hdab.reception.models import Message, RecordKey, RecordVersion, Rejection, Stream
from tests.reception.conftest import (
    BASE,
    HOSPITAL,
    SOFTWARE,
    TODAY,
    UNREGISTERED,
    VENDOR,
    npr,
    npr_episode,
    sender_for,
)
from tests.support.oidc_provider import Provider

PERSON = "01818012345"


def codes(receipt: dict[str, Any]) -> list[int]:
    return [e["errorCode"] for e in receipt["errors"]]


def post(
    app: TestClient,
    sender: Sender,
    message: Outgoing,
    *,
    claims: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    path: str = MESSAGE,
) -> Any:
    """One POST built by hand, to send what a conforming client never would."""
    kid, public = sender.receiver_key()
    sealed = crypto.seal(message.payload, public)
    token = sender.token()
    bound = {
        "msg_type": message.message_type,
        "msg_version": message.version,
        "msg_hash": sealed.msg_hash,
        "enc_sym_key": sealed.enc_sym_key,
        "enc_key_id": kid,
        **(claims or {}),
    }
    sent = {
        "Authorization": f"DPoP {token}",
        "DPoP": proof(sender.dpop_key, "POST", BASE + path, token, **bound),
        "x-data-extraction-date": message.extraction.strftime("%d.%m.%Y"),
        "x-message-sequence": str(message.sequence),
        **SOFTWARE.headers(),
        **(headers or {}),
    }
    return app.post(path, content=body if body is not None else sealed.body.encode(), headers=sent)


def count(model: Any) -> int:
    with runtime.database().session(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_keys_are_published_in_slash_shape(app: TestClient) -> None:
    keys = app.get("/api/reception/keys").json()
    assert len(keys) == 1
    assert set(keys[0]) == {"id", "expirationDate", "publicKey"}
    assert keys[0]["publicKey"].startswith("-----BEGIN PUBLIC KEY-----")
    assert len(keys[0]["id"]) == 40


def test_message_types_are_served_with_schema_and_example(app: TestClient) -> None:
    listed = app.get("/api/reception/types").json()
    assert {(t["type"], t["version"]) for t in listed} >= {
        ("npr-basismelding", "1"),
        ("npr-basismelding", "2"),
        ("kpr-basismelding", "1"),
    }
    v2 = next(t for t in listed if t["version"] == "2")
    schema = app.get(v2["schema_url"])
    assert schema.status_code == 200 and schema.headers["content-type"] == "application/schema+json"
    assert schema.json()["$id"] == "urn:hdab:reception:npr-basismelding:2"
    assert app.get(v2["example_url"]).json()[0]["prosedyrer"][0]["kodeverk"] == "NCSP"
    assert app.get("/api/reception/types/npr-basismelding/9/schema").status_code == 404


def test_a_delivered_message_is_stored_before_the_receipt_and_versioned(
    app: TestClient, hospital: Sender
) -> None:
    outcome = hospital.send(npr(1, npr_episode("EP-1"), npr_episode("EP-2"), {"slettet": ["EP-never"]}))
    assert outcome.status == 200, outcome.receipt
    assert outcome.receipt == {"delivered": True, "errors": [], "records": 2, "deletions": 1, "sequence": 1}
    assert outcome.correlation_id
    with runtime.database().session(write=False) as session:
        message = session.get(Message, outcome.correlation_id)
        assert message is not None
        assert (message.unit, message.supplier, message.sequence, message.dataset) == (
            HOSPITAL,
            VENDOR,
            1,
            "npr-somatikk",
        )
        assert message.software["x-vendor-name"] == "Softwarebedrift AS"
        assert PERSON.encode() not in message.sealed  # kept encrypted under the storage key
        key = crypto.storage_key(runtime.settings().reception_storage_key)
        stored = json.loads(crypto.store_open(message.sealed, key, message.id))
        assert stored[0]["episodeId"] == "EP-1"
        versions = session.execute(
            select(
                RecordKey.local_id, RecordVersion.version, RecordVersion.deleted, RecordVersion.recorded_at
            )
            .join(RecordVersion, RecordVersion.key_id == RecordKey.id)
            .order_by(RecordKey.local_id)
        ).all()
        # a deletion of a record never received is kept as what the unit said: a tombstone
        assert [(v[0], v[1], v[2]) for v in versions] == [
            ("EP-1", 1, False),
            ("EP-2", 1, False),
            ("EP-never", 1, True),
        ]
        assert all(v[3] == message.received_at for v in versions)


def test_a_correction_and_a_deletion_are_new_versions_nothing_overwritten(hospital: Sender) -> None:
    assert hospital.send(npr(1, npr_episode("EP-1"))).delivered
    assert hospital.send(npr(2, npr_episode("EP-1", "I10"))).delivered
    assert hospital.send(npr(3, {"slettet": ["EP-1"]})).delivered
    with runtime.database().session(write=False) as session:
        versions = session.execute(
            select(RecordVersion.version, RecordVersion.deleted).order_by(RecordVersion.version)
        ).all()
        assert [tuple(v) for v in versions] == [(1, False), (2, False), (3, True)]
        assert session.scalar(select(RecordKey.latest_version)) == 3


def test_the_same_message_twice_gets_the_same_receipt_and_is_stored_once(hospital: Sender) -> None:
    message = npr(1, npr_episode("EP-1"))
    first = hospital.send(message)
    again = hospital.send(message)
    assert first.delivered and again.delivered
    assert again.correlation_id == first.correlation_id
    assert again.receipt == first.receipt
    assert count(Message) == 1 and count(RecordVersion) == 1


def test_order_no_gaps_no_reuse(hospital: Sender) -> None:
    assert hospital.send(npr(1, npr_episode("EP-1"))).delivered
    gap = hospital.send(npr(3, npr_episode("EP-3")))
    assert gap.status == 409 and codes(gap.receipt) == [2101]
    assert gap.receipt["errors"][0]["errorDetails"] == {"expected": 2, "received": 3}
    reused = hospital.send(npr(1, npr_episode("EP-other")))
    assert reused.status == 409 and codes(reused.receipt) == [2102]
    backwards = hospital.send(npr(2, npr_episode("EP-2"), day=TODAY.replace(day=1)))
    assert backwards.status == 409 and codes(backwards.receipt) == [2103]
    assert hospital.send(npr(2, npr_episode("EP-2"))).delivered
    with runtime.database().session(write=False) as session:
        stream = session.get(Stream, (HOSPITAL, "npr-basismelding"))
        assert stream is not None and stream.last_sequence == 2 and stream.messages == 2
        assert session.scalar(select(func.count()).select_from(Rejection)) == 3


def test_v1_and_v2_feed_one_series_of_one_record(hospital: Sender) -> None:
    assert hospital.send(npr(1, npr_episode("EP-1"))).delivered
    v2 = npr_episode("EP-1")
    v2["prosedyrer"] = [{"kode": "FNG05", "kodeverk": "NCSP"}]
    v2["drg"] = {"kode": "127B", "poeng": 1.2}
    assert hospital.send(npr(2, v2, version="2")).delivered
    wrong = hospital.send(npr(3, npr_episode("EP-1"), version="2"))  # a v1 record in a v2 message
    assert codes(wrong.receipt) == [2008]
    assert count(RecordKey) == 1 and count(RecordVersion) == 2


def test_a_schema_failure_names_the_places_and_never_echoes_a_value(hospital: Sender) -> None:
    bad = npr_episode("EP-1")
    bad["pasient"]["fodselsnummer"] = "1234567890X"
    del bad["fagomrade"]
    outcome = hospital.send(npr(1, bad))
    assert outcome.status == 400 and codes(outcome.receipt) == [2008]
    details = outcome.receipt["errors"][0]["errorDetails"]
    assert {d["Location"] for d in details} >= {"/0"}
    assert "1234567890X" not in json.dumps(outcome.receipt)
    assert count(Message) == 0


def test_a_record_twice_in_one_message_is_refused(hospital: Sender) -> None:
    outcome = hospital.send(npr(1, npr_episode("EP-1"), {"slettet": ["EP-1"]}))
    assert codes(outcome.receipt) == [2104] and count(Message) == 0


def test_who_may_send_what(app: TestClient, provider: Provider, gp_office: Sender) -> None:
    refused = gp_office.send(npr(1, npr_episode("EP-1")))  # a GP office sends no NPR
    assert refused.status == 403 and codes(refused.receipt) == [2001]
    stranger = sender_for(app, provider, UNREGISTERED)
    assert codes(stranger.send(npr(1, npr_episode("EP-1"))).receipt) == [2001]
    assert count(Message) == 0


def test_headers_are_checked_first(app: TestClient, hospital: Sender) -> None:
    missing = post(app, hospital, npr(1, npr_episode("EP-1")), headers={"x-vendor-name": ""})
    assert missing.status_code == 400 and codes(missing.json()) == [1001]
    assert missing.headers["x-correlation-id"]
    bad_date = post(
        app, hospital, npr(1, npr_episode("EP-1")), headers={"x-data-extraction-date": "2026-11-30"}
    )
    assert codes(bad_date.json()) == [1002]
    bad_sequence = post(app, hospital, npr(1, npr_episode("EP-1")), headers={"x-message-sequence": "0"})
    assert codes(bad_sequence.json()) == [1002]


def test_the_proof_binds_the_payload(app: TestClient, hospital: Sender) -> None:
    message = npr(1, npr_episode("EP-1"))
    other_hash = crypto.message_hash(b"[]")
    assert codes(post(app, hospital, message, claims={"msg_hash": other_hash}).json()) == [1006]
    assert codes(post(app, hospital, message, claims={"msg_hash": "short"}).json()) == [1005]
    assert codes(post(app, hospital, message, claims={"enc_key_id": "0" * 40}).json()) == [1004]
    wrapped = crypto.b64url(b"\x00" * 384)
    assert codes(post(app, hospital, message, claims={"enc_sym_key": wrapped}).json()) == [1008]
    assert codes(
        post(app, hospital, message, claims={"msg_type": "npr-basismelding", "msg_version": "7"}).json()
    ) == [1003]
    # the body of another message under this proof: it does not open under the wrapped key
    other = crypto.seal(b"[]", hospital.receiver_key()[1]).body.encode()
    assert codes(post(app, hospital, message, body=other).json()) == [1009]
    assert count(Message) == 0


def test_a_proof_is_used_once_and_a_bearer_token_is_not_enough(app: TestClient, hospital: Sender) -> None:
    message = npr(1, npr_episode("EP-1"))
    kid, public = hospital.receiver_key()
    sealed = crypto.seal(message.payload, public)
    token = hospital.token()
    dpop = proof(
        hospital.dpop_key,
        "POST",
        BASE + MESSAGE,
        token,
        msg_type="npr-basismelding",
        msg_version="1",
        msg_hash=sealed.msg_hash,
        enc_sym_key=sealed.enc_sym_key,
        enc_key_id=kid,
    )
    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": dpop,
        "x-data-extraction-date": TODAY.strftime("%d.%m.%Y"),
        "x-message-sequence": "1",
        **SOFTWARE.headers(),
    }
    assert app.post(MESSAGE, content=sealed.body, headers=headers).status_code == 200
    replay = app.post(MESSAGE, content=sealed.body, headers=headers)
    assert replay.status_code == 401 and codes(replay.json()) == [2100]
    assert "replay" in replay.json()["errors"][0]["errorMessage"]
    bearer = app.post(MESSAGE, content=sealed.body, headers={**headers, "Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401 and codes(bearer.json()) == [2100]
    assert count(Message) == 1


def test_over_15_mb_is_a_receipt_with_the_size_error(app: TestClient, hospital: Sender) -> None:
    response = post(app, hospital, npr(1, npr_episode("EP-1")), body=b"A" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.json()["delivered"] is False and codes(response.json()) == [2009]
    assert response.headers["x-correlation-id"]
    # the app's own 1 MiB limit does not stand in front of it: 2 MB reaches the receiver's checks
    near = post(app, hospital, npr(1, npr_episode("EP-1")), body=base64.b64encode(b"x" * 2_000_000))
    assert codes(near.json()) == [1009]


def test_validate_checks_everything_and_stores_nothing(hospital: Sender) -> None:
    good = hospital.send(npr(1, npr_episode("EP-1")), dry_run=True)
    assert good.status == 200
    assert good.receipt == {
        "delivered": False,
        "errors": [],
        "records": 1,
        "deletions": 0,
        "sequence": 1,
        "dryRun": True,
        "valid": True,
    }
    bad = hospital.send(npr(2, npr_episode("EP-1")), dry_run=True)
    assert codes(bad.receipt) == [2101] and bad.receipt["valid"] is False
    assert count(Message) == 0 and count(Stream) == 0 and count(Rejection) == 0


def test_the_proof_of_a_refused_message_is_used_up_too(app: TestClient, hospital: Sender) -> None:
    message = npr(2, npr_episode("EP-1"))  # out of order: refused
    kid, public = hospital.receiver_key()
    sealed = crypto.seal(message.payload, public)
    token = hospital.token()
    bound = {"msg_hash": sealed.msg_hash, "enc_sym_key": sealed.enc_sym_key, "enc_key_id": kid}
    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": proof(hospital.dpop_key, "POST", BASE + MESSAGE, token, msg_type="npr-basismelding",
                      msg_version="1", **bound),
        "x-data-extraction-date": TODAY.strftime("%d.%m.%Y"),
        "x-message-sequence": "2",
        **SOFTWARE.headers(),
    }  # fmt: skip
    assert codes(app.post(MESSAGE, content=sealed.body, headers=headers).json()) == [2101]
    assert hospital.send(npr(1, npr_episode("EP-0"))).delivered  # now message 2 would be in order
    replay = app.post(MESSAGE, content=sealed.body, headers=headers)
    assert replay.status_code == 401 and codes(replay.json()) == [2100]
    assert count(Message) == 1
