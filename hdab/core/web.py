"""Request-scoped pieces every domain's routes use: the session the edge commits, and the health checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from kombu import Connection
from sqlalchemy import text
from sqlalchemy.orm import Session

from hdab.core import notices, runtime
from hdab.core.errors import NotFound

health_router = APIRouter(tags=["health"])
language_router = APIRouter(include_in_schema=False)

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000  # keeps page x page_size inside a database integer


@dataclass(frozen=True)
class Paging:
    """The same paging parameters everywhere in the API: ``page`` (from 1) and ``page_size``."""

    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def last_page(self, total: int) -> int:
        return max(1, -(-total // self.page_size))


def paging(
    page: int = Query(1, ge=1, le=MAX_PAGE, description="page number, from 1"),
    page_size: int = Query(
        DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"items per page (at most {MAX_PAGE_SIZE})"
    ),
) -> Paging:
    return Paging(page, page_size)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the handler returns, rolled back when it raises.

    Always depend on it with ``Depends(db_session, scope="function")``: the commit must happen
    before the response is sent, or a client's next request may not see its own write, and a
    failing commit would go unreported. A POST, PUT, PATCH or DELETE may write, so on SQLite it
    queues for the write lock from its start (see :meth:`Database.session`); a GET only reads
    (one that writes too depends on :func:`db_write_session`).
    """
    with runtime.database().session(write=request.method not in READ_METHODS) as session:
        yield session


def db_write_session() -> Iterator[Session]:
    """:func:`db_session` for a read that also writes (an access log entry, an audit entry)."""
    with runtime.database().session() as session:
        yield session


@health_router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_database() -> None:
    with runtime.database().engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _check_broker(url: str) -> None:
    with Connection(url, connect_timeout=2) as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def _check_search(url: str) -> None:
    response = httpx.get(url, timeout=2)
    if response.status_code >= 500:
        raise ConnectionError(f"search answered {response.status_code}")


@health_router.get(
    "/readyz",
    summary="Database, broker and search are reachable; what the service lacks is named",
    description="`checks` has one entry per component (database, broker, search, the official shapes,"
    " the registry); `notices` says what is missing and how to get it. Outside production a missing"
    " part that the service can do without (the shapes, registry data) is named but stays 200.",
    responses={503: {"description": "a dependency is down; the body names it"}},
)
def readyz(request: Request) -> JSONResponse:
    settings = runtime.settings()
    checks: dict[str, str] = {}
    components = [("database", _check_database)]
    if settings.broker_url:
        components.append(("broker", lambda: _check_broker(settings.broker_url)))
    else:
        checks["broker"] = "in-process"
    if settings.search_url:
        components.append(("search", lambda: _check_search(settings.search_url)))
    else:
        checks["search"] = "database"
    down = []
    for name, check in components:
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            # The class name only: a URL in the message could carry a password.
            checks[name] = f"down ({type(exc).__name__})"
            down.append(name)
    # the domains' checks, handed over by the app factory (hdab.app): core names no domain
    findings = notices.collect(settings, request.app.state.health_findings)
    for finding in findings:
        checks[finding.component] = finding.status
    notes = [{"component": f.component, "detail": f.detail} for f in findings if f.needs_action]
    # Outside production a missing part the service can do without is named, not a reason for 503.
    lacking = [
        f.component for f in findings if f.blocks_production and f.needs_action and settings.is_production
    ]
    if down or lacking:
        problems = [", ".join(down) + " unreachable"] if down else []
        problems += [", ".join(lacking) + " missing"] if lacking else []
        detail = "not ready: " + "; ".join(problems)
        return JSONResponse(
            {
                "type": "https://hdab.no/problems/not-ready",
                "title": "Service Unavailable",
                "status": 503,
                "detail": detail,
                "checks": checks,
                "notices": notes,
            },
            status_code=503,
            media_type="application/problem+json",
        )
    return JSONResponse({"status": "ready", "checks": checks, "notices": notes})


def not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """Whether the client's cached copy is current (If-None-Match first, then If-Modified-Since)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return last_modified.replace(microsecond=0) <= since
    return False


def cache_headers(etag: str, last_modified: datetime | None) -> dict[str, str]:
    headers = {"ETag": etag, "Vary": "Accept, Accept-Language, Cookie"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    return headers


LANGUAGE_COOKIE = "hdab_lang"
LANGUAGE_COOKIE_DAYS = 365


def preferred_language(request: Request) -> str:
    """The page language: ?lang= (nb or en), else the choice kept in the language cookie, else
    Accept-Language, else Norwegian Bokmål."""
    chosen = request.query_params.get("lang")
    if chosen in ("nb", "en"):
        return chosen
    kept = request.cookies.get(LANGUAGE_COOKIE)
    if kept in ("nb", "en"):
        return kept
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith(("nb", "no", "nn")):
            return "nb"
        if tag.startswith("en"):
            return "en"
    return "nb"


def _same_site_path(target: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@language_router.get("/language/{lang}", include_in_schema=False)
def choose_language(lang: str, next: str = Query("/", max_length=2000)) -> Response:
    """Keep the chosen language (a cookie, for a year) and go back to the page the person was on."""
    if lang not in ("nb", "en"):
        raise NotFound("the pages are in nb (Norwegian Bokmål) or en (English)")
    response = RedirectResponse(_same_site_path(next), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE, lang, max_age=LANGUAGE_COOKIE_DAYS * 86400, path="/", samesite="lax", httponly=True
    )
    return response
