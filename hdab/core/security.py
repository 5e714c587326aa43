"""Security headers on every response, and a limit on request bodies.

The Content-Security-Policy allows scripts, styles and images only from this origin (no inline
script or style: the pages have none), forbids framing, plugins and foreign form targets. HSTS is
sent when the service is served over HTTPS (production). Bodies larger than the limit (1 MiB; the
import limit on upload routes) are refused with 413 before they are read whole.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hdab.core.errors import PROBLEM_JSON, problem_body

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    b"content-security-policy": CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"strict-origin-when-cross-origin",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
}
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response; a body size limit on requests."""

    def __init__(
        self, app: ASGIApp, *, hsts: bool, max_body: int, upload_paths: frozenset[str], max_upload: int
    ) -> None:
        self.app = app
        self.hsts = hsts
        self.max_body = max_body
        self.upload_paths = upload_paths
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if scope["path"] in self.upload_paths else self.max_body
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in HEADERS]
                headers.extend(HEADERS.items())
                if self.hsts:
                    headers.append((b"strict-transport-security", HSTS))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, with_headers)
        except BodyTooLarge:
            await _too_large(send, limit)


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    problem = problem_body(413, f"the request body is larger than {limit} bytes", "too-large")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", PROBLEM_JSON.encode()), *HEADERS.items()],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(problem).encode()})
