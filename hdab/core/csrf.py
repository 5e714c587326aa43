"""CSRF protection for every form: a signed double-submit token.

Each browser gets a random ``hdab_csrf`` cookie (HTTP-only, SameSite=Strict). Every form carries
``csrf_token`` = HMAC(secret key, cookie). A state-changing request that a browser could send on its
own (it carries a session cookie, or is a form post) must carry the token, in the form or in an
``X-CSRF-Token`` header. Another site can make the browser send the cookie, but cannot read it or
compute the token. Requests with an ``Authorization`` header are not browser-ambient and need none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hdab.core import runtime
from hdab.core.auth import SESSION_COOKIE, SIGNIN_COOKIE
from hdab.core.errors import ProblemError

COOKIE = "hdab_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# POSTs that change nothing: the SPARQL 1.1 Protocol sends long queries as a form post, and the
# endpoint runs no update (hdab.catalog.sparql), so another site's form can do nothing there.
READ_ONLY_POSTS = frozenset({"/sparql"})


class CsrfFailed(ProblemError):
    def __init__(self) -> None:
        super().__init__(
            "the form has expired or was sent from another site: reload the page and send it again",
            403,
            "csrf",
        )


def token_for(cookie: str) -> str:
    key = runtime.settings().secret_key.encode()
    return hmac.new(key, b"csrf|" + cookie.encode(), hashlib.sha256).hexdigest()


def _cookie(request: Request) -> str:
    """The browser's CSRF cookie value, or the one this response is about to set."""
    state = request.scope.setdefault("state", {})
    value = request.cookies.get(COOKIE) or state.get("csrf_cookie")
    if not value:
        value = secrets.token_urlsafe(24)
        state["csrf_cookie"] = value
    return str(value)


def csrf_input(request: Request) -> Markup:
    """The hidden field every POST form includes: ``{{ csrf_input(request) }}``."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, token_for(_cookie(request)))


async def protect(request: Request) -> None:
    """An app-wide dependency: refuse a browser-ambient state change without a valid token."""
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return
    if request.url.path in READ_ONLY_POSTS:
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    ambient = SIGNIN_COOKIE in request.cookies or SESSION_COOKIE in request.cookies
    if not ambient and content_type not in FORM_TYPES:
        return
    sent = request.headers.get(HEADER)
    if sent is None and content_type in FORM_TYPES:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    cookie = request.cookies.get(COOKIE)
    if not sent or not cookie or not hmac.compare_digest(sent, token_for(cookie)):
        raise CsrfFailed


class CsrfCookie:
    """ASGI middleware: set the CSRF cookie on the page that first needed it."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = scope.get("state", {}).get("csrf_cookie")
                if value:
                    attributes = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict"
                    if self.secure:
                        attributes += "; Secure"
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", attributes.encode())]
            await send(message)

        await self.app(scope, receive, with_cookie)
