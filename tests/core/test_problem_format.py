"""An error answers HTML only to a client that accepts HTML: text/html with q=0 refuses it."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from hdab.core.problems import wants_html


def _request(path: str, accept: str | None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": path, "headers": headers, "query_string": b""})


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,*/*;q=0.8", True),  # a browser
        ("text/html;q=0.5, application/json", True),
        ("TEXT/HTML", True),
        ("text/html;q=0, application/x-unknown", False),  # names HTML to refuse it
        ("text/html; q=0.0", False),
        ("text/html;q=nonsense", False),
        ("application/json", False),
        ("*/*", False),  # a client that names nothing gets the problem document
        ("", False),
        (None, False),
        ("application/x-text/html-like", False),
    ],
)
def test_html_error_pages_only_for_clients_that_accept_html(accept: str | None, html: bool) -> None:
    assert wants_html(_request("/catalog", accept)) is html


def test_the_api_gets_problem_documents_even_when_a_browser_asks() -> None:
    assert wants_html(_request("/api/datasets", "text/html")) is False
    assert wants_html(_request("/healthz", "text/html")) is False
