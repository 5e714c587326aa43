"""The logs of a full run hold no token, key, identifier or secret.

The run: staff and researcher sign in, an application becomes a permit, the extract runs and is
delivered to SSB, a statistics request is answered (the ``world``); then a citizen signs in through
OpenID Connect and opts out, SSB's machine client fetches a DPoP-bound token and downloads its file,
an admin imports an opt-out file, and invalid tokens are tried. Every log record of the service at
DEBUG is captured and searched. Records of the test's own HTTP client (the browser and the machine
client, on the main thread) and of the local identity provider (werkzeug) are not the service's.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from sqlalchemy import select

from hdab.app import create_app
from hdab.core import runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.identifiers import UUID, InvalidIdentifier, person_number_kind
from hdab.core.logs import QueryRedactor
from hdab.core.models import SignInSession
from tests.core.test_machine_tokens import dpop, fetch_token, proof
from tests.security.conftest import CITIZEN_PID, SSB
from tests.support.forms import csrf_token
from tests.support.oidc_provider import Provider, machine_client, web_client

BASE = "http://testserver"
ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("werkzeug"):
            return  # the identity provider's own log
        if record.name.startswith("httpx") and record.threadName == "MainThread":
            return  # the test's browser and machine client, not the service
        self.lines.append(self.format(record))


@pytest.fixture
def service_logs() -> Iterator[Capture]:
    capture = Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture)
    root.setLevel(level)


def test_a_full_run_logs_no_secret(
    service_logs: Capture, world: tuple[TestClient, dict[str, Any]], tmp_path: Path
) -> None:
    client, values = world
    base_settings = runtime.settings()
    secrets: dict[str, str] = {
        "secret key": base_settings.secret_key,
        "pseudonym master key": base_settings.pseudonym_master_key,
        "opt-out hash key": base_settings.optout_hash_key,
    }
    for role, headers in values["callers"].items():
        if headers:
            secrets[f"{role} token"] = headers["Authorization"].split(" ", 1)[1]
    secrets["dev idp key"] = _private_part(base_settings.data_dir / "dev-idp" / "signing-key.json")
    assert base_settings.permit_signing_key_file is not None
    for number, key in enumerate(json.loads(base_settings.permit_signing_key_file.read_text())["keys"]):
        secrets[f"permit signing key {number}"] = key["d"]

    provider = Provider()
    try:
        run_the_rest(client, values, provider, tmp_path, secrets)
    finally:
        provider.stop()

    assert base_settings.registry_dir is not None
    persons = pq.read_table(
        base_settings.registry_dir / "npr-somatikk", partitioning=None, columns=["fodselsnummer"]
    )
    identifiers = set(persons["fodselsnummer"].to_pylist()) | {CITIZEN_PID}

    text = "\n".join(service_logs.lines)

    assert "signed in through idporten" in text and "extracts.run_job" in text, "the capture saw the run"
    found = [name for name, value in secrets.items() if value and len(value) >= 8 and value in text]
    assert not found, f"secrets in the log: {found}"
    numbers = {n for n in ELEVEN_DIGITS.findall(UUID.sub("-", text)) if _is_person_number(n)}  # task ids
    assert not numbers, f"person numbers in the log: {sorted(numbers)[:5]}"
    assert not [i for i in identifiers if i in text]


def run_the_rest(
    client: TestClient, values: dict[str, Any], provider: Provider, tmp_path: Path, secrets: dict[str, str]
) -> None:
    machine_key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    secrets["machine client key"] = str(machine_key.as_dict(private=True)["d"])
    provider.add_client(machine_client("ssb-deliveries", machine_key, "hdab:deliveries", SSB))
    provider.add_client(
        web_client(
            "hdab-citizens",
            f"{BASE}/auth/idporten/callback",
            secret="citizen-client-secret-value",
            scope="openid profile",
        )
    )
    secrets["client secret"] = "citizen-client-secret-value"
    provider.add_user("idporten-ola", pid=CITIZEN_PID, name="Ola Nordmann")
    provider.login_as = "idporten-ola"
    current = runtime.settings()
    settings = type(current).model_validate(
        current.model_dump()
        | {
            "base_url": BASE,
            "oidc_providers": [
                {
                    "name": "idporten",
                    "title": "ID-porten",
                    "issuer": provider.issuer,
                    "client_id": "hdab-citizens",
                    "client_secret": "citizen-client-secret-value",
                    "scope": "openid profile",
                    "mapping": {"default_roles": ["citizen"]},
                }
            ],
            "api_issuers": [{"issuer": provider.issuer, "scope_roles": {"hdab:deliveries": "recipient"}}],
        }
    )
    runtime.configure(settings)
    idp = DevIdentityProvider(settings)  # the issuer moved with the base URL: new staff tokens
    admin = idp.issue("admin", [Role.ADMIN])
    ssb = idp.issue("ssb-client", [Role.RECIPIENT], organisation=SSB)
    secrets.update({"admin token": admin, "ssb token": ssb})
    with TestClient(create_app(settings), base_url=BASE) as browser:
        # a citizen signs in with OpenID Connect and opts out
        authorize = browser.get("/auth/idporten/login", follow_redirects=False).headers["location"]
        back = urlsplit(httpx.get(authorize, follow_redirects=False).headers["location"])
        secrets["authorization code"] = parse_qs(back.query)["code"][0]
        secrets["state"] = parse_qs(back.query)["state"][0]
        secrets["nonce"] = parse_qs(urlsplit(authorize).query)["nonce"][0]
        assert browser.get(f"{back.path}?{back.query}", follow_redirects=False).status_code == 303
        secrets["session id"] = str(browser.cookies.get("hdab_sid"))
        with runtime.database().session() as session:
            secrets["id token"] = session.scalars(select(SignInSession.id_token)).one()
        token = csrf_token(browser)
        secrets["csrf token"] = token
        assert browser.post("/api/optouts/me", json={}, headers={"X-CSRF-Token": token}).status_code in (
            200,
            201,
        )
        assert browser.post("/signout", data={"csrf_token": token}, follow_redirects=False).status_code == 200

        # SSB's machine client: a DPoP-bound token, a download
        holder = ECKey.generate_key("P-256", private=True, auto_kid=True)
        secrets["dpop key"] = str(holder.as_dict(private=True)["d"])
        access = fetch_token(provider, machine_key, scope="hdab:deliveries", dpop_key=holder)
        secrets["machine access token"] = access
        url = f"/api/deliveries/{values['delivery_id']}/files/{values['delivery_name']}"
        used = proof(holder, "GET", BASE + url, access)
        secrets["dpop proof"] = used
        assert browser.get(url, headers=dpop(access, used)).status_code == 200
        assert browser.get(url, headers=dpop(access, used)).status_code == 401  # replayed

        # an admin imports an opt-out file; invalid tokens are tried
        registry = runtime.settings().registry_dir
        assert registry is not None
        some = pq.read_table(registry / "npr-somatikk", partitioning=None, columns=["fodselsnummer"])
        lines = [f"{p},2026-01-05T10:00:00+01:00,opt_out" for p in some["fodselsnummer"].to_pylist()[:20]]
        imported = browser.post(
            "/api/optouts/import",
            content=("\n".join(["identifier,time,action", *lines, "123,not-a-time,opt_out"]) + "\n").encode(),
            headers={"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"},
        )
        assert imported.status_code == 422  # the bad line: nothing imported, lines named by number
        forged = f"Bearer {admin[:-4]}AAAA"
        assert browser.get("/api/me", headers={"Authorization": forged}).status_code == 401
        assert browser.get("/api/deliveries", headers={"Authorization": f"Bearer {ssb}"}).status_code == 200


def _private_part(path: Path) -> str:
    return str(json.loads(path.read_text())["d"])


def _is_person_number(candidate: str) -> bool:
    try:
        person_number_kind(candidate, allow_synthetic=True)
    except InvalidIdentifier:
        return False
    return True


def test_the_access_log_keeps_paths_and_drops_query_strings() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/auth/idporten/callback?code=SECRETCODE&state=S", "1.1", 303),
        None,
    )
    assert QueryRedactor().filter(record)
    assert "SECRETCODE" not in record.getMessage() and "/auth/idporten/callback?…" in record.getMessage()
