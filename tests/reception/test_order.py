"""Order, gaps and idempotency as a property: whatever numbers a unit sends, in whatever order, what is
stored is exactly messages 1..n, each once, and each answer is what the rule says it must be."""

from __future__ import annotations

import json
import uuid
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from hdab.core import runtime
from hdab.core.auth import Principal, Role
from hdab.core.settings import Settings
from hdab.reception import crypto, service
from hdab.reception.domain import Code, Refused
from hdab.reception.keys import receiver_keys
from hdab.reception.models import Message, RecordKey, RecordVersion, Stream
from tests.reception.conftest import HOSPITAL, SOFTWARE, npr_episode

UNIT = Principal(
    subject="epj", issuer="https://helseid", roles=frozenset({Role.SUBMITTER}), organisation=HOSPITAL
)


def submission(settings: Settings, sequence: int, variant: int) -> service.Submission:
    keys = receiver_keys(settings)
    key = keys.published()[0]
    payload = json.dumps([npr_episode(f"EP-{sequence}-{variant}")]).encode()
    sealed = crypto.seal(payload, key.private.public_key())
    headers = {
        **SOFTWARE.headers(),
        "x-data-extraction-date": date(2026, 11, 1 + sequence).strftime("%d.%m.%Y"),
        "x-message-sequence": str(sequence),
    }
    proof = {
        "msg_type": "npr-basismelding",
        "msg_version": "1",
        "msg_hash": sealed.msg_hash,
        "enc_sym_key": sealed.enc_sym_key,
        "enc_key_id": key.id,
        "jti": str(uuid.uuid4()),
    }
    return service.Submission(sealed.body.encode(), headers, proof, UNIT, None)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 1)), max_size=10))
def test_whatever_is_sent_what_is_stored_is_one_to_n_each_once(
    registered: Settings, sends: list[tuple[int, int]]
) -> None:
    storage = crypto.storage_key(registered.reception_storage_key)
    with runtime.database().session() as session:  # one database for every example: start empty
        for model in (RecordVersion, RecordKey, Message, Stream):
            session.execute(delete(model))
    accepted: dict[int, int] = {}  # number -> the variant of its payload stored
    for sequence, variant in sends:
        last = max(accepted, default=0)
        try:
            with runtime.database().session() as session:
                receipt = service.receive(
                    session, submission(registered, sequence, variant), receiver_keys(registered), storage,
                    correlation_id=str(uuid.uuid4()),
                )  # fmt: skip
            outcome: Code | None = None
        except Refused as exc:
            outcome, receipt = exc.errors[0].code, None
        if sequence == last + 1:
            assert outcome is None and receipt is not None and receipt.delivered
            accepted[sequence] = variant
        elif sequence in accepted and accepted[sequence] != variant:
            assert outcome is Code.SEQUENCE_ALREADY_USED
        elif sequence in accepted:
            # the same payload again (fresh key and IV, the same plaintext and hash): the first receipt
            assert outcome is None and receipt is not None and receipt.delivered
        else:
            assert outcome is Code.OUT_OF_ORDER
    with runtime.database().session() as session:
        stored = session.scalars(select(Message.sequence).order_by(Message.sequence)).all()
        assert stored == list(range(1, len(accepted) + 1))
        assert session.scalar(select(func.count()).select_from(RecordVersion)) == len(accepted)


def test_the_same_number_sent_at_once_from_many_threads_is_stored_once(registered: Settings) -> None:
    """Eight senders race with message 1: one payload wins; the same payload again gets its receipt."""
    from concurrent.futures import ThreadPoolExecutor

    storage = crypto.storage_key(registered.reception_storage_key)

    def send(variant: int) -> tuple[str, str | None]:
        try:
            with runtime.database().session() as session:
                receipt = service.receive(
                    session, submission(registered, 1, variant), receiver_keys(registered), storage,
                    correlation_id=str(uuid.uuid4()),
                )  # fmt: skip
            return "delivered", receipt.correlation_id
        except Refused as exc:
            return exc.errors[0].code.name, None

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(send, [0, 0, 0, 0, 1, 1, 1, 1]))
    with runtime.database().session(write=False) as session:
        [stored] = session.scalars(select(Message)).all()
    delivered = [cid for what, cid in outcomes if what == "delivered"]
    refused = [what for what, _ in outcomes if what != "delivered"]
    assert set(delivered) == {stored.id}  # every delivered receipt names the one stored message
    assert len(delivered) == 4 and refused == ["SEQUENCE_ALREADY_USED"] * 4
