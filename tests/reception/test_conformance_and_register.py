"""The vendors' conformance kit against a receiver served over HTTP; the register of submitters; status."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from hdab.app import create_app
from hdab.core import runtime
from hdab.core.settings import Settings
from hdab.reception import submitters
from hdab.reception.cli import send
from hdab.reception.models import Message, Submitter
from tests.reception.conftest import GP_OFFICE, HOSPITAL, SCOPE, add_client, npr, npr_episode
from tests.support.oidc_provider import Provider


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(registered: Settings) -> Iterator[str]:
    """The receiver on a real port, as a vendor reaches it."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = registered.model_copy(update={"base_url": base})
    runtime.configure(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(10)


def test_hdab_report_send_delivers_and_tests_against_the_real_stack(
    served: str, provider: Provider, tmp_path: Path
) -> None:
    key = add_client(provider, "epj-cli", HOSPITAL)
    key_file = tmp_path / "client.jwk"
    key_file.write_text(json.dumps(key.as_dict(private=True)))
    dpop_file = tmp_path / "dpop.jwk"
    dpop_file.write_text(json.dumps(ECKey.generate_key("P-256", private=True).as_dict(private=True)))
    payload = tmp_path / "message.json"
    payload.write_text(npr(1, npr_episode("EP-1")).payload.decode())
    common = [
        str(payload),
        *("--url", served, "--type", "npr-basismelding", "--version", "1", "--extraction-date", "2026-11-30"),
        *(
            "--token-endpoint",
            provider.token_endpoint,
            "--client-id",
            "epj-cli",
            "--client-key",
            str(key_file),
        ),
        *("--dpop-key", str(dpop_file), "--scope", SCOPE, "--vendor", "Softwarebedrift AS"),
        *("--software", "PasientJournal123", "--software-version", "1.0.4", "--export-version", "3.0.9"),
    ]
    runner = CliRunner()
    tested = runner.invoke(send, [*common, "--sequence", "1", "--test"])
    assert tested.exit_code == 0, tested.output
    assert json.loads(tested.output)["valid"] is True
    sent = runner.invoke(send, [*common, "--sequence", "1"])
    assert sent.exit_code == 0, sent.output
    receipt = json.loads(sent.output)
    assert receipt["delivered"] is True and receipt["correlationId"]
    gap = runner.invoke(send, [*common, "--sequence", "3"])
    assert gap.exit_code == 1 and json.loads(gap.output)["errors"][0]["errorCode"] == 2101
    with runtime.database().session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_sixty_thousand_submitters_import_in_one_go(settings: Settings) -> None:
    lines = ["organisation,name,kind,category,message_types"]
    number = 80_000_000  # eight digits and a mod-11 control digit
    made = 0
    while made < 60_000:
        number += 1
        digits = str(number)
        weights = (3, 2, 7, 6, 5, 4, 3, 2)
        control = (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11) % 11
        if control == 10:
            continue
        organisation = digits + str(control)
        lines.append(f"{organisation},Legekontor {made},unit,fastlegekontor,")
        made += 1
    with runtime.database().session() as session:
        result = submitters.import_csv(session, "test", "\n".join(lines) + "\n")
    assert (result.rows, result.units) == (60_000, 60_000)
    with runtime.database().session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Submitter)) == 60_000
        one = session.scalars(select(Submitter).limit(1)).one()
        assert one.message_types == ["kpr-basismelding"]  # the category's default types


def test_an_import_with_one_bad_row_imports_nothing(settings: Settings) -> None:
    text = (
        "organisation,name,kind,category,message_types\n"
        f"{HOSPITAL},Sykehuset,unit,spesialisthelsetjeneste,\n"
        "123456789,Feil,unit,fastlegekontor,\n"
        f"{GP_OFFICE},Legekontoret,unit,fastlegekontor,ukjent-type\n"
    )
    with pytest.raises(submitters.ImportRefused) as refused, runtime.database().session() as session:
        submitters.import_csv(session, "test", text)
    assert [p.line for p in refused.value.problems] == [3, 4]
    with runtime.database().session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Submitter)) == 0


def test_a_submitter_sees_its_own_status_and_staff_see_any(app: TestClient, hospital: object) -> None:
    from hdab.core.auth import Role
    from hdab.core.devidp import DevIdentityProvider
    from hdab.reception.client import Sender

    assert isinstance(hospital, Sender)
    assert hospital.send(npr(1, npr_episode("EP-1"))).delivered
    hospital.send(npr(3, npr_episode("EP-3")))  # refused: out of order
    idp = DevIdentityProvider(runtime.settings())

    def as_(role: Role, org: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {idp.issue('someone', [role], organisation=org)}"}

    own = app.get("/api/reception/status", headers=as_(Role.SUBMITTER, HOSPITAL)).json()
    assert own["unit"] == HOSPITAL and own["registered"] is True
    assert own["streams"][0]["last_sequence"] == 1 and own["rejected"] == 1 and own["error_rate"] == 0.5
    other = app.get(f"/api/reception/status?unit={GP_OFFICE}", headers=as_(Role.SUBMITTER, HOSPITAL))
    assert other.status_code == 403
    staff = as_(Role.DATA_HOLDER, runtime.settings().registry_organisation)
    assert (
        app.get(f"/api/reception/status?unit={HOSPITAL}", headers=staff).json()["streams"] == own["streams"]
    )
    holder_elsewhere = as_(Role.DATA_HOLDER, GP_OFFICE)
    assert app.get(f"/api/reception/status?unit={HOSPITAL}", headers=holder_elsewhere).status_code == 403


def test_the_registry_staff_pages_and_import(app: TestClient, hospital: object) -> None:
    from hdab.core.auth import Role
    from hdab.core.devidp import DevIdentityProvider
    from hdab.reception.client import Sender

    assert isinstance(hospital, Sender)
    assert hospital.send(npr(1, npr_episode("EP-1"))).delivered
    idp = DevIdentityProvider(runtime.settings())
    staff = {"Authorization": f"Bearer {idp.issue('fhi', [Role.DATA_HOLDER], organisation='983744516')}"}
    page = app.get("/reception", headers=staff)
    assert page.status_code == 200 and HOSPITAL in page.text
    unit = app.get(f"/reception/units/{HOSPITAL}", headers=staff)
    assert unit.status_code == 200 and "npr-basismelding" in unit.text
    csv = "organisation,name,kind,category,message_types\n974589052,Ny klinikk,unit,privat-spesialist,\n"
    imported = app.post(
        "/api/reception/submitters", content=csv, headers={**staff, "Content-Type": "text/csv"}
    )
    assert imported.json() == {"rows": 1, "units": 1, "vendors": 0}
    bad = app.post("/api/reception/submitters", content="nonsense", headers=staff)
    assert bad.status_code == 422
    other = {"Authorization": f"Bearer {idp.issue('x', [Role.DATA_HOLDER], organisation=GP_OFFICE)}"}
    assert app.get("/reception", headers=other).status_code == 403


def test_quality_figures_are_dqv_measurements_on_the_catalogue_dataset(
    app: TestClient, hospital: object, registered: Settings
) -> None:
    from hdab.reception.client import Sender
    from tests.support import seeding

    assert isinstance(hospital, Sender)
    assert (
        app.get("/api/reception/quality/npr-somatikk").status_code == 404
    )  # the catalogue has no such dataset
    seeding.seed_catalogue(registered)
    assert hospital.send(npr(1, npr_episode("EP-1"))).delivered
    hospital.send(npr(3, npr_episode("EP-3")))  # refused: a gap
    response = app.get("/api/reception/quality/npr-somatikk")
    assert response.status_code == 200 and response.headers["content-type"] == "application/ld+json"
    measured = {
        node["dqv:isMeasurementOf"]["@id"].rsplit("-", 1)[0].split("#metric-")[1]: node
        for node in response.json()["@graph"]
        if node["@type"] == "dqv:QualityMeasurement"
    }
    assert set(measured) == {"extraction-to-receipt", "reporting-day", "accepted-message"}  # no watermark yet
    assert measured["accepted-message"]["dqv:value"]["@value"] == 0.5
    assert measured["reporting-day"]["dqv:value"]["@value"] == 1.0
    dataset = {node["dqv:computedOn"]["@id"] for node in measured.values()}
    assert dataset == {f"{registered.base_url}/datasets/npr-somatikk"}
    assert app.get("/api/reception/quality/kpr-kuhr").status_code == 200
    assert app.get("/api/reception/quality/npr-somatikk-x").status_code == 404
