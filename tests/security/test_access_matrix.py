"""Every route of the app, called by every role and by nobody, against a matrix written by hand.

The expected outcome of each route is written here, from what the law and the workflow say each
role may do; it is not read from the app's permission tables. A route the matrix does not name
fails the test, so a new route cannot ship without a decision about who may use it.

Outcomes: ``ok`` (the role gate let the caller through: 2xx, 3xx, 400, 409 or 422),
``login`` (401, or a page sending the browser to sign in), ``deny`` (403, or 404 for an object the
caller may not see). A 5xx is always a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.applications.factories import ALL_MET
from tests.security.conftest import ANON, A, C, D, H, M, R, S, Z

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "access-matrix.txt"

# who is calling: nobody, and one principal per role
CALLERS = [ANON, A, C, D, H, M, Z, R, S]
ROLES = CALLERS[1:]

PUBLIC = "public"  # everyone, signed in or not
ANY = "any signed-in"  # every role; nobody gets login
STAFF = {C, D, M}

# (method, path) -> who gets through. A set names the roles let through; the rest are denied and
# nobody is asked to sign in. A dict gives outcomes caller by caller where the rule is not that simple.
MATRIX: dict[tuple[str, str], Any] = {
    # documentation, health, the service's own pages
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/ns"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/language/{lang}"): PUBLIC,  # keeps the chosen language of the pages (a cookie)
    ("GET", "/static"): PUBLIC,
    # signing in and out
    ("GET", "/dev/idp/jwks.json"): PUBLIC,
    ("GET", "/dev/signin"): PUBLIC,
    ("POST", "/dev/signin"): PUBLIC,
    ("GET", "/signin"): PUBLIC,
    ("GET", "/auth/{name}/login"): dict.fromkeys(CALLERS, "deny"),  # no provider of that name
    ("GET", "/auth/{name}/callback"): dict.fromkeys(CALLERS, "deny"),
    ("POST", "/signout"): PUBLIC,
    ("GET", "/api/me"): ANY,
    # the catalogue: open to all; data holders (their own organisation's datasets) and admins edit it.
    # The data holder here has no organisation in its token, so it may write none (403); a holder of
    # the publisher's organisation may (tests/catalog/test_ownership.py).
    ("GET", "/api/datasets"): PUBLIC,
    ("GET", "/api/datasets/{identifier}"): PUBLIC,
    ("POST", "/api/datasets"): {M},
    ("PUT", "/api/datasets/{identifier}"): {M},
    ("DELETE", "/api/datasets/{identifier}"): {M},
    ("GET", "/api/datasets/{identifier}/versions"): PUBLIC,
    ("POST", "/api/catalog/import"): {M},
    ("GET", "/api/datasets/{identifier}/quality"): PUBLIC,
    ("GET", "/api/search"): PUBLIC,
    ("GET", "/catalog"): PUBLIC,
    ("GET", "/datasets"): PUBLIC,
    ("GET", "/datasets/{identifier}"): PUBLIC,
    ("GET", "/catalog/datasets/{identifier}"): PUBLIC,
    # what the catalogue mints dereferences, for everyone (the fixture's {name} names none: 404)
    ("GET", "/catalog/dcat-ap-no"): PUBLIC,
    ("GET", "/catalog/records/{identifier}"): PUBLIC,
    ("GET", "/datasets/{identifier}/distributions/{name}"): dict.fromkeys(CALLERS, "deny"),
    ("GET", "/agents/{name}"): dict.fromkeys(CALLERS, "deny"),
    ("GET", "/services/access"): PUBLIC,
    ("GET", "/licences/ehds-permit"): PUBLIC,
    ("GET", "/sparql"): PUBLIC,
    ("POST", "/sparql"): PUBLIC,  # read-only: a query by form post or body
    # applications: the applicant's own case; the access body's staff
    ("POST", "/api/applications"): {A},
    ("GET", "/api/applications"): ANY,
    ("GET", "/api/inbox"): STAFF,
    ("GET", "/api/applications/{case_id}"): {A} | STAFF,
    ("PATCH", "/api/applications/{case_id}"): {A},
    ("POST", "/api/applications/{case_id}/submit"): {A},
    ("POST", "/api/applications/{case_id}/start-pre-screening"): {C, M},
    ("POST", "/api/applications/{case_id}/request-information"): {C, M},
    ("POST", "/api/applications/{case_id}/provide-information"): {A},
    ("POST", "/api/applications/{case_id}/start-processing"): {C, M},
    ("POST", "/api/applications/{case_id}/estimate-fee"): {C, M},
    ("POST", "/api/applications/{case_id}/accept-fee"): {A},
    ("POST", "/api/applications/{case_id}/withdraw"): {A},
    ("POST", "/api/applications/{case_id}/record-assessment"): {C, M},
    ("POST", "/api/applications/{case_id}/extend-deadline"): {C, D, M},
    ("POST", "/api/applications/{case_id}/approve"): {D},  # a caseworker can never decide
    ("POST", "/api/applications/{case_id}/refuse"): {D},
    ("POST", "/api/applications/{case_id}/appeal"): {A},
    ("POST", "/api/applications/{case_id}/decide-appeal"): {D},
    ("POST", "/api/applications/{case_id}/mark-answered"): {C, M},
    ("POST", "/api/permits/{permit_id}/amend"): {A},
    ("POST", "/api/permits/{permit_id}/approve-amendment"): {D},
    ("POST", "/api/permits/{permit_id}/refuse-amendment"): {D},
    ("POST", "/api/permits/{permit_id}/extend"): {A},
    ("POST", "/api/permits/{permit_id}/approve-extension"): {D},
    ("POST", "/api/permits/{permit_id}/refuse-extension"): {D},
    ("POST", "/api/permits/{permit_id}/revoke"): {D},
    ("GET", "/api/permits/{permit_id}"): {A} | STAFF,
    ("GET", "/api/permits/{permit_id}/jws"): {A} | STAFF,
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    ("GET", "/api/register"): PUBLIC,
    ("GET", "/api/notifications"): ANY,
    ("POST", "/api/notifications/{notification_id}/read"): {A},  # the applicant's own notification
    # citizens and their opt-out
    ("GET", "/api/optouts/me"): {Z},
    ("POST", "/api/optouts/me"): {Z},
    ("DELETE", "/api/optouts/me"): {Z},
    ("POST", "/api/optouts/import"): {M},
    # extracts and deliveries
    ("POST", "/api/extracts"): {C, M},
    ("GET", "/api/extracts/{job_id}"): {C, M},
    ("POST", "/api/extracts/{job_id}/review"): {C, M},
    ("GET", "/api/statistics/{application_id}/answer"): {A} | STAFF,
    ("GET", "/api/deliveries"): {R, C, M},
    ("GET", "/api/deliveries/{delivery_id}/manifest"): {R, C, M},
    ("GET", "/api/deliveries/{delivery_id}/files/{name}"): {R, C, M},
    ("POST", "/api/deliveries/{delivery_id}/receipt"): {R},
    ("GET", "/api/deliveries-access-log"): {C, M},
    # pages
    ("GET", "/applications"): ANY,
    ("GET", "/inbox"): STAFF,
    ("GET", "/register"): PUBLIC,
    ("GET", "/applications/new"): ANY,
    ("POST", "/applications"): {A},
    ("POST", "/applications/cart"): {A},
    ("GET", "/applications/{case_id}/edit/{section}"): {A},
    ("POST", "/applications/{case_id}/edit/{section}"): {A},
    ("GET", "/applications/{case_id}"): {A} | STAFF,
    ("POST", "/applications/{case_id}/do/{command}"): {A},  # the command is "withdraw"
    ("GET", "/permits/{permit_id}"): {A} | STAFF,
    ("GET", "/extracts/{job_id}"): {C, M},
    ("POST", "/extracts/{job_id}/review"): {C, M},
    ("POST", "/extracts/{job_id}/rerun"): {C, M},  # the world's job is delivered: staff get 409
    ("GET", "/extracts/permits/{permit_id}"): {C, M},
    # reception of reports: keys and message types are public; messages come only with a DPoP-bound
    # HelseID token (every caller here holds a bearer token: 401 with a receipt); a submitter sees its
    # own status, the registry's staff (data holders of its organisation; this one has none) and
    # admins any unit's
    ("GET", "/api/reception/keys"): PUBLIC,
    ("GET", "/api/reception/types"): PUBLIC,
    ("GET", "/api/reception/types/{name}/{version}/schema"): PUBLIC,
    ("GET", "/api/reception/types/{name}/{version}/example"): PUBLIC,
    ("POST", "/api/reception/message"): dict.fromkeys(CALLERS, "login"),
    ("POST", "/api/reception/validate"): dict.fromkeys(CALLERS, "login"),
    ("GET", "/api/reception/status"): {S, M},
    ("GET", "/api/reception/quality/{dataset}"): PUBLIC,
    ("POST", "/api/reception/submitters"): {M},
    ("GET", "/reception"): {M},
    ("GET", "/reception/units/{organisation}"): {M},
}

# valid bodies, so that the role gate (not validation) decides the outcome
REASONS = {"reasons": "a reason"}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/applications"): {"type": "access"},
    ("POST", "/api/applications/{case_id}/request-information"): {"message": "send the REK approval"},
    ("POST", "/api/applications/{case_id}/provide-information"): {"message": "attached"},
    ("POST", "/api/applications/{case_id}/estimate-fee"): {"amount": "0"},
    ("POST", "/api/applications/{case_id}/record-assessment"): {"criteria": ALL_MET},
    ("POST", "/api/applications/{case_id}/extend-deadline"): {"reason": "complex case"},
    ("POST", "/api/applications/{case_id}/approve"): {"valid_until": "2029-12-31"},
    ("POST", "/api/applications/{case_id}/refuse"): REASONS,
    ("POST", "/api/applications/{case_id}/appeal"): REASONS,
    ("POST", "/api/applications/{case_id}/decide-appeal"): {"upheld": False, **REASONS},
    ("POST", "/api/permits/{permit_id}/amend"): {"reason": "one more variable"},
    ("POST", "/api/permits/{permit_id}/refuse-amendment"): REASONS,
    ("POST", "/api/permits/{permit_id}/extend"): {"valid_until": "2031-12-31", "reason": "more time"},
    ("POST", "/api/permits/{permit_id}/refuse-extension"): REASONS,
    ("POST", "/api/permits/{permit_id}/revoke"): REASONS,
    ("POST", "/api/deliveries/{delivery_id}/receipt"): {"files": {}},
}
# the pages take forms
FORMS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/applications"): {"type": "access"},
    ("POST", "/applications/cart"): {"dataset": "npr-somatikk", "variables": ["kjonn"]},
    ("POST", "/applications/{case_id}/edit/{section}"): {"title": "Hip fractures"},
    ("POST", "/applications/{case_id}/do/{command}"): {"reason": "no longer needed"},
    ("POST", "/extracts/{job_id}/review"): {"decision": "release"},
    ("POST", "/extracts/{job_id}/rerun"): {},
}

# routes that change what later calls see go last, in this order
LAST = [
    ("POST", "/api/applications/{case_id}/withdraw"),
    ("POST", "/applications/{case_id}/do/{command}"),
    ("POST", "/api/permits/{permit_id}/revoke"),
    ("DELETE", "/api/datasets/{identifier}"),
]


def expected(route: tuple[str, str], caller: str) -> str:
    rule = MATRIX[route]
    if rule == PUBLIC:
        return "ok"
    if isinstance(rule, dict):
        return str(rule[caller])
    if caller == ANON:
        return "login"
    if rule == ANY:
        return "ok"
    return "ok" if caller in rule else "deny"


def outcome(response: Any) -> str:
    status = response.status_code
    if status >= 500:
        return f"5xx ({status})"
    if status == 401 or (300 <= status < 400 and "/signin" in response.headers.get("location", "")):
        return "login"
    if status in (403, 404):
        return "deny"
    return "ok"


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, included routers too (FastAPI nests them)."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):
                for context in route.effective_route_contexts():
                    found.update((m, context.path) for m in context.methods or [] if m != "HEAD")
            elif hasattr(route, "methods"):
                found.update((m, route.path) for m in route.methods or [] if m != "HEAD")
            elif hasattr(route, "routes"):
                found.add(("GET", route.path))  # a mount: static files

    walk(app.router.routes)
    return sorted(found, key=lambda r: (r in LAST, LAST.index(r) if r in LAST else 0, r[1], r[0]))


def url_for(path: str, values: dict[str, Any]) -> str:
    if path == "/api/deliveries/{delivery_id}/files/{name}":
        return f"/api/deliveries/{values['delivery_id']}/files/{values['delivery_name']}"
    if path == "/static":
        return "/static/search.js"
    if path == "/language/{lang}":
        return "/language/en?next=/register"
    if path == "/api/reception/quality/{dataset}":
        return "/api/reception/quality/npr-somatikk"
    if path == "/reception/units/{organisation}":
        return "/reception/units/974589028"
    if path.startswith("/api/reception/types/{name}/{version}"):
        return path.format(name="npr-basismelding", version="1")
    return path.format(**{k: v for k, v in values.items() if isinstance(v, str)})


def test_every_route_answers_every_role_as_the_matrix_says(world: tuple[TestClient, dict[str, Any]]) -> None:
    client, values = world
    routes = app_routes(client.app)  # type: ignore[arg-type]
    unnamed = [r for r in routes if r not in MATRIX]
    assert not unnamed, f"routes without a rule in the access matrix: {unnamed}"
    stale = [r for r in MATRIX if r not in routes]
    assert not stale, f"rules for routes that no longer exist: {stale}"

    lines = [f"{'route':<62}" + "".join(f"{c[:10]:>11}" for c in CALLERS)]
    wrong = []
    for method, path in routes:
        url = url_for(path, values)
        row = f"{method + ' ' + path:<62}"
        for caller in CALLERS:
            body: dict[str, Any] = {}
            if (method, path) in FORMS:
                body = {"data": {**FORMS[(method, path)], "csrf_token": values["csrf"]}}
            elif method in ("POST", "PUT", "PATCH"):
                body = {"json": BODIES.get((method, path), {})}
            response = client.request(
                method, url, headers=values["callers"][caller], follow_redirects=False, **body
            )
            got, want = outcome(response), expected((method, path), caller)
            row += f"{got if got == want else got.upper() + '!':>11}"
            if got != want:
                wrong.append(
                    f"{method} {path} as {caller}: expected {want}, got {response.status_code} "
                    f"{response.text[:160]}"
                )
        lines.append(row)
    table = "\n".join(lines)
    print(table)
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(table + "\n", encoding="utf-8")
    assert not wrong, "\n".join(wrong)
