"""Sign-in with OpenID Connect for people, and trust in the issuers of machine access tokens.

People: the authorization code flow with PKCE (S256), ``state`` and ``nonce`` through authlib's
Starlette client. The ID token is validated for issuer, audience, expiry, nonce and signature
against the provider's JWKS (authlib caches it and fetches it again when a token names a key it
does not know, which is how providers rotate). The provider's claims become roles and organisation
through the provider's ``mapping`` in the settings; the session is a row on our side and the browser
holds only its random id (HTTP-only, SameSite=Lax, Secure over https). Signing out deletes the row
and sends the browser to the provider's end-session endpoint.

Machines: each configured API issuer's access tokens are verified against its JWKS (fetched from
its discovery document, cached, fetched again on an unknown key); scopes map to roles.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, KeySet, OKPKey, RSAKey

from hdab.core import sessions
from hdab.core.auth import (
    AUDIENCE,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    InvalidClaims,
    Principal,
    Role,
    TrustedIssuer,
    check_identifiers,
    verified_email,
)
from hdab.core.errors import NotFound, ProblemError, Unauthenticated
from hdab.core.ratelimit import limited
from hdab.core.settings import ApiIssuer, ClaimMapping, OidcProvider, Settings
from hdab.core.templating import templates

log = logging.getLogger(__name__)

DISCOVERY = "/.well-known/openid-configuration"
STATE_COOKIE = "hdab_signin_state"  # authlib's state, nonce and PKCE verifier during one sign-in


class SignInFailed(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"sign-in failed: {detail}; start again from /signin", 400, "signin-failed")


def _claim_text(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return str(value) if isinstance(value, str | int) and str(value) else None


def map_claims(claims: dict[str, Any], mapping: ClaimMapping, *, issuer: str) -> Principal:
    """A person's principal from a provider's claims, by that provider's configured mapping."""
    subject = _claim_text(claims, "sub")
    if subject is None:
        raise InvalidClaims("the ID token has no subject")
    raw = claims.get(mapping.roles_claim, [])
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    roles = {Role(r) for r in mapping.default_roles}
    for value in values:
        role = mapping.role_values.get(str(value), str(value))
        if role in Role._value2member_map_:
            roles.add(Role(role))
    organisation = _organisation(claims, mapping.organisation_claim)
    national_id = _claim_text(claims, mapping.national_id_claim)
    check_identifiers(organisation, national_id, allow_synthetic_ids=True)
    return Principal(
        subject=subject,
        issuer=issuer,
        roles=frozenset(roles),
        organisation=organisation,
        national_id=national_id,
        name=_claim_text(claims, mapping.name_claim),
        email=verified_email(claims, mapping.email_claim),
    )


def _organisation(claims: dict[str, Any], claim: str) -> str | None:
    """The organisation number, without the ISO 6523 ``0192:`` prefix Maskinporten and HelseID use."""
    organisation = _claim_text(claims, claim)
    return organisation.removeprefix("0192:") if organisation is not None else None


def _private_key(provider: OidcProvider) -> ECKey | RSAKey | OKPKey:
    assert provider.client_key_file is not None
    key = JWKRegistry.import_key(json.loads(provider.client_key_file.read_text(encoding="utf-8")))
    if not isinstance(key, ECKey | RSAKey | OKPKey) or not key.is_private:
        raise ValueError(f"{provider.client_key_file} must hold a private EC, RSA or OKP key")
    return key


def _signing_alg(key: ECKey | RSAKey | OKPKey) -> str:
    if isinstance(key, ECKey):
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[str(key.curve_name)]
    return "PS256" if isinstance(key, RSAKey) else "EdDSA"


class SignIn:
    """The configured providers as authlib clients."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.providers = {p.name: p for p in settings.oidc_providers}
        self.oauth = OAuth()
        for provider in settings.oidc_providers:
            client_kwargs: dict[str, Any] = {
                "scope": provider.scope,
                "code_challenge_method": "S256",
                "timeout": 10,
            }
            options: dict[str, Any] = {}
            if provider.client_key_file is not None:
                key = _private_key(provider)
                client_kwargs["token_endpoint_auth_method"] = "private_key_jwt"  # noqa: S105
                options["client_secret"] = key
                options["client_auth_methods"] = [
                    PrivateKeyJWT(alg=_signing_alg(key), headers={"kid": key.kid} if key.kid else None)
                ]
            else:
                client_kwargs["token_endpoint_auth_method"] = "client_secret_basic"  # noqa: S105
                options["client_secret"] = provider.client_secret
            self.oauth.register(
                provider.name,
                client_id=provider.client_id,
                server_metadata_url=provider.issuer.rstrip("/") + DISCOVERY,
                client_kwargs=client_kwargs,
                **options,
            )

    def client(self, name: str) -> Any:
        if name not in self.providers:
            raise NotFound(f"no sign-in provider named {name!r}")
        return self.oauth.create_client(name)


def safe_next(target: str | None) -> str:
    """Only paths on this site: never an absolute or protocol-relative URL (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def router(signin: SignIn, *, dev_idp: bool) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    secure = signin.settings.serves_https
    lifetime = timedelta(hours=signin.settings.session_hours)

    @routes.get("/signin", response_class=HTMLResponse)
    def choose(request: Request, next: str = "/") -> Response:
        return templates.TemplateResponse(
            request,
            "core/signin.html",
            {
                "providers": list(signin.providers.values()),
                "dev_idp": dev_idp,
                "next": safe_next(next),
                "principal": None,
            },
        )

    @routes.get("/auth/{name}/login", dependencies=[Depends(limited("signin", "rate_limit_signin"))])
    async def login(request: Request, name: str, next: str = "/") -> Response:
        client = signin.client(name)
        request.session.clear()
        request.session["next"] = safe_next(next)
        redirect_uri = f"{signin.settings.base_url}/auth/{name}/callback"
        try:
            response: Response = await client.authorize_redirect(request, redirect_uri)
        except (httpx.HTTPError, OAuthError, ValueError) as exc:
            log.warning("sign-in provider %s unreachable: %s", name, type(exc).__name__)
            raise ProblemError(
                f"the sign-in provider {name} cannot be reached; try again later", 503, "provider-unavailable"
            ) from None
        return response

    @routes.get("/auth/{name}/callback", dependencies=[Depends(limited("signin", "rate_limit_signin"))])
    async def callback(request: Request, name: str) -> Response:
        client = signin.client(name)
        provider = signin.providers[name]
        if "error" in request.query_params:
            raise SignInFailed(f"the provider answered {request.query_params['error'][:100]}")
        try:
            token = await client.authorize_access_token(request)
        except OAuthError as exc:  # also a state that does not match this browser's sign-in
            raise SignInFailed(str(exc.error or "the provider's answer was not accepted")) from None
        except JoseError as exc:
            raise SignInFailed(f"the ID token is not valid ({exc.description or exc.error})") from None
        except httpx.HTTPError:
            raise SignInFailed("the provider could not be reached") from None
        claims = token.get("userinfo")
        if not claims:
            raise SignInFailed("the provider sent no ID token")
        try:
            principal = map_claims(dict(claims), provider.mapping, issuer=str(claims["iss"]))
        except InvalidClaims as exc:
            raise SignInFailed(str(exc)) from None
        session_id = sessions.create(principal, name, str(token["id_token"]), lifetime)
        target = safe_next(request.session.get("next"))
        request.session.clear()
        log.info("signed in through %s with roles %s", name, ",".join(sorted(principal.roles)) or "-")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SIGNIN_COOKIE,
            session_id,
            max_age=int(lifetime.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )
        return response

    @routes.post("/signout")
    async def signout(request: Request) -> Response:
        """End the session here and, when it came from a provider, at the provider too.

        The way on to the provider is a page that moves on by itself, not a redirect: browsers hold
        a form's redirects to the CSP's ``form-action 'self'``, and the provider is another origin.
        """
        session_id = request.cookies.get(SIGNIN_COOKIE)
        ended = sessions.end(session_id) if session_id else None
        response: Response = RedirectResponse("/", status_code=303)
        if ended is not None and ended[0] in signin.providers:
            provider_name, id_token = ended
            try:
                metadata = await signin.client(provider_name).load_server_metadata()
            except (httpx.HTTPError, OAuthError, ValueError):
                metadata = {}
            if metadata.get("end_session_endpoint"):
                query = urlencode(
                    {"id_token_hint": id_token, "post_logout_redirect_uri": f"{signin.settings.base_url}/"}
                )
                response = templates.TemplateResponse(
                    request,
                    "core/signout.html",
                    {
                        "provider": signin.providers[provider_name],
                        "target": f"{metadata['end_session_endpoint']}?{query}",
                        "principal": None,
                    },
                    headers={"Cache-Control": "no-store"},
                )
        response.delete_cookie(SIGNIN_COOKIE, path="/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return routes


class RemoteKeys:
    """An issuer's JWKS fetched over HTTPS: cached an hour, fetched again on demand (at most every 30 s)."""

    MAX_AGE = 3600.0
    MIN_INTERVAL = 30.0

    def __init__(self, issuer: ApiIssuer) -> None:
        self.issuer = issuer
        self._keys: KeySet | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def keys(self) -> KeySet:
        return self._fetched_within(self.MAX_AGE)

    def refresh(self) -> KeySet:
        """A token named a key we do not know: fetch again, unless we fetched moments ago."""
        return self._fetched_within(self.MIN_INTERVAL)

    def _fetched_within(self, seconds: float) -> KeySet:
        with self._lock:
            if self._keys is None or time.monotonic() - self._fetched > seconds:
                self._fetch()
            assert self._keys is not None
            return self._keys

    def _fetch(self) -> None:
        try:
            uri = self.issuer.jwks_uri
            if not uri:
                discovery = httpx.get(self.issuer.issuer.rstrip("/") + DISCOVERY, timeout=5)
                discovery.raise_for_status()
                uri = str(discovery.json()["jwks_uri"])
            response = httpx.get(uri, timeout=5)
            response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
            self._fetched = time.monotonic()
        except (httpx.HTTPError, KeyError, ValueError, JoseError) as exc:
            log.warning("keys of %s could not be fetched: %s", self.issuer.issuer, type(exc).__name__)
            if self._keys is None:
                raise Unauthenticated("the token's issuer cannot be reached to check it; try again") from None


def machine_principal(claims: dict[str, Any], issuer: ApiIssuer) -> Principal:
    """A machine client's principal: its client id, the roles its scopes grant, its organisation."""
    subject = _claim_text(claims, "client_id") or _claim_text(claims, "sub")
    if subject is None:
        raise InvalidClaims("the token names no client")
    raw = claims.get("scope", claims.get("scp", ""))
    scopes = raw.split() if isinstance(raw, str) else [str(s) for s in raw] if isinstance(raw, list) else []
    roles = frozenset(Role(issuer.scope_roles[s]) for s in scopes if s in issuer.scope_roles)
    organisation = _organisation(claims, issuer.organisation_claim)
    check_identifiers(organisation, None, allow_synthetic_ids=False)
    return Principal(subject=subject, issuer=issuer.issuer, roles=roles, organisation=organisation)


def api_issuers(settings: Settings) -> list[TrustedIssuer]:
    trusted = []
    for issuer in settings.api_issuers:
        remote = RemoteKeys(issuer)

        def to_principal(claims: dict[str, Any], issuer: ApiIssuer = issuer) -> Principal:
            return machine_principal(claims, issuer)

        trusted.append(
            TrustedIssuer(
                issuer.issuer, issuer.audience or AUDIENCE, remote.keys, to_principal, remote.refresh
            )
        )
    return trusted
