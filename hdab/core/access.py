"""The access convention: who is calling this request, and whether their role may.

Every route depends on :func:`optional_principal`, :func:`current_principal` or
:func:`require_roles`. A request proves who it is by an ``Authorization`` header (Bearer or DPoP,
verified by the app's :class:`~hdab.core.auth.TokenVerifier`), by a sign-in session cookie (a row
in :mod:`hdab.core.sessions`) or by the development identity provider's token cookie.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request

from hdab.core import dpop, ratelimit, runtime, sessions
from hdab.core.auth import SESSION_COOKIE, SIGNIN_COOKIE, Principal, Role, TokenVerifier
from hdab.core.errors import Forbidden, Unauthenticated


def _authenticate(request: Request) -> Principal | None:
    """The principal of an Authorization header (Bearer or DPoP) or of a session cookie; None if none."""
    verifier: TokenVerifier = request.app.state.token_verifier
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "dpop") or not token:
            raise Unauthenticated("use the Authorization scheme Bearer or DPoP")
        principal, jkt = verifier.verify_bound(token)
        if scheme.lower() == "dpop":
            proofs = request.headers.getlist("dpop")
            if jkt is None:
                raise Unauthenticated("this token is not bound to a key: send it with the Bearer scheme")
            if len(proofs) != 1:
                raise dpop.InvalidProof("send exactly one DPoP header with the request")
            dpop.verify(
                proofs[0], method=request.method, url=_public_url(request), access_token=token, jkt=jkt
            )
        elif jkt is not None:
            raise Unauthenticated(
                "this token is bound to a key (DPoP): send it as Authorization: DPoP with a DPoP proof"
            )
        elif principal.issuer in request.app.state.dpop_required:
            raise Unauthenticated("this issuer's tokens must be DPoP-bound")
        return principal
    session_id = request.cookies.get(SIGNIN_COOKIE)
    if session_id:
        signed_in = sessions.load(session_id)
        if signed_in is None:
            raise Unauthenticated("your sign-in has ended: sign in again")
        return signed_in
    dev_token = request.cookies.get(SESSION_COOKIE)
    return verifier.verify(dev_token) if dev_token else None


def _public_url(request: Request) -> str:
    """The URL as the client addressed it: the configured public base plus the path."""
    return runtime.settings().base_url + request.url.path


def optional_principal(request: Request) -> Principal | None:
    """The caller, or None when no credential was sent; an invalid credential is a 401, never anonymous.

    Invalid credentials are counted per client address: past the limit the answer is 429, so tokens
    and session ids cannot be guessed at speed.
    """
    try:
        principal = _authenticate(request)
    except Unauthenticated:
        ratelimit.count(request, "token-failures", "rate_limit_token_failures")
        raise
    if principal is not None:
        request.state.principal = principal
    return principal


def current_principal(principal: Principal | None = Depends(optional_principal)) -> Principal:
    if principal is None:
        raise Unauthenticated()
    return principal


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency letting through principals holding any of ``roles``; others get a 403."""

    allowed = ", ".join(roles)

    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(f"this needs one of the roles: {allowed}")
        return principal

    return dependency
