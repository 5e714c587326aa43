"""A data holder writes only its own organisation's datasets (issue 14, item 5).

The seed's datasets are all published by the Norwegian Institute of Public Health (FHI), named by its
Enhetsregisteret IRI. A data holder of FHI may write them; a data holder of another organisation, or
one whose token names no organisation, gets a 403 saying why, and nothing is stored. Admins write
every publisher's datasets.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hdab.catalog.models import CatalogDataset, CatalogDatasetVersion
from hdab.catalog.rdf.namespaces import organisation
from hdab.core import runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings
from tests.catalog.test_editing import new_record, record_of

FHI = "983744516"  # the seed's publisher
SSB = "971526920"
TURTLE = {"Content-Type": "text/turtle"}


def token(settings: Settings, subject: str, role: Role, org: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {DevIdentityProvider(settings).issue(subject, [role], organisation=org)}"
    }


@pytest.fixture
def no_org(seeded: Settings) -> dict[str, str]:
    return token(seeded, "registerforvalter", Role.DATA_HOLDER)


@pytest.fixture
def ssb(seeded: Settings) -> dict[str, str]:
    return token(seeded, "ssb-editor", Role.DATA_HOLDER, SSB)


@pytest.fixture
def admin(seeded: Settings) -> dict[str, str]:
    return token(seeded, "admin", Role.ADMIN)  # no organisation: an admin needs none


def stored() -> dict[str, Any]:
    """Every dataset's version, status and record, and the count of versions: what a refusal leaves as is."""
    with runtime.database().session() as session:
        rows = session.scalars(select(CatalogDataset).order_by(CatalogDataset.identifier))
        return {
            "datasets": [(r.identifier, r.version, r.status.value, r.record) for r in rows],
            "versions": session.scalar(select(func.count()).select_from(CatalogDatasetVersion)),
        }


def published_by(record: dict[str, Any], number: str) -> dict[str, Any]:
    record["publisher"] = {**record["publisher"], "iri": organisation(number), "organisation_number": number}
    return record


def turtle_as(client: TestClient, source: str, identifier: str, publisher: str = FHI) -> str:
    """``source``'s Turtle as a dataset ``identifier`` published by organisation ``publisher``."""
    text = client.get(f"/datasets/{source}?format=ttl").text
    text = text.replace(f"/datasets/{source}", f"/datasets/{identifier}").replace(
        f'"{source}"', f'"{identifier}"'
    )
    return text.replace(FHI, publisher)


def assert_refused(response: Any, *words: str) -> None:
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["type"].endswith("/forbidden")
    assert "own organisation" in problem["detail"]
    for word in words:
        assert word in response.text, (word, response.text)


def write_every_way(
    client: TestClient, headers: dict[str, str], identifier: str = "npr-somatikk"
) -> list[Any]:
    """Create, update, import and withdraw, as the caller ``headers`` names."""
    record = record_of(client, identifier)
    record["min_typical_age"] = 3
    return [
        client.post("/api/datasets", json={"record": new_record(client, "npr-ny")}, headers=headers),
        client.put(f"/api/datasets/{identifier}", json={"record": record}, headers=headers),
        client.post(
            "/api/catalog/import",
            content=turtle_as(client, identifier, identifier).replace("substance", "drug"),
            headers={**headers, **TURTLE},
        ),
        client.delete(f"/api/datasets/{identifier}", headers=headers),
    ]


def test_a_data_holder_whose_token_names_no_organisation_writes_nothing(
    client: TestClient, no_org: dict[str, str]
) -> None:
    before = stored()
    for response in write_every_way(client, no_org):
        assert_refused(response, "names no organisation")
    # the one that overwrote npr-somatikk and gave it another publisher before
    record = published_by(record_of(client, "npr-somatikk"), SSB)
    assert_refused(client.put("/api/datasets/npr-somatikk", json={"record": record}, headers=no_org))
    # refused before the body is read: an empty one is a 403 too, not a 422 or 415
    assert client.post("/api/datasets", json={}, headers=no_org).status_code == 403
    assert client.post("/api/catalog/import", content=b"", headers=no_org).status_code == 403
    assert stored() == before


def test_a_data_holder_cannot_write_another_organisations_dataset(
    client: TestClient, ssb: dict[str, str]
) -> None:
    before = stored()
    for response in write_every_way(client, ssb):
        if response.request.method == "POST" and response.request.url.path == "/api/datasets":
            assert_refused(response, f"organisation {FHI}", f"your organisation {SSB}", "would be")
        else:
            assert_refused(response, "'npr-somatikk' is published by", f"organisation {FHI}", SSB)
    # nor take it over, by editing or importing it as its own
    record = published_by(record_of(client, "npr-somatikk"), SSB)
    assert_refused(client.put("/api/datasets/npr-somatikk", json={"record": record}, headers=ssb), FHI)
    taken = turtle_as(client, "npr-somatikk", "npr-somatikk", SSB)
    assert_refused(client.post("/api/catalog/import", content=taken, headers={**ssb, **TURTLE}), FHI)
    # an invalid body for someone else's dataset is a 403 as well, not a 422 telling what is wrong with it
    assert client.put("/api/datasets/npr-somatikk", json={}, headers=ssb).status_code == 403
    assert stored() == before


def test_a_data_holder_cannot_give_its_dataset_to_another_organisation(
    client: TestClient, holder: dict[str, str]
) -> None:
    before = stored()
    record = published_by(record_of(client, "npr-tsb"), SSB)
    response = client.put("/api/datasets/npr-tsb", json={"record": record}, headers=holder)
    assert_refused(
        response, "'npr-tsb' would be published by", f"organisation {SSB}", f"your organisation {FHI}"
    )
    # nor name a publisher outside Enhetsregisteret, or one whose dct:identifier names another number
    record["publisher"] = {
        **record["publisher"],
        "iri": "https://example.org/agents/fhi",
        "organisation_number": FHI,
    }
    response = client.put("/api/datasets/npr-tsb", json={"record": record}, headers=holder)
    assert_refused(response, "not an organisation in Enhetsregisteret")
    record["publisher"] = {**record["publisher"], "iri": organisation(FHI), "organisation_number": SSB}
    response = client.put("/api/datasets/npr-tsb", json={"record": record}, headers=holder)
    assert_refused(response, f"dct:identifier says {SSB}")
    created = published_by(new_record(client, "npr-ny"), SSB)
    assert_refused(client.post("/api/datasets", json={"record": created}, headers=holder), SSB)
    assert stored() == before


def test_an_import_with_one_foreign_dataset_stores_nothing(
    client: TestClient, holder: dict[str, str]
) -> None:
    before = stored()
    own = turtle_as(client, "npr-tsb", "npr-tsb-ny")
    foreign = turtle_as(client, "npr-phv", "npr-phv-ny", SSB)
    response = client.post("/api/catalog/import", content=own + "\n" + foreign, headers={**holder, **TURTLE})
    assert_refused(
        response, "'npr-phv-ny' would be published by", f"organisation {SSB}", "nothing was stored"
    )
    assert "npr-tsb-ny" not in response.text  # the own dataset is not named as a refusal
    assert [e["field"] for e in response.json()["errors"]] == ["npr-phv-ny publisher"]
    # an update of an existing dataset that hands it to another organisation, beside a new own one
    handed = turtle_as(client, "npr-phv", "npr-phv", SSB)
    response = client.post("/api/catalog/import", content=own + "\n" + handed, headers={**holder, **TURTLE})
    assert_refused(response, "'npr-phv' would be published by")
    assert stored() == before
    assert client.get("/api/datasets/npr-tsb-ny").status_code == 404


def test_an_admin_writes_every_publishers_datasets(client: TestClient, admin: dict[str, str]) -> None:
    for response in write_every_way(client, admin):
        assert response.status_code in (200, 201), response.text
    record = published_by(record_of(client, "npr-tsb"), SSB)
    response = client.put("/api/datasets/npr-tsb", json={"record": record}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["record"]["publisher"]["iri"] == organisation(SSB)
    mixed = (
        turtle_as(client, "npr-phv", "npr-phv-ny") + "\n" + turtle_as(client, "npr-phbu", "npr-phbu-ny", SSB)
    )
    response = client.post("/api/catalog/import", content=mixed, headers={**admin, **TURTLE})
    assert response.status_code == 200, response.text
    assert {d["identifier"]: d["outcome"] for d in response.json()["datasets"]} == {
        "npr-phv-ny": "created",
        "npr-phbu-ny": "created",
    }


def test_the_data_holder_of_the_publisher_writes_its_datasets(
    client: TestClient, holder: dict[str, str], ssb: dict[str, str]
) -> None:
    for response in write_every_way(client, holder):
        assert response.status_code in (200, 201), response.text
    assert client.get("/api/datasets/npr-somatikk").json()["status"] == "withdrawn"
    # and SSB its own, once it publishes one (an admin gave it npr-tsb here)
    record = published_by(record_of(client, "npr-tsb"), SSB)
    admin = token(runtime.settings(), "admin", Role.ADMIN)
    assert client.put("/api/datasets/npr-tsb", json={"record": record}, headers=admin).status_code == 200
    record = record_of(client, "npr-tsb")
    record["min_typical_age"] = 4
    response = client.put("/api/datasets/npr-tsb", json={"record": record, "note": "ours"}, headers=ssb)
    assert response.status_code == 200, response.text
    assert client.get("/api/datasets/npr-tsb/versions").json()[-1]["author"].startswith("ssb-editor@")
    # while FHI no longer may
    record["min_typical_age"] = 5
    assert_refused(client.put("/api/datasets/npr-tsb", json={"record": record}, headers=holder), SSB)
