"""Security headers on every response, and a limit on request bodies.

The Content-Security-Policy allows scripts, styles and images only from this origin (no inline
script or style: the pages have none), forbids framing, plugins and foreign form targets. HSTS is
sent when the service is served over HTTPS (production). Bodies larger than the limit (1 MiB; the
import limit on upload routes) are refused with 413 before they are read whole. A path in
``own_limit_paths`` reads its body under a limit of its own and answers going over it itself (the
reception of reports answers with a receipt carrying the size error).

One narrow exception: a path in ``OWN_POLICY_PATHS`` may answer with a policy of its own, made by
``with_style_nonce()``: the site policy plus ``<style>`` elements carrying a fresh per-response nonce
(and whatever ``MAY_ADD`` names). The middleware checks that the policy is that and nothing looser;
anything else, and any policy a handler sets on any other path, is replaced by the site policy.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hdab.core.errors import PROBLEM_JSON, problem_body

SITE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
CSP = "; ".join(f"{name} {' '.join(sources)}" for name, sources in SITE_POLICY.items())

HEADERS = {
    b"content-security-policy": CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"strict-origin-when-cross-origin",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
}
HSTS = b"max-age=31536000; includeSubDomains"

# Paths whose response may carry its own policy. ReDoc (/redoc, hdab.core.apidocs) styles itself
# with styled-components, which inserts <style> elements: they run under a nonce, not 'unsafe-inline'.
OWN_POLICY_PATHS = frozenset({"/redoc"})
# What such a policy may add to the site's, directive by directive (ReDoc's search index runs in a
# worker it builds from a blob: URL). Nonces are allowed in style-src only.
MAY_ADD: dict[str, frozenset[str]] = {"worker-src": frozenset({"'self'", "blob:"})}
_NONCE = re.compile(r"'nonce-[A-Za-z0-9_-]{22,}'")


def new_nonce() -> str:
    """A fresh nonce for one response (144 random bits, URL-safe base64)."""
    return secrets.token_urlsafe(18)


def with_style_nonce(nonce: str, added: Mapping[str, str] | None = None) -> str:
    """The site policy, also allowing ``<style>`` elements that carry ``nonce``, plus the ``added``
    directives (e.g. ``{"worker-src": "'self' blob:"}``), which must be ones ``MAY_ADD`` permits."""
    policy = {name: " ".join(sources) for name, sources in SITE_POLICY.items()}
    policy["style-src"] += f" 'nonce-{nonce}'"
    policy.update(added or {})
    text = "; ".join(f"{name} {sources}" for name, sources in policy.items())
    if not acceptable(text):
        raise ValueError(f"not an acceptable page policy: {text}")
    return text


def acceptable(policy: str) -> bool:
    """True if ``policy`` is no looser than the site's: every site directive present, each source in
    it one the site allows, a nonce in style-src, or one ``MAY_ADD`` names; no other directive."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        if not part.strip():
            continue
        name, *sources = part.split()
        if name.lower() in directives:
            return False
        directives[name.lower()] = sources
    if not SITE_POLICY.keys() <= directives.keys():
        return False
    for name, sources in directives.items():
        if name not in SITE_POLICY and name not in MAY_ADD:
            return False
        allowed = set(SITE_POLICY.get(name, ())) | MAY_ADD.get(name, frozenset())
        for source in sources:
            if source not in allowed and not (name == "style-src" and _NONCE.fullmatch(source)):
                return False
    return True


def _policy(path: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The policy a response carries: the site's, unless an allow-listed path set one that is acceptable."""
    own = [v for k, v in headers if k.lower() == b"content-security-policy"]
    if path in OWN_POLICY_PATHS and len(own) == 1 and acceptable(own[0].decode("latin-1")):
        return own[0]
    return HEADERS[b"content-security-policy"]


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response; a body size limit on requests."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts: bool,
        max_body: int,
        upload_paths: frozenset[str],
        max_upload: int,
        own_limit_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.own_limit_paths = own_limit_paths
        self.hsts = hsts
        self.max_body = max_body
        self.upload_paths = upload_paths
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.own_limit_paths:
            await self.app(scope, receive, _with_headers(scope, send, self.hsts))
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

        try:
            await self.app(scope, limited_receive, _with_headers(scope, send, self.hsts))
        except BodyTooLarge:
            await _too_large(send, limit)


def _with_headers(scope: Scope, send: Send, hsts: bool) -> Send:
    async def with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            given = list(message.get("headers", []))
            headers = [(k, v) for k, v in given if k.lower() not in HEADERS]
            headers.extend({**HEADERS, b"content-security-policy": _policy(scope["path"], given)}.items())
            if hsts:
                headers.append((b"strict-transport-security", HSTS))
            message["headers"] = headers
        await send(message)

    return with_headers


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
