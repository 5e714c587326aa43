"""create_app(): the composition root of the web service (the one place that assembles every domain).

The top layer: it imports each domain's routers, page views and health checks by name, and every
Celery task (``hdab.tasks``) so that work the web app enqueues has a task to run it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

import hdab
from hdab import tasks  # noqa: F401  (registers every Celery task: the outbox enqueues them by name)
from hdab.applications import routes as applications_routes
from hdab.applications import views as applications_views
from hdab.catalog import health as catalog_health
from hdab.catalog import routes as catalog_routes
from hdab.catalog import views as catalog_views
from hdab.core import apidocs, audit, csrf, notices, oidc, outbox, runtime
from hdab.core.access import current_principal, optional_principal
from hdab.core.auth import SESSION_COOKIE, Principal, Role, TokenVerifier, TrustedIssuer
from hdab.core.celery_app import is_eager
from hdab.core.devidp import DevIdentityProvider
from hdab.core.errors import FieldError, InvalidInput, document_problems
from hdab.core.httpsemantics import HeadAsGet, PublicCors
from hdab.core.identifiers import InvalidIdentifier
from hdab.core.logs import configure_logging
from hdab.core.problems import install_handlers
from hdab.core.ratelimit import RateLimits, limited
from hdab.core.scheduler import InProcessScheduler
from hdab.core.security import SecurityHeaders
from hdab.core.settings import ConfigurationError, Settings
from hdab.core.templating import templates
from hdab.core.web import health_router, language_router, preferred_language
from hdab.extracts import health as extracts_health
from hdab.extracts import routes as extracts_routes
from hdab.extracts import views as extracts_views
from hdab.reception import keys as reception_keys
from hdab.reception import routes as reception_routes
from hdab.reception import views as reception_views

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

# JSON API first, then pages, each in the order catalog, applications, extracts (the routes' order)
ROUTERS = (
    catalog_routes.router,
    applications_routes.router,
    extracts_routes.router,
    reception_routes.router,
    catalog_views.router,
    applications_views.router,
    extracts_views.router,
    reception_views.router,
)
# what each domain finds lacking: /readyz and the home page's banners say it
HEALTH_FINDINGS: tuple[notices.Source, ...] = (catalog_health.findings, extracts_health.findings)

core_router = APIRouter()

MAX_BODY = 1024 * 1024  # forms and JSON
# files, up to the import limit
UPLOAD_PATHS = frozenset({"/api/catalog/import", "/api/optouts/import", "/api/reception/submitters"})


@core_router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request, principal: Principal | None = Depends(optional_principal)) -> Response:
    settings = runtime.settings()
    language = preferred_language(request)
    # What the service lacks, told to the people who can act on it (data holders, admins, staff).
    shown = (
        notices.banners(notices.collect(settings, HEALTH_FINDINGS), principal.roles, language)
        if principal
        else []
    )
    return templates.TemplateResponse(
        request,
        "core/index.html",
        {
            "principal": principal,
            "dev_idp": settings.dev_idp_enabled,
            "notices": shown,
            "notice_lang": language,
        },
    )


@core_router.get("/api/me", tags=["auth"], summary="Who the token says you are")
def me(principal: Principal = Depends(current_principal)) -> dict[str, object]:
    return {
        "subject": principal.subject,
        "issuer": principal.issuer,
        "roles": sorted(principal.roles),
        "organisation": principal.organisation,
        "has_national_id": principal.national_id is not None,
    }


def _dev_router(idp: DevIdentityProvider, secure_cookie: bool) -> APIRouter:
    router = APIRouter(prefix="/dev", include_in_schema=False)

    @router.get("/idp/jwks.json")
    def jwks() -> dict[str, object]:
        return idp.jwks()

    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request, next: str = "/") -> Response:
        return templates.TemplateResponse(
            request,
            "dev/signin.html",
            {"roles": list(Role), "dev_idp": True, "subject": None, "next": oidc.safe_next(next)},
        )

    @router.post("/signin", dependencies=[Depends(limited("signin", "rate_limit_signin"))])
    def signin(
        subject: Annotated[str, Form(min_length=1, max_length=200)],
        roles: Annotated[list[Role], Form()],
        organisation: Annotated[str, Form()] = "",
        pid: Annotated[str, Form()] = "",
        email: Annotated[str, Form(max_length=320)] = "",
        name: Annotated[str, Form(max_length=200)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        try:
            token = idp.issue(
                subject, roles, organisation or None, pid or None, name=name or None, email=email or None
            )
        except InvalidIdentifier as exc:
            field = "organisation" if organisation and "organisation" in str(exc) else "pid"
            raise InvalidInput("cannot sign in", [FieldError(field, str(exc))]) from None
        response = RedirectResponse(oidc.safe_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookie, path="/"
        )
        return response

    return router


def _first_audit_checkpoint() -> None:
    """The audit chain's first checkpoint, when there is none: it records where plain hashes end."""
    try:
        with runtime.database().session() as session:
            made = audit.ensure_checkpoint(session)
    except Exception as exc:  # a start-up check: never stops the service, always says why
        log.warning("no first audit checkpoint: %s", exc.__class__.__name__ + ": " + str(exc)[:300])
        return
    if made is not None:
        log.info("first audit checkpoint: entry %d, plain hashes until entry %s", made.seq, made.legacy_until)


def create_app(settings: Settings | None = None, *, run_scheduler: bool = False) -> FastAPI:
    """Build the web app for ``settings`` (default: the environment's). Refuses unsafe production settings."""
    runtime.configure(settings if settings is not None else runtime.settings())  # also configures Celery
    settings = runtime.settings()
    settings.ensure_startable()
    if settings.is_production:  # the receiver's keys are a file: checked here, where the receiver starts
        assert settings.reception_key_file is not None
        problems = reception_keys.production_problems(settings.reception_key_file)
        if problems:
            raise ConfigurationError("refusing to start in production: " + "; ".join(problems))
    configure_logging(settings)

    scheduler = InProcessScheduler() if run_scheduler and is_eager() else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _first_audit_checkpoint()
        if scheduler is not None:
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop()

    app = FastAPI(
        title="hdab",
        version=hdab.__version__,
        description="Health Data Access Body for NPR and KPR (EHDS)",
        lifespan=lifespan,
        dependencies=[Depends(csrf.protect)],
        docs_url=None,  # hdab.core.apidocs serves /docs and /redoc without a CDN or inline script
        redoc_url=None,
    )
    secure = settings.serves_https
    issuers: list[TrustedIssuer] = oidc.api_issuers(settings)
    if settings.dev_idp_enabled:
        idp = DevIdentityProvider(settings)
        issuers.append(idp.trusted_issuer())
        app.include_router(_dev_router(idp, secure))
    app.state.token_verifier = TokenVerifier(issuers)
    app.state.dpop_required = frozenset(i.issuer for i in settings.api_issuers if i.require_dpop)
    app.state.rate_limits = RateLimits(settings)
    app.state.health_findings = HEALTH_FINDINGS  # read by /readyz (hdab.core.web)
    app.include_router(oidc.router(oidc.SignIn(settings), dev_idp=settings.dev_idp_enabled))
    install_handlers(app)
    document_problems(app)
    app.include_router(apidocs.router)  # before /static: it mounts /static/apidocs
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(health_router)
    app.include_router(language_router)
    app.include_router(core_router)
    for router in ROUTERS:
        app.include_router(router)
    # authlib keeps state, nonce and PKCE verifier of a sign-in in progress here (signed, 10 minutes)
    app.add_middleware(
        SessionMiddleware,
        secret_key=hashlib.sha256(b"signin-state|" + settings.secret_key.encode()).hexdigest(),
        session_cookie=oidc.STATE_COOKIE,
        max_age=600,
        same_site="lax",
        https_only=secure,
    )
    app.add_middleware(csrf.CsrfCookie, secure=secure)
    app.add_middleware(outbox.DeferLongWork)  # no broker: an approval answers before its extract runs
    # harvesters, link checkers and other sites' pages read the public catalogue (issue 18)
    app.add_middleware(PublicCors, public=catalog_views.CORS_PATHS, expose=catalog_views.CORS_EXPOSED)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        SecurityHeaders,
        hsts=secure,
        max_body=MAX_BODY,
        upload_paths=UPLOAD_PATHS,
        max_upload=settings.import_max_bytes + 65536,
        own_limit_paths=reception_routes.OWN_LIMIT_PATHS,  # a receipt, not a problem, past 15 MB
    )
    return app
