"""What the service lacks is said, not only logged: /readyz names it, the home page tells who can act."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hdab.app import create_app
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Environment, Settings
from hdab.reception.keys import rotate
from hdab.registry import synth
from tests.support import backends


@pytest.fixture
def bare(tmp_path: Path, sqlite_template: Path) -> Settings:
    """A fresh machine: no official shapes anywhere, no registry data."""
    import shutil

    shutil.copy(sqlite_template, tmp_path / "hdab.db")
    return backends.make_settings(tmp_path / "data", f"sqlite:///{tmp_path}/hdab.db").model_copy(
        update={"reference_dir": None, "env": Environment.DEV}
    )


@pytest.fixture
def client(bare: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(bare)) as client:
        yield client


def signed_in(settings: Settings, *roles: Role) -> dict[str, str]:
    token = DevIdentityProvider(settings).issue("someone", list(roles))
    return {"Authorization": f"Bearer {token}"}


def test_readyz_stays_ready_in_dev_and_names_what_is_missing(bare: Settings, client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["shapes"] == "missing"
    assert body["checks"]["registry"] == "empty"
    notes = {n["component"]: n["detail"] for n in body["notices"]}
    assert "hdab catalog fetch-shapes" in notes["shapes"]
    assert "saved without the validation" in notes["shapes"]
    assert "npr-somatikk" in notes["registry"] and "hdab synth" in notes["registry"]
    assert str(bare.data_dir) not in response.text and "var/" not in response.text  # no paths


def test_readyz_says_when_the_registry_is_synthetic(bare: Settings, client: TestClient) -> None:
    assert bare.registry_dir is not None
    synth.generate(bare.registry_dir, 50, 2025, 3)
    body = client.get("/readyz").json()
    assert body["checks"]["registry"] == "ok (synthetic test data)"
    assert [n["component"] for n in body["notices"]] == ["shapes"]


def test_readyz_names_the_reference_folder_the_shapes_come_from(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    root = backends.reference()
    settings = sqlite_settings.model_copy(update={"reference_dir": root})
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json()["checks"]["shapes"] == "ok (HDAB_REFERENCE_DIR)"


@pytest.mark.parametrize(
    ("roles", "sees_shapes", "sees_registry"),
    [
        ((Role.DATA_HOLDER,), True, True),
        ((Role.ADMIN,), True, True),
        ((Role.CASEWORKER,), False, True),
        ((Role.APPLICANT,), False, False),
        ((Role.CITIZEN,), False, False),
    ],
)
def test_home_page_banner_for_those_who_can_act(
    bare: Settings, client: TestClient, roles: tuple[Role, ...], sees_shapes: bool, sees_registry: bool
) -> None:
    page = client.get("/?lang=en", headers=signed_in(bare, *roles)).text
    assert ("hdab catalog fetch-shapes" in page) is sees_shapes
    assert ("The registry holds no data for" in page) is sees_registry
    assert ('role="status"' in page) is (sees_shapes or sees_registry)


def test_banner_in_bokmaal_and_never_for_visitors(bare: Settings, client: TestClient) -> None:
    page = client.get("/", headers={**signed_in(bare, Role.ADMIN), "Accept-Language": "nb-NO"}).text
    assert "De offisielle DCAT-AP- og HealthDCAT-AP-reglene (SHACL) er ikke installert" in page
    assert 'lang="nb"' in page
    assert "fetch-shapes" not in client.get("/").text  # signed out: nothing about the internals


def test_production_without_shapes_is_not_ready(tmp_path: Path, postgres_url: str) -> None:
    settings = backends.make_settings(tmp_path / "data", postgres_url).model_copy(
        update={
            "env": Environment.PRODUCTION,
            "reference_dir": None,
            "dev_idp": False,
            "base_url": "https://hdab.example.no",
            "secret_key": "s" * 40,
            "pseudonym_master_key": "p" * 40,
            "optout_hash_key": "o" * 40,
            "audit_mac_key": "a" * 40,
            "reception_storage_key": "r" * 40,
        }
    )
    assert settings.reception_key_file is not None
    rotate(settings.reception_key_file)  # production makes no receiver key itself
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "not ready: shapes missing"
    registry = next(n for n in response.json()["notices"] if n["component"] == "registry")
    assert "hdab synth" not in registry["detail"]  # production loads the registry; no synthetic data
    assert response.json()["checks"]["database"] == "ok"


def test_a_real_outage_is_named_alone_outside_production(bare: Settings) -> None:
    down = bare.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(down)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "not ready: broker unreachable"  # the missing shapes are a notice
    assert response.json()["checks"]["shapes"] == "missing"
