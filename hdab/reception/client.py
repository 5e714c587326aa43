"""The sender's side, whole: what an EPJ vendor's integration does (``hdab report send``, tests, bench).

A HelseID access token by client credentials with ``private_key_jwt`` (RFC 7523), bound to a DPoP key
(RFC 9449, answering the token endpoint's ``DPoP-Nonce`` challenge as HelseID asks); the receiver's
key that expires last; the payload sealed (:func:`hdab.reception.crypto.seal`); a DPoP proof for the
request that also carries ``msg_type``, ``msg_version``, ``msg_hash``, ``enc_sym_key`` and
``enc_key_id``; the vendor headers; and the order rules: messages go one at a time, the next only
after the previous one's 200, a 4xx stops the series (fix it and send again from there), a 5xx or a
broken connection is retried with a growing pause.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import ECKey

from hdab.core import clock
from hdab.core.dpop import token_hash
from hdab.reception.crypto import seal
from hdab.reception.domain import EXTRACTION_HEADER, SEQUENCE_HEADER

MESSAGE = "/api/reception/message"
VALIDATE = "/api/reception/validate"
KEYS = "/api/reception/keys"


def proof(key: ECKey, method: str, url: str, access_token: str | None = None, **extra: str) -> str:
    """A DPoP proof (RFC 9449) for one request; ``extra`` claims bind more (reception's payload claims)."""
    claims: dict[str, Any] = {
        "htm": method,
        "htu": url,
        "iat": int(clock.now().timestamp()),
        "jti": str(uuid.uuid4()),
        **extra,
    }
    if access_token is not None:
        claims["ath"] = token_hash(access_token)
    return jwt.encode({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}, claims, key)


@dataclass
class HelseIdToken:
    """Client credentials with private_key_jwt at a token endpoint, the token bound to ``dpop_key``."""

    token_endpoint: str
    client_id: str
    client_key: ECKey
    scope: str
    dpop_key: ECKey
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    _token: str | None = None
    _expires: float = 0.0

    def __call__(self) -> str:
        if self._token is None or time.monotonic() > self._expires - 30:
            self._token, lifetime = self._fetch()
            self._expires = time.monotonic() + lifetime
        return self._token

    def _assertion(self) -> str:
        now = int(clock.now().timestamp())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_endpoint,
            "iat": now,
            "nbf": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(
            {"alg": "ES256", "kid": str(self.client_key.kid), "typ": "JWT"}, claims, self.client_key
        )

    def _fetch(self) -> tuple[str, float]:
        nonce: str | None = None
        for _ in range(2):  # HelseID first answers use_dpop_nonce with a nonce to put in the proof
            extra = {"nonce": nonce} if nonce else {}
            response = self.http.post(
                self.token_endpoint,
                data={
                    "grant_type": "client_credentials",
                    "scope": self.scope,
                    "client_id": self.client_id,
                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    "client_assertion": self._assertion(),
                },
                headers={"DPoP": proof(self.dpop_key, "POST", self.token_endpoint, **extra)},
            )
            if response.status_code == 400 and response.headers.get("dpop-nonce") and nonce is None:
                nonce = response.headers["dpop-nonce"]
                continue
            response.raise_for_status()
            body = response.json()
            if body.get("token_type", "").lower() != "dpop":
                raise RuntimeError("the token endpoint did not bind the token to the DPoP key")
            return str(body["access_token"]), float(body.get("expires_in", 300))
        raise RuntimeError("the token endpoint kept asking for a DPoP nonce")


@dataclass(frozen=True)
class Software:
    vendor: str
    software: str
    version: str
    export_version: str

    def headers(self) -> dict[str, str]:
        return {
            "x-vendor-name": self.vendor,
            "x-software-name": self.software,
            "x-software-version": self.version,
            "x-export-software-version": self.export_version,
        }


@dataclass(frozen=True)
class Outcome:
    status: int
    receipt: dict[str, Any]
    correlation_id: str | None
    attempts: int

    @property
    def delivered(self) -> bool:
        return self.status == 200 and bool(self.receipt.get("delivered"))


@dataclass(frozen=True)
class Outgoing:
    payload: bytes  # the JSON array, as the EPJ made it
    message_type: str
    version: str
    sequence: int
    extraction: date


class Sender:
    """One unit's (or one vendor's, for a unit) sending to a receiver at ``base_url``."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        token: Callable[[], str],
        dpop_key: ECKey,
        software: Software,
        *,
        retries: int = 4,
        pause: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.dpop_key = dpop_key
        self.software = software
        self.retries = retries
        self.pause = pause
        self.sleep = sleep
        self._key: tuple[str, rsa.RSAPublicKey] | None = None

    def receiver_key(self, refresh: bool = False) -> tuple[str, rsa.RSAPublicKey]:
        """The receiver's key that expires last (cached; fetched again when refused as unknown or expired)."""
        if self._key is None or refresh:
            response = self.http.get(self.base_url + KEYS)
            response.raise_for_status()
            chosen = max(response.json(), key=lambda k: k["expirationDate"])
            public = serialization.load_pem_public_key(chosen["publicKey"].encode("ascii"))
            if not isinstance(public, rsa.RSAPublicKey):
                raise RuntimeError("the receiver's key is not an RSA key")
            self._key = (str(chosen["id"]), public)
        return self._key

    def send(self, message: Outgoing, *, dry_run: bool = False) -> Outcome:
        """Send one message; retry on 5xx and broken connections; a 4xx is the answer."""
        attempts = 0
        while True:
            attempts += 1
            try:
                outcome = self._post(message, dry_run, attempts)
            except httpx.TransportError:
                if attempts > self.retries:
                    raise
                self.sleep(self.pause * 2 ** (attempts - 1))
                continue
            codes = {e.get("errorCode") for e in outcome.receipt.get("errors", [])}
            if codes & {1004, 1007} and attempts <= self.retries:  # keys rotated: fetch them again
                self.receiver_key(refresh=True)
                continue
            if outcome.status >= 500 and attempts <= self.retries:
                self.sleep(self.pause * 2 ** (attempts - 1))
                continue
            return outcome

    def send_in_order(self, messages: Iterable[Outgoing], *, dry_run: bool = False) -> list[Outcome]:
        """Send a unit's messages one by one; stop at the first one refused (nothing after it is sent)."""
        outcomes = []
        for message in messages:
            outcome = self.send(message, dry_run=dry_run)
            outcomes.append(outcome)
            if not (outcome.delivered or (dry_run and outcome.status == 200)):
                break
        return outcomes

    def _post(self, message: Outgoing, dry_run: bool, attempts: int) -> Outcome:
        kid, public = self.receiver_key()
        sealed = seal(message.payload, public)
        path = VALIDATE if dry_run else MESSAGE
        url = self.base_url + path
        token = self.token()
        headers = {
            "Authorization": f"DPoP {token}",
            "DPoP": proof(
                self.dpop_key,
                "POST",
                url,
                token,
                msg_type=message.message_type,
                msg_version=message.version,
                msg_hash=sealed.msg_hash,
                enc_sym_key=sealed.enc_sym_key,
                enc_key_id=kid,
            ),
            "Content-Type": "text/plain",
            EXTRACTION_HEADER: message.extraction.strftime("%d.%m.%Y"),
            SEQUENCE_HEADER: str(message.sequence),
            **self.software.headers(),
        }
        response = self.http.post(url, content=sealed.body.encode("ascii"), headers=headers)
        try:
            receipt = response.json()
        except ValueError:
            receipt = {"delivered": False, "errors": [{"errorMessage": response.text[:500]}]}
        return Outcome(response.status_code, receipt, response.headers.get("x-correlation-id"), attempts)
