"""Every status change is told to the applicant and the team: in the app, and by mail over real SMTP."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from hdab.app import create_app
from hdab.core import runtime
from hdab.core.settings import Settings
from tests.applications.factories import People
from tests.applications.walk import command, create
from tests.support import backends, seeding
from tests.support.cli import free_port


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def mail_client(tmp_path: Path, database_url: str, smtp: tuple[Inbox, int]) -> Iterator[TestClient]:
    settings: Settings = backends.make_settings(
        tmp_path / "data", database_url, smtp_url=f"smtp://127.0.0.1:{smtp[1]}", mail_from="hdab@hdab.no"
    )
    runtime.configure(settings)
    seeding.seed_catalogue(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
    if not settings.uses_sqlite:
        from tests.conftest import _truncate_postgres

        _truncate_postgres(runtime.database())
    runtime.database().dispose()


def test_status_changes_are_mailed_to_applicant_and_team(
    mail_client: TestClient, smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, _ = smtp
    people = People(runtime.settings())
    case_id = create(mail_client, people.applicant)
    command(mail_client, people.applicant, case_id, "submit")
    command(mail_client, people.caseworker, case_id, "start-pre-screening")
    command(mail_client, people.caseworker, case_id, "request-information", {"message": "REK?"})
    for address in ("researcher@uio.no", "pi@uio.no", "analyst@uio.no"):
        subjects = inbox.to(address)
        assert len(subjects) == 3, (address, subjects)
        assert subjects[0].startswith("Application received / Søknaden er mottatt")
        assert subjects[2].startswith("More information needed")
    assert all(m["From"] == "hdab@hdab.no" for m in inbox.messages)
    # and in the app, for the applicant
    listed = mail_client.get("/api/notifications", headers=people.applicant).json()["items"]
    assert [n["title"].split(" / ")[0] for n in listed] == [
        "More information needed",
        "Completeness check started",
        "Application received",
    ]
    first = listed[-1]["id"]
    assert mail_client.post(f"/api/notifications/{first}/read", headers=people.applicant).status_code == 204
    assert mail_client.post(f"/api/notifications/{first}/read", headers=people.stranger).status_code == 404


def test_no_mail_server_configured_keeps_notifications_in_the_app(client: TestClient, people: People) -> None:
    case_id = create(client, people.applicant)
    command(client, people.applicant, case_id, "submit")
    assert (
        client.get("/api/notifications", headers=people.applicant).json()["items"][0]["application_id"]
        == case_id
    )
