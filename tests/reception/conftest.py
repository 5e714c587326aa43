"""Reception's fixtures: a local OpenID provider playing HelseID, a receiver trusting it, registered units.

The sender is hdab's own conformance client (``hdab.reception.client``): client credentials with
private_key_jwt at the provider, the token bound to a DPoP key, real RSA-OAEP and AES-256-GCM.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from hdab.app import create_app
from hdab.core import outbox, runtime
from hdab.core.settings import Settings
from hdab.reception import keys as receiver_keys
from hdab.reception import submitters
from hdab.reception.client import HelseIdToken, Outgoing, Sender, Software
from tests.conftest import _truncate_postgres
from tests.support import backends
from tests.support.oidc_provider import Client, Provider

BASE = "http://testserver"
SCOPE = "nhn:hdab/reception"
PARENT_CLAIM = "helseid://claims/client/claims/orgnr_parent"
SUPPLIER_CLAIM = "helseid://claims/client/claims/orgnr_supplier"
HOSPITAL = "974589001"  # a reporting unit registered for NPR
GP_OFFICE = "974589028"  # a reporting unit registered for KPR
UNREGISTERED = "974589036"
VENDOR = "974589044"  # the EPJ vendor sending for the units
SOFTWARE = Software("Softwarebedrift AS", "PasientJournal123", "1.0.4", "3.0.9")
TODAY = date(2026, 11, 30)


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One receiver key set for the run (3072-bit keys take a moment to make)."""
    path = tmp_path_factory.mktemp("reception-keys") / "keys.json"
    receiver_keys.rotate(path)
    return path


@pytest.fixture
def provider() -> Iterator[Provider]:
    provider = Provider()
    yield provider
    provider.stop()


def add_client(provider: Provider, client_id: str, unit: str, *, supplier: str | None = VENDOR) -> ECKey:
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    claims: dict[str, Any] = {PARENT_CLAIM: unit}
    if supplier:
        claims[SUPPLIER_CLAIM] = supplier
    provider.add_client(
        Client(
            client_id=client_id,
            auth_method="private_key_jwt",
            grant_types=("client_credentials",),
            scope=f"{SCOPE} other",
            public_keys={"keys": [key.as_dict(private=False)]},
            claims=claims,
        )
    )
    return key


@pytest.fixture
def settings(tmp_path: Path, database_url: str, provider: Provider, key_file: Path) -> Iterator[Settings]:
    own_keys = tmp_path / "reception-keys.json"
    own_keys.write_bytes(key_file.read_bytes())
    current = backends.make_settings(
        tmp_path / "data",
        database_url,
        base_url=BASE,
        reception_key_file=own_keys,
        api_issuers=[
            {
                "issuer": provider.issuer,
                "scope_roles": {SCOPE: "submitter"},
                "organisation_claim": PARENT_CLAIM,
                "require_dpop": True,
            }
        ],
    )
    runtime.configure(current)
    yield current
    assert outbox.wait_for_background(120)
    if not current.uses_sqlite:
        _truncate_postgres(runtime.database())
    runtime.database().dispose()


@pytest.fixture
def registered(settings: Settings) -> Settings:
    with runtime.database().session() as session:
        submitters.register(session, "test", HOSPITAL, "Sykehuset", "unit", "spesialisthelsetjeneste", [])
        submitters.register(session, "test", GP_OFFICE, "Legekontoret", "unit", "fastlegekontor", [])
        submitters.register(session, "test", VENDOR, "Softwarebedrift AS", "vendor", "epj-leverandor", [])
    return settings


@pytest.fixture
def app(registered: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(registered), base_url=BASE, raise_server_exceptions=False) as client:
        yield client


def sender_for(app: TestClient, provider: Provider, unit: str, client_id: str | None = None) -> Sender:
    client_key = add_client(provider, client_id or f"epj-{unit}", unit)
    dpop_key = ECKey.generate_key("P-256", private=True)
    token = HelseIdToken(provider.token_endpoint, client_id or f"epj-{unit}", client_key, SCOPE, dpop_key)
    return Sender(app, BASE, token, dpop_key, SOFTWARE, retries=0, sleep=lambda _: None)


@pytest.fixture
def hospital(app: TestClient, provider: Provider) -> Sender:
    return sender_for(app, provider, HOSPITAL)


@pytest.fixture
def gp_office(app: TestClient, provider: Provider) -> Sender:
    return sender_for(app, provider, GP_OFFICE)


def npr_episode(local_id: str, diagnosis: str = "I21.9", person: str = "01818012345") -> dict[str, Any]:
    return {
        "episodeId": local_id,
        "pasient": {"fodselsnummer": person, "kjonn": "2", "fodselsar": 1980, "kommunenummer": "0301"},
        "institusjon": "993467049",
        "fagomrade": "010",
        "omsorgsniva": "3",
        "kontakttype": "1",
        "innskrivningstidspunkt": "2026-11-29T10:00:00+01:00",
        "tilstander": {"hovedtilstand": diagnosis},
        "prosedyrer": ["FNG05", "AAF00"],
    }


def npr(sequence: int, *items: dict[str, Any], version: str = "1", day: date = TODAY) -> Outgoing:
    return Outgoing(json.dumps(list(items)).encode(), "npr-basismelding", version, sequence, day)
