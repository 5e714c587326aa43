"""The index follows every catalogue change through the outbox; a failed update is retried, not lost."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hdab.catalog.models import SearchIndexState
from hdab.catalog.search import backend, sync
from hdab.catalog.search.embedded import EmbeddedBackend
from hdab.catalog.tasks import reconcile_search
from hdab.core import runtime
from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.models import OutboxMessage
from hdab.core.settings import Settings
from hdab.core.tasks import outbox_relay


@pytest.fixture
def editor(search_settings: Settings) -> dict[str, str]:
    issuer = DevIdentityProvider(search_settings)
    token = issuer.issue("fhi-editor", [Role.DATA_HOLDER], organisation="983744516")  # FHI publishes the seed
    return {"Authorization": f"Bearer {token}"}


def hits(client: TestClient, q: str) -> set[str]:
    return {i["identifier"] for i in client.get("/api/search", params={"q": q}).json()["items"]}


def add_keyword(client: TestClient, editor: dict[str, str], identifier: str, keyword: str) -> None:
    record = client.get(f"/api/datasets/{identifier}").json()["record"]
    record["keywords"].append({"value": keyword, "lang": "nb"})
    response = client.put(f"/api/datasets/{identifier}", json={"record": record}, headers=editor)
    assert response.status_code == 200, response.text


def test_create_update_and_withdraw_are_searchable_at_once(
    search_client: TestClient, editor: dict[str, str]
) -> None:
    assert hits(search_client, "zebrafisk") == set()
    add_keyword(search_client, editor, "npr-tsb", "zebrafisk")
    assert hits(search_client, "zebrafisk") == {"npr-tsb"}
    search_client.delete("/api/datasets/npr-tsb", headers=editor)
    assert hits(search_client, "zebrafisk") == set()
    assert search_client.get("/api/search").json()["total"] == 7


def test_failed_index_update_is_retried_by_the_outbox(
    search_client: TestClient, editor: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend().name != "embedded":
        pytest.skip("failure injected into the embedded backend")

    def broken(self: EmbeddedBackend, documents: object) -> None:
        raise ConnectionError("index unavailable")

    monkeypatch.setattr(EmbeddedBackend, "index", broken)
    add_keyword(search_client, editor, "kpr-kuhr", "sjiraff")
    with runtime.database().session() as session:
        message = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.task == "catalog.index_dataset")
            .order_by(OutboxMessage.created_at.desc())
        ).first()
        assert message is not None and message.sent_at is None and message.attempts == 1
    monkeypatch.undo()
    assert hits(search_client, "sjiraff") == set()  # the catalogue has it, the index not yet
    outbox_relay.apply()
    assert hits(search_client, "sjiraff") == {"kpr-kuhr"}


def test_a_lost_update_is_found_and_repaired_by_reconciliation(
    search_client: TestClient,
    editor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    search_settings: Settings,
) -> None:
    search = backend()
    original = type(search).index

    def broken(self: object, documents: object) -> None:
        raise ConnectionError("index unavailable")

    monkeypatch.setattr(type(search), "index", broken)
    add_keyword(search_client, editor, "npr-phv", "flamingo")
    with runtime.database().session() as session:
        # As if a worker had taken the message and died after its last retry.
        session.execute(update(OutboxMessage).values(sent_at=OutboxMessage.created_at))
    monkeypatch.setattr(type(search), "index", original)
    with runtime.database().session() as session:
        assert sync.stale(session) == ["npr-phv"]
    assert reconcile_search.apply().get() == 1
    assert hits(search_client, "flamingo") == {"npr-phv"}
    with runtime.database().session() as session:
        assert sync.stale(session) == []
        state = session.get(SearchIndexState, (search.name, "npr-phv"))
        assert state is not None and state.version == 2
