"""Errors that carry their HTTP meaning, and their RFC 9457 problem details (rendered by ``problems``).

One convention everywhere: 401 with no or an invalid token, 403 when the role may not do this,
404 when the object exists but the caller may not see it (or does not exist), 409 when the
object's state forbids the action, 422 for a payload that fails validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://hdab.no/problems/"


class ActionableFailure(Exception):
    """A reason work cannot be done that people can act on (a job's, a reading of the registry's).

    ``reason`` is the sentence stored and shown to people (English); ``code`` and ``params`` name
    the same reason for machines (an audit entry), so that it can be translated later. Each
    subclass names its default ``code``.
    """

    code = "cannot_run"

    def __init__(self, reason: str, *, code: str | None = None, **params: str) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code
        self.params = params

    def details(self) -> dict[str, Any]:
        """The code and parameters of the reason, for an audit entry."""
        return {"reason": self.code, **self.params}


@dataclass(frozen=True)
class FieldError:
    """One invalid input: where it is (a dotted path) and what to fix."""

    field: str
    message: str


@dataclass
class ProblemError(Exception):
    """Base of every error the API answers on purpose."""

    detail: str
    status: int = 400
    slug: str = "bad-request"
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


class Unauthenticated(ProblemError):
    def __init__(self, detail: str = "sign in, or send a valid bearer token") -> None:
        super().__init__(detail, 401, "unauthenticated", headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ProblemError):
    def __init__(self, detail: str = "your role does not allow this") -> None:
        super().__init__(detail, 403, "forbidden")


class NotFound(ProblemError):
    def __init__(self, detail: str = "no such object") -> None:
        super().__init__(detail, 404, "not-found")


class Conflict(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, 409, "conflict")


class InvalidInput(ProblemError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, 422, "invalid-input", errors or [])


def problem_body(
    status: int,
    detail: str,
    slug: str,
    errors: list[FieldError] | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return body


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
# answered by every route through the conventions above (auth, validation, rate limits)
COMMON_ERRORS = {
    "401": "no or an invalid credential",
    "403": "your role may not do this",
    "422": "the request is not valid; errors names each field",
    "429": "too many requests; see Retry-After",
}


OWN_ERROR_BODIES = "x-own-error-bodies"  # openapi_extra: the statuses an operation answers in its own body


def document_problems(app: FastAPI) -> None:
    """Make /openapi.json tell the truth about errors: problem+json bodies, on every operation."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                # an operation answering errors in a body of its own (a receipt) names those statuses
                own = {str(s) for s in operation.pop(OWN_ERROR_BODIES, [])}
                for status, description in COMMON_ERRORS.items():
                    responses.setdefault(status, {"description": description})
                for status, response in responses.items():
                    if status[0] in "45" and status not in own:
                        response["content"] = problem
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
