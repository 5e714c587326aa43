"""Principals and tokens: who may call, and how a token proves it.

A principal is whoever calls: a person signed in through an identity provider, or a machine client.
Tokens are JWTs from a configured issuer, validated for issuer, audience, expiry and signature
against the issuer's keys. The development identity provider is one such issuer (dev and test only);
a later OpenID Connect provider is another, with its own claim mapping. The request side (which
credential a request carries, the role a route needs) is :mod:`hdab.core.access`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from hdab.core import clock
from hdab.core.audit import identifier_ref
from hdab.core.dpop import jkt_of
from hdab.core.errors import Unauthenticated
from hdab.core.identifiers import (
    InvalidIdentifier,
    contains_person_number,
    person_number_kind,
    validate_organisation_number,
)

SESSION_COOKIE = "hdab_session"  # the development identity provider's token
SIGNIN_COOKIE = "hdab_sid"  # a sign-in session through an OpenID Connect provider (id of a server-side row)
AUDIENCE = "hdab"
ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
LEEWAY_SECONDS = 30


class Role(enum.StrEnum):
    APPLICANT = "applicant"
    CASEWORKER = "caseworker"
    DECISION_MAKER = "decision_maker"
    DATA_HOLDER = "data_holder"
    ADMIN = "admin"
    CITIZEN = "citizen"
    RECIPIENT = "recipient"
    SUBMITTER = "submitter"  # a reporting unit's system sending daily reports (reception)


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``national_id`` (from the ``pid`` claim) is kept out of repr and logs."""

    subject: str
    issuer: str
    roles: frozenset[Role]
    organisation: str | None = None
    national_id: str | None = field(default=None, repr=False)
    name: str | None = None
    email: str | None = None

    def has_role(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def actor(self) -> str:
        """How the audit log, and every record of who did what, names this principal: subject@issuer.

        An opaque subject may happen to hold eleven digits that pass as a person number, which the
        audit log never holds in clear: such an actor is named by its keyed hash instead (the same
        principal always gets the same name), never refused.
        """
        name = f"{self.subject}@{self.issuer}"
        if contains_person_number(name):
            return identifier_ref(name)
        return name


class InvalidClaims(ValueError):
    """A token's claims cannot describe a principal."""


def principal_from_claims(claims: dict[str, Any], *, allow_synthetic_ids: bool) -> Principal:
    """The claim mapping shared by our issuers: ``roles``, ``org`` and ``pid``."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidClaims("the token has no subject")
    raw_roles = claims.get("roles", [])
    if not isinstance(raw_roles, list):
        raise InvalidClaims("roles must be a list")
    roles = frozenset(Role(r) for r in raw_roles if r in Role._value2member_map_)
    organisation = claims.get("org")
    national_id = claims.get("pid")
    check_identifiers(
        str(organisation) if organisation is not None else None,
        str(national_id) if national_id is not None else None,
        allow_synthetic_ids=allow_synthetic_ids,
    )
    return Principal(
        subject=subject,
        issuer=str(claims["iss"]),
        roles=roles,
        organisation=str(organisation) if organisation is not None else None,
        national_id=str(national_id) if national_id is not None else None,
        name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        email=verified_email(claims),
    )


def check_identifiers(
    organisation: str | None, national_id: str | None, *, allow_synthetic_ids: bool
) -> None:
    """Refuse claims whose organisation number or person number (where given) does not validate."""
    try:
        if organisation is not None:
            validate_organisation_number(organisation)
        if national_id is not None:
            person_number_kind(national_id, allow_synthetic=allow_synthetic_ids)
    except InvalidIdentifier as exc:
        raise InvalidClaims(str(exc)) from None


def _verified(value: Any) -> bool:
    """OpenID Connect's ``email_verified`` is a JSON boolean; some providers send the string "true".

    ``1`` equals ``True`` in Python, so the type is checked: a number is no answer.
    """
    return value is True or (isinstance(value, str) and value == "true")


def verified_email(claims: dict[str, Any], claim: str = "email") -> str | None:
    """The email claim, lower-cased; only when the provider says it is verified (``email_verified``).

    A verified email binds a person to the cases that name it and makes two sign-ins the same person
    (impartiality), so an address the provider did not verify, or says nothing about, is no identity.
    """
    email = claims.get(claim)
    if not isinstance(email, str) or "@" not in email or not _verified(claims.get("email_verified")):
        return None
    return email.strip().lower()


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens the API accepts, its keys and how its claims map to a principal."""

    issuer: str
    audience: str
    keys: Callable[[], KeySet]
    to_principal: Callable[[dict[str, Any]], Principal]
    refresh: Callable[[], KeySet] | None = None  # fetch the keys again: the issuer may have rotated
    unknown_key_hint: str = ""  # what to tell a caller whose token names a key we do not have


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    not_before: float
    expires: float
    verified_at: float
    jkt: str | None  # the DPoP key the token is bound to


class TokenVerifier:
    """Verifies tokens; a verified token is remembered briefly, its time claims checked on every use.

    Checking a signature costs more than the rest of a small request. A token is immutable, so a
    token verified moments ago needs only its ``nbf``/``exp`` checked again; after ``CACHE_SECONDS``
    it is verified afresh, so a key the issuer withdraws stops working within that time.
    """

    CACHE_SECONDS = 60
    CACHE_SIZE = 4096

    def __init__(self, issuers: list[TrustedIssuer]) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._cache: OrderedDict[str, _Verified] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        return self.verify_bound(token)[0]

    def verify_bound(self, token: str) -> tuple[Principal, str | None]:
        """The token's principal and the thumbprint of the DPoP key it is bound to (None: a bearer token)."""
        now = clock.now().timestamp()
        with self._lock:
            hit = self._cache.get(token)
        if (
            hit is not None
            and now - hit.verified_at < self.CACHE_SECONDS
            and hit.not_before - LEEWAY_SECONDS <= now < hit.expires + LEEWAY_SECONDS
        ):
            return hit.principal, hit.jkt
        principal, claims = self._verify(token)
        jkt = jkt_of(claims)
        with self._lock:
            self._cache[token] = _Verified(
                principal, float(claims.get("nbf", claims.get("iat", 0))), float(claims["exp"]), now, jkt
            )
            self._cache.move_to_end(token)
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return principal, jkt

    def _verify(self, token: str) -> tuple[Principal, dict[str, Any]]:
        issuer = self._issuers.get(_unverified_issuer(token))
        if issuer is None:
            raise Unauthenticated("the token's issuer is not trusted")
        try:
            try:
                decoded = jwt.decode(token, issuer.keys(), algorithms=list(ALGORITHMS))
            except (InvalidKeyIdError, BadSignatureError):
                if issuer.refresh is None:
                    if issuer.unknown_key_hint:
                        raise Unauthenticated(f"the token is not valid: {issuer.unknown_key_hint}") from None
                    raise
                # a key we have not seen: the issuer may have rotated its keys since we fetched them
                decoded = jwt.decode(token, issuer.refresh(), algorithms=list(ALGORITHMS))
            JWTClaimsRegistry(
                now=lambda: int(clock.now().timestamp()),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": issuer.issuer},
                aud={"essential": True, "value": issuer.audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
            return issuer.to_principal(decoded.claims), decoded.claims
        except JoseError as exc:
            raise Unauthenticated(f"the token is not valid: {exc.description or exc.error}") from None
        except InvalidClaims as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None


def _unverified_issuer(token: str) -> str:
    """Read ``iss`` before verification, only to choose which keys verify the token."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthenticated("the token is not a signed JWT")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        raise Unauthenticated("the token is not a signed JWT") from None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str):
        raise Unauthenticated("the token names no issuer")
    return issuer
