"""Request-scoped pieces every domain's routes use: the session the edge commits, and the health checks."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from kombu import Connection
from sqlalchemy import text
from sqlalchemy.orm import Session

from hdab.core import runtime

health_router = APIRouter(tags=["health"])


def db_session() -> Iterator[Session]:
    """The request's unit of work: committed when the handler returns, rolled back when it raises."""
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
    import httpx

    response = httpx.get(url, timeout=2)
    if response.status_code >= 500:
        raise ConnectionError(f"search answered {response.status_code}")


@health_router.get(
    "/readyz",
    summary="Database, broker and search are reachable",
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
    if down:
        return JSONResponse(
            {
                "type": "https://hdab.no/problems/not-ready",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "not ready: " + ", ".join(down) + " unreachable",
                "checks": checks,
            },
            status_code=503,
            media_type="application/problem+json",
        )
    return JSONResponse({"status": "ready", "checks": checks})
