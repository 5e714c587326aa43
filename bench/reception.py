"""Thousands of units each sending a day's changes through the real HTTP stack, real cryptography, PostgreSQL.

Set-up (not measured): a fresh PostgreSQL database (beside ``HDAB_BENCH_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``), migrated; the units registered; a local OpenID
provider (the tests' one, playing HelseID) with one client per unit; ``hdab serve`` (one uvicorn
process) as the receiver; a DPoP-bound token per unit, fetched before the clock starts.

Measured, in one run:

- receive: every unit sends one message of ``--records`` records (NPR basismelding v1) through
  ``hdab.reception.client.Sender`` from ``--concurrency`` threads (each unit's messages in order);
  messages/s and records/s sustained, p50/p95 receipt latency (client side);
- floor: the same process-count doing only the receiver's cryptographic checks on the same
  messages (token signature, DPoP proof signature, RSA-OAEP unwrap, AES-GCM open, SHA-256): the
  ratio receive / floor (aim >= 0.5);
- compaction: the received versions into the registry's Parquet (one run, after the grace): time,
  and so the time from receipt until an extract sees a record (grace + schedule + compaction).

Prints medians over ``--rounds`` (each round a new day of messages, numbers 2, 3, ...).

    python -m bench.reception [--units 2000] [--records 20] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

SCOPE = "nhn:hdab/reception"
PARENT = "helseid://claims/client/claims/orgnr_parent"
DAY = date(2026, 11, 2)


def organisation_numbers(count: int) -> list[str]:
    found = []
    number = 70_000_000
    while len(found) < count:
        number += 1
        digits = str(number)
        control = (
            11 - sum(int(d) * w for d, w in zip(digits, (3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        ) % 11
        if control != 10:
            found.append(digits + str(control))
    return found


def payload(unit_index: int, day: int, records: int) -> bytes:
    items = []
    for r in range(records):
        items.append(
            {
                "episodeId": f"EP-{unit_index}-{day}-{r}",
                "pasient": {"fodselsnummer": f"{(unit_index * 7919 + r) % 10**11:011d}", "kjonn": "2",
                            "fodselsar": 1950 + r % 60, "kommunenummer": "0301"},
                "institusjon": "993467049", "fagomrade": "010", "omsorgsniva": "3", "kontakttype": "1",
                "innskrivningstidspunkt": "2026-11-01T10:00:00+01:00",
                "tilstander": {"hovedtilstand": "I21.9", "bitilstander": ["I10"]},
                "prosedyrer": ["FNG05"],
            }
        )  # fmt: skip
    return json.dumps(items).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database(server_url: str) -> str:
    name = f"hdab_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop(server_url: str, url: str) -> None:
    engine = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()

    from joserfc.jwk import ECKey

    from hdab.core import migrate, runtime
    from hdab.core.settings import Settings
    from hdab.reception import compaction, crypto, submitters
    from hdab.reception.client import HelseIdToken, Outgoing, Sender, Software
    from hdab.reception.keys import rotate
    from tests.support.oidc_provider import Client, Provider

    server_url = os.environ.get("HDAB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    work = Path(tempfile.mkdtemp(prefix="hdab-bench-reception-"))
    url = _database(server_url)
    provider = Provider(access_token_seconds=3600)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server: subprocess.Popen[bytes] | None = None
    try:
        migrate.upgrade(url)
        key_file = work / "keys.json"
        rotate(key_file)
        issuers = [
            {"issuer": provider.issuer, "scope_roles": {SCOPE: "submitter"}, "organisation_claim": PARENT}
            | {"require_dpop": True}
        ]
        env = {
            **os.environ,
            "HDAB_ENV": "test",
            "HDAB_DATA_DIR": str(work / "data"),
            "HDAB_DATABASE_URL": url,
            "HDAB_BASE_URL": base,
            "HDAB_RECEPTION_KEY_FILE": str(key_file),
            "HDAB_API_ISSUERS": json.dumps(issuers),
            "HDAB_LOG_LEVEL": "WARNING",
            "HDAB_RATE_LIMIT_TOKEN_FAILURES": "1000000",
        }
        settings = Settings(
            env="test", data_dir=work / "data", database_url=url, base_url=base, reception_key_file=key_file
        )
        runtime.configure(settings)
        units = organisation_numbers(args.units)
        csv = "organisation,name,kind,category,message_types\n" + "".join(
            f"{u},Unit {i},unit,spesialisthelsetjeneste,\n" for i, u in enumerate(units)
        )
        started = time.perf_counter()
        with runtime.database().session() as session:
            submitters.import_csv(session, "bench", csv)
        print(f"reception: registered {len(units)} units in {time.perf_counter() - started:.1f} s")
        hdab = Path(sys.executable).with_name("hdab")
        server = subprocess.Popen(
            [str(hdab), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        software = Software("Bench AS", "BenchEPJ", "1.0", "1.0")
        senders: list[Sender] = []
        http = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=args.concurrency * 2))
        for i, unit in enumerate(units):
            client_key = ECKey.generate_key("P-256", private=True, auto_kid=True)
            public = {"keys": [client_key.as_dict(private=False)]}
            grant = ("client_credentials",)
            provider.add_client(
                Client(f"epj-{i}", "private_key_jwt", grant, SCOPE, public_keys=public, claims={PARENT: unit})
            )
            dpop_key = ECKey.generate_key("P-256", private=True)
            token = HelseIdToken(provider.token_endpoint, f"epj-{i}", client_key, SCOPE, dpop_key)
            token()  # fetched before the clock starts
            senders.append(Sender(http, base, token, dpop_key, software, retries=3, pause=0.2))
        senders[0].receiver_key()
        for sender in senders[1:]:
            sender._key = senders[0]._key

        receive_rates: list[float] = []
        record_rates: list[float] = []
        p50s: list[float] = []
        p95s: list[float] = []
        floors: list[float] = []
        compactions: list[float] = []
        for round_number in range(1, args.rounds + 1):
            day = DAY + timedelta(days=round_number)
            messages = [
                Outgoing(payload(i, round_number, args.records), "npr-basismelding", "1", round_number, day)
                for i in range(len(units))
            ]
            latencies: list[float] = []

            def send(
                index: int, messages: list[Outgoing] = messages, latencies: list[float] = latencies
            ) -> None:
                began = time.perf_counter()
                outcome = senders[index].send(messages[index])
                latencies.append(time.perf_counter() - began)
                if not outcome.delivered:
                    raise RuntimeError(f"not delivered: {outcome.status} {outcome.receipt}")

            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(send, range(len(units))))
            elapsed = time.perf_counter() - started
            receive_rates.append(len(units) / elapsed)
            record_rates.append(len(units) * args.records / elapsed)
            p50s.append(percentile(latencies, 0.5))
            p95s.append(percentile(latencies, 0.95))
            floors.append(_floor(messages, senders, provider, key_file))
            from hdab.core import clock

            clock.set(clock.now() + compaction.COMPACTION_GRACE + timedelta(seconds=1))
            began = time.perf_counter()
            compaction.compact(
                runtime.database(), work / "registry", crypto.storage_key(settings.reception_storage_key)
            )
            compactions.append(time.perf_counter() - began)
            clock.reset()
            print(
                f"reception: round {round_number}: {receive_rates[-1]:.0f} messages/s, {record_rates[-1]:.0f}"
                f" records/s, p50 {p50s[-1] * 1000:.0f} ms, p95 {p95s[-1] * 1000:.0f} ms; crypto floor"
                f" {floors[-1]:.0f} messages/s; compaction {compactions[-1]:.1f} s"
            )
        rate, floor = statistics.median(receive_rates), statistics.median(floors)
        compacted = statistics.median(compactions)
        print(
            f"reception: {len(units)} units x {args.records} records, {args.concurrency} client threads, one"
            f" server process; medians of {args.rounds} rounds:\n"
            f"  receive     {rate:8.0f} messages/s  {statistics.median(record_rates):8.0f} records/s"
            f"  p50 {statistics.median(p50s) * 1000:.0f} ms  p95 {statistics.median(p95s) * 1000:.0f} ms\n"
            f"  crypto only {floor:8.0f} messages/s  (floor; receive / floor = {rate / floor:.2f})\n"
            f"  compaction  {compacted:8.1f} s for {len(units)} messages; receipt -> extract at most"
            f" {compaction.COMPACTION_GRACE.seconds} s grace + 60 s schedule + {compacted:.1f} s\n"
            f"  60,000 messages (a national day) on this node: {60_000 / rate / 60:.1f} minutes"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        provider.stop()
        runtime.database().dispose()
        _drop(server_url, url)


def _floor(messages: list[Any], senders: list[Any], provider: Any, key_file: Path) -> float:
    """Messages/s of the receiver's cryptographic checks alone, on the same messages, in this process."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from hdab.reception import crypto
    from hdab.reception.client import proof
    from hdab.reception.keys import ReceiverKeys

    keys = ReceiverKeys(key_file, create=False)
    kid, public = senders[0].receiver_key()
    private = keys.private(kid)
    issuer_keys = KeySet.import_key_set({"keys": [provider.signing_key.as_dict(private=False)]})
    prepared = []
    for message, sender in zip(messages, senders, strict=True):
        sealed = crypto.seal(message.payload, public)
        token = sender.token()
        bound = {"msg_hash": sealed.msg_hash, "enc_sym_key": sealed.enc_sym_key, "enc_key_id": kid}
        dpop = proof(sender.dpop_key, "POST", "http://x/api/reception/message", token, **bound)
        prepared.append((sealed, token, dpop, sender.dpop_key))
    started = time.perf_counter()
    for sealed, token, dpop, dpop_key in prepared:
        jwt.decode(token, issuer_keys)
        jwt.decode(dpop, dpop_key)
        key = crypto.unwrap(sealed.enc_sym_key, private)
        plain = crypto.open_body(sealed.body.encode(), key)
        assert crypto.message_hash(plain) == sealed.msg_hash
    return len(prepared) / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
