"""The MQA score: pure scoring, URL checks against a local server, the endpoint and the page."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient

from hdab.catalog import service
from hdab.catalog.publish import published_record
from hdab.catalog.quality import rating, score, urls_of
from hdab.catalog.seed import seed_records
from hdab.core import runtime
from hdab.core.settings import Settings


def test_seed_record_reaches_320_of_405_when_its_urls_respond() -> None:
    record = dataclasses.replace(
        seed_records("https://x")[0], issued=date(2026, 1, 1), modified=date(2026, 1, 1)
    )
    report = score(record, dict.fromkeys(urls_of(record), True), dcat_ap_compliant=True)
    assert (report.points, report.max_points, report.rating) == (320.0, 405, "good")
    missing = {i.name for d in report.dimensions for i in d.indicators if i.points < i.max_points}
    # NON_PUBLIC: no download URL, no licence (access is by permit), byte size unknown.
    assert missing == {"download_url", "download_url_responds", "licence", "known_licence", "byte_size"}
    # as published, each distribution carries the permit licence: +20 (in no EU table: not "known")
    published = score(
        published_record("https://x", record), dict.fromkeys(urls_of(record), True), dcat_ap_compliant=True
    )
    assert published.points == 340.0


def test_unchecked_or_dead_urls_and_noncompliance_cost_points() -> None:
    record = seed_records("https://x")[0]
    best = score(record, dict.fromkeys(urls_of(record), True), dcat_ap_compliant=True).points
    assert score(record, {}, dcat_ap_compliant=True).points == best - 50
    assert score(record, dict.fromkeys(urls_of(record), True), dcat_ap_compliant=False).points == best - 30


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        (405, "excellent"),
        (351, "excellent"),
        (350, "good"),
        (221, "good"),
        (220, "sufficient"),
        (121, "sufficient"),
        (120, "bad"),
    ],
)
def test_rating_bands(points: float, expected: str) -> None:
    assert rating(points) == expected


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(404 if "npr-tsb" in self.path else 200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.usefixtures("shapes")  # compliance with the shapes is part of the score
def test_url_check_requests_every_url_and_the_score_follows(site: str, settings: Settings) -> None:
    from hdab.catalog.service import seed
    from hdab.core import audit

    settings = settings.model_copy(update={"base_url": site})
    runtime.configure(settings)
    with runtime.database().session() as session:
        seed(session, settings, audit.SYSTEM_ACTOR)
    with httpx.Client(timeout=5) as client:
        results = service.check_urls(runtime.database(), client)
    assert len(results) == 16  # two distributions of eight datasets
    assert {url for url, ok in results.items() if not ok} == {
        f"{site}/datasets/npr-tsb",
        f"{site}/datasets/npr-tsb#statistics",
    }
    with runtime.database().session() as session:
        good = service.quality(session, settings, "npr-phv")
        bad = service.quality(session, settings, "npr-tsb")
    assert good["points"] == 340.0  # scored as published: the permit licence counts
    # npr-tsb: both URLs dead (-50) and no temporal coverage stated in DOMAIN.md (-20).
    assert bad["points"] == 270.0
    # Without a stated start year, npr-phbu, npr-avtalespesialister and npr-rehabilitering reach 320.
    assert good["catalogue_average"] == round((4 * 340 + 3 * 320 + 270) / 8, 1)


@pytest.mark.usefixtures("shapes")  # compliance with the shapes is part of the score
def test_quality_endpoint_and_page(client: TestClient) -> None:
    body = client.get("/api/datasets/kpr-kuhr/quality").json()
    assert body["max_points"] == 405
    assert [d["name"] for d in body["dimensions"]] == [
        "findability",
        "accessibility",
        "interoperability",
        "reusability",
        "contextuality",
    ]
    assert body["urls_checked"] is False  # nothing checked yet: access URLs earn nothing
    assert body["points"] == 290.0
    page = client.get("/datasets/kpr-kuhr?lang=en", headers={"Accept": "text/html"})
    assert 'id="quality"' in page.text and "290 of 405 points (good)" in page.text
    assert ">Interoperability<" in page.text  # the dimensions in words
    assert client.get("/api/datasets/nope/quality").status_code == 404


class _HeadHostile(http.server.BaseHTTPRequestHandler):
    """Servers as the MQA meets them: HEAD refused or broken where GET works, or both dead."""

    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:
        if self.path == "/head-ok":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/head-drops":
            self.close_connection = True  # answers nothing at all
        else:
            code = {"/head-405": 405, "/head-403": 403, "/head-404": 404}.get(self.path, 404)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_GET(self) -> None:
        self.gets.append(self.path)
        body = b"x" * 100_000
        self.send_response(404 if self.path == "/dead" else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    gets: list[str] = []

    def log_message(self, *args: object) -> None:
        pass


def test_probe_asks_head_and_falls_back_to_get_as_the_mqa_does() -> None:
    from hdab.catalog.quality import probe

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HeadHostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _HeadHostile.gets.clear()
    try:
        with httpx.Client(timeout=5) as client:
            results = {
                p: probe(client, base + p)
                for p in ("/head-ok", "/head-405", "/head-403", "/head-404", "/head-drops", "/dead")
            }
    finally:
        server.shutdown()
    assert results["/head-ok"] == (200, None)
    for path in ("/head-405", "/head-403", "/head-404", "/head-drops"):
        assert results[path] == (200, None), path  # GET works: the URL responds
    assert results["/dead"] == (404, None)
    assert "/head-ok" not in _HeadHostile.gets  # no GET when HEAD answered
