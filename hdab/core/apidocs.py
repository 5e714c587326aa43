"""The API's documentation pages: Swagger UI at /docs and ReDoc at /redoc, served by the app itself.

Their scripts and styles come from the ``fastapi-offline`` package (mounted at /static/apidocs), not
from a CDN, and each page is started by a script file of ours (static/swagger-init.js,
static/redoc-init.js) that reads the OpenAPI URL from a data attribute: the site's
Content-Security-Policy allows no inline script or style. Swagger UI runs under that policy as is.
ReDoc inserts <style> elements (styled-components) and builds its search worker from a blob: URL,
so /redoc gets a policy of its own from hdab.core.security: a fresh nonce for styles per response,
blob: workers, everything else as strict as the site's.

Swagger UI's OAuth2 redirect page is left out on purpose: the API declares no OAuth2 security
scheme, so Swagger UI never starts an OAuth2 flow that would return to it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from hdab.core import security
from hdab.core.templating import templates

ASSETS_URL = "/static/apidocs"
# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
REDOC_POLICY_ADDS = {"worker-src": "'self' blob:"}

router = APIRouter(include_in_schema=False)
router.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="apidocs-assets")


def _urls(request: Request) -> dict[str, str]:
    root = request.scope.get("root_path", "")
    return {"openapi_url": f"{root}{request.app.openapi_url}", "assets": f"{root}{ASSETS_URL}", "root": root}


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> Response:
    return templates.TemplateResponse(request, "core/swagger.html", _urls(request))


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> Response:
    nonce = security.new_nonce()
    response = templates.TemplateResponse(request, "core/redoc.html", {**_urls(request), "nonce": nonce})
    response.headers["content-security-policy"] = security.with_style_nonce(nonce, REDOC_POLICY_ADDS)
    return response
