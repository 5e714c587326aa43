"""Message types as data and the wire's cryptography: pure, no database or HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from hdab.reception import crypto
from hdab.reception.types import MESSAGE_TYPES, message_type, resolve
from hdab.registry.api import SOURCES

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("key", sorted(MESSAGE_TYPES))
def test_every_example_follows_its_schema_and_maps_to_its_registry_table(key: tuple[str, str]) -> None:
    kind = MESSAGE_TYPES[key]
    assert kind.problems(kind.example) == []
    assert kind.dataset in SOURCES  # a message type feeds one of the registry's source tables
    items = list(kind.items(kind.example))
    assert any(i.values is None for i in items) and any(i.values is not None for i in items)
    row = next(i.values for i in items if i.values is not None)
    assert row is not None and row["fodselsnummer"] and row["lopenummer"]


def test_v1_and_v2_map_the_same_episode_to_the_same_columns() -> None:
    v1, v2 = message_type("npr-basismelding", "1"), message_type("npr-basismelding", "2")
    assert v1 is not None and v2 is not None
    row1 = next(i.values for i in v1.items(v1.example) if i.values)
    row2 = next(i.values for i in v2.items(v2.example) if i.values)
    assert row1 is not None and row2 is not None
    assert row1["prosedyrekoder"] == row2["prosedyrekoder"] == "FNG05"
    assert row1["innskrivningstidspunkt"] == datetime(2027, 1, 4, 7, 15, tzinfo=UTC)
    assert row1["mottatt_dato"] == date(2027, 1, 4)
    assert row2["drg"] == "127B" and "drg" not in row1
    assert v1.problems(v2.example) != []  # a v2 message is no v1 message


def test_schema_problems_say_where_and_never_what_the_value_was() -> None:
    kind = message_type("kpr-basismelding", "1")
    assert kind is not None
    bad = json.loads(json.dumps(kind.example))
    bad[0]["pasient"]["fodselsnummer"] = "0101001235X"
    problems = kind.problems(bad)
    assert problems and all("0101001235X" not in p.message for p in problems)
    assert problems[0].location == "/0"


@given(st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda c: st.lists(c, max_size=3)))
def test_resolve_never_fails_on_any_document(document: object) -> None:
    assert isinstance(resolve(document, "/a/*/b"), list)


@given(st.binary(max_size=4096))
def test_sealed_payloads_open_to_what_was_sealed(payload: bytes) -> None:
    sealed = crypto.seal(payload, KEY.public_key())
    key = crypto.unwrap(sealed.enc_sym_key, KEY)
    opened = crypto.open_body(sealed.body.encode(), key)
    assert opened == payload and crypto.message_hash(opened) == sealed.msg_hash


@given(st.binary(min_size=1, max_size=512), st.data())
def test_any_changed_byte_of_the_body_is_refused(payload: bytes, data: st.DataObject) -> None:
    sealed = crypto.seal(payload, KEY.public_key())
    raw = bytearray(base64.b64decode(sealed.body))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    key = crypto.unwrap(sealed.enc_sym_key, KEY)
    with pytest.raises(crypto.DecryptFailed):
        crypto.open_body(base64.b64encode(bytes(raw)), key)


def test_a_key_wrapped_for_another_receiver_does_not_unwrap() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sealed = crypto.seal(b"[]", other.public_key())
    with pytest.raises(crypto.UnwrapFailed):
        crypto.unwrap(sealed.enc_sym_key, KEY)


def test_stored_messages_open_only_under_their_own_correlation_id() -> None:
    key = crypto.storage_key("a storage secret of some length, 40 chars")
    sealed = crypto.store_seal(b"payload", key, "id-1")
    assert crypto.store_open(sealed, key, "id-1") == b"payload"
    with pytest.raises(Exception):  # noqa: B017 (cryptography's InvalidTag)
        crypto.store_open(sealed, key, "id-2")
