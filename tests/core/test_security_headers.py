"""Security headers on every response, HSTS under HTTPS, and oversized bodies refused with 413."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from hdab.app import MAX_BODY, create_app
from hdab.core.settings import Settings
from tests.support import backends


def test_every_response_carries_the_security_headers(sqlite_settings: Settings) -> None:
    with TestClient(create_app(sqlite_settings), raise_server_exceptions=False) as client:
        for path in ("/healthz", "/", "/api/me", "/no-such-page", "/static/search.js"):
            response = client.get(path)
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert "strict-transport-security" not in response.headers  # plain HTTP in development


def test_hsts_when_served_over_https(tmp_path: Path) -> None:
    settings = backends.make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'hdab.db'}", base_url="https://hdab.example"
    )
    from hdab.core import migrate

    migrate.upgrade(settings.database_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").headers["strict-transport-security"].startswith("max-age=31536000")


def test_a_body_over_the_limit_is_refused_before_it_is_read(sqlite_settings: Settings) -> None:
    upload_limit = sqlite_settings.import_max_bytes + 65536
    with TestClient(create_app(sqlite_settings), raise_server_exceptions=False) as client:
        json_body = {"Content-Type": "application/json"}
        response = client.post("/api/applications", content=b"x" * (MAX_BODY + 1), headers=json_body)
        assert response.status_code == 413 and f"larger than {MAX_BODY} bytes" in response.json()["detail"]
        # uploads may be larger, up to the import limit
        csv = {"Content-Type": "text/csv"}
        assert (
            client.post("/api/optouts/import", content=b"x" * (MAX_BODY + 1), headers=csv).status_code == 401
        )
        too_big = client.post("/api/optouts/import", content=b"x" * (upload_limit + 1), headers=csv)
        assert too_big.status_code == 413
