"""How an error is answered: RFC 9457 problem details (JSON) for the API, an error page for a person.

The errors themselves, and what a problem body holds, are :mod:`hdab.core.errors`; this module
adds the handlers the app installs, and the HTML error page (which needs the page templates).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hdab.core import i18n
from hdab.core.errors import PROBLEM_JSON, FieldError, ProblemError, problem_body
from hdab.core.templating import templates
from hdab.core.web import preferred_language

log = logging.getLogger(__name__)

# how long a client should wait before trying again when the database cannot be reached
DATABASE_RETRY_AFTER = "30"
# ... and when SQLite's one write lock stayed taken past the busy timeout (many writers at once)
DATABASE_BUSY_RETRY_AFTER = "2"


def wants_html(request: Request) -> bool:
    """Pages get an HTML error page; the API (and any client not asking for HTML) gets JSON."""
    if request.url.path.startswith("/api") or request.url.path in ("/healthz", "/readyz"):
        return False
    return _html_quality(request.headers.get("accept", "")) > 0


def _html_quality(accept: str) -> float:
    """The quality Accept gives text/html by name (0 when it names it with q=0, or not at all)."""
    for media_range in accept.split(","):
        media, *params = (piece.strip() for piece in media_range.split(";"))
        if media.lower() != "text/html":
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return min(max(float(value), 0.0), 1.0)
                except ValueError:
                    return 0.0
        return 1.0
    return 0.0


def render_problem(
    request: Request,
    status: int,
    detail: str,
    slug: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_html(request):
        if status == 401 and request.method in ("GET", "HEAD"):
            # a page that needs a signed-in person: sign in, then come back here
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)

        lang = preferred_language(request)

        def said(message: str) -> dict[str, str]:
            # a message the catalogues know is shown in the page's language; another in English
            text = i18n.translate(lang, message)
            return {"text": text, "lang": lang if text != message or lang == "en" else "en"}

        shown = said(detail)
        return templates.TemplateResponse(
            request,
            "core/error.html",
            {
                "status": status,
                "title": HTTPStatus(status).phrase,
                "detail": detail,
                "detail_text": shown["text"],
                "detail_lang": shown["lang"],
                "errors": [{**said(e.message), "field": e.field} for e in errors or []],
            },
            status_code=status,
            headers=headers,
        )
    return JSONResponse(
        problem_body(status, detail, slug, errors, instance=request.url.path),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if where == "body" and rest else ".".join([where, *rest])
    return ".".join(parts)


def _too_deep(request: Request) -> Response:
    return render_problem(
        request,
        400,
        "the request body nests arrays or objects too deeply to be read: send a flatter document",
        "nested-too-deeply",
    )


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return render_problem(request, exc.status, exc.detail, exc.slug, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            FieldError(_field_path(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in exc.errors()
        ]
        return render_problem(request, 422, "the request is not valid; see errors", "invalid-input", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, RecursionError):  # FastAPI could not parse a deeply nested body
            return _too_deep(request)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such page or resource"
        return render_problem(request, exc.status_code, detail, slug, headers=dict(exc.headers or {}))

    @app.exception_handler(RecursionError)
    async def _recursion(request: Request, exc: RecursionError) -> Response:
        # Input nested deeper than a recursive parser or validator goes: the client's to fix, not a bug.
        log.warning("input nested too deeply on %s %s", request.method, request.url.path)
        return _too_deep(request)

    async def _database_unavailable(request: Request, exc: Exception) -> Response:
        # The database is down, the connection broke or (SQLite) the write lock stayed taken: a
        # temporary state, not a bug. The message may name the host or user, so only the class goes
        # to the log and none to the client.
        if "database is locked" in str(exc):
            log.warning("database busy on %s %s", request.method, request.url.path)
            return render_problem(
                request,
                503,
                "the database is busy with other changes just now; nothing was saved: try again",
                "service-unavailable",
                headers={"Retry-After": DATABASE_BUSY_RETRY_AFTER},
            )
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return render_problem(
            request,
            503,
            "the service cannot reach its database just now; try again shortly",
            "service-unavailable",
            headers={"Retry-After": DATABASE_RETRY_AFTER},
        )

    for unavailable in (OperationalError, InterfaceError, DisconnectionError):
        app.add_exception_handler(unavailable, _database_unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The trace goes to the log, never to the client.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return render_problem(
            request, 500, "an internal error occurred; it has been logged", "internal-error"
        )
