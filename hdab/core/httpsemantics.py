"""HTTP as link checkers, harvesters and browsers expect it: HEAD wherever GET is, CORS on public reads.

FastAPI answers HEAD with 405 unless a route lists it; link checkers and the data.europa.eu MQA
accessibility check send HEAD first (RFC 9110 section 9.3.2: HEAD is GET without the content), so
:class:`HeadAsGet` runs the GET and sends its status and headers without the body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_ONLY = ("GET", "HEAD", "OPTIONS")


class HeadAsGet:
    """ASGI middleware: a HEAD request is answered as the GET would be, with no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def without_body(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.body":
                if ended or message.get("more_body", False):
                    return
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


class PublicCors:
    """ASGI middleware: CORS for any origin on the public read-only paths, nothing elsewhere.

    ``public`` maps a path (exact, or a prefix when it ends in ``/``) to the methods other origins
    may use there. No credentials are ever allowed: what is public needs none. An ``OPTIONS``
    that is not a CORS preflight is answered 204 with ``Allow``.
    """

    def __init__(self, app: ASGIApp, *, public: Mapping[str, Iterable[str]], expose: Iterable[str]) -> None:
        self.app = app
        self.rules = sorted(
            ((path, tuple(methods)) for path, methods in public.items()), key=lambda r: -len(r[0])
        )
        self.cors = {
            methods: CORSMiddleware(
                app,
                allow_origins=["*"],
                allow_methods=list(methods),
                allow_headers=[
                    "Accept",
                    "Accept-Language",
                    "Content-Type",
                    "If-None-Match",
                    "If-Modified-Since",
                ],
                expose_headers=list(expose),
                allow_credentials=False,
                max_age=86400,
            )
            for _path, methods in self.rules
        }

    def methods_for(self, path: str) -> tuple[str, ...] | None:
        for rule, methods in self.rules:
            if path == rule or (rule.endswith("/") and path.startswith(rule)) or path == rule.rstrip("/"):
                return methods
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = self.methods_for(scope["path"]) if scope["type"] == "http" else None
        if methods is None:
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if scope["method"] == "OPTIONS" and b"access-control-request-method" not in headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [(b"allow", ", ".join(methods).encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.cors[methods](scope, receive, send)
