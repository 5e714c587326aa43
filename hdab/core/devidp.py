"""The development identity provider (dev and test only).

It signs JWTs with an EC key kept in ``{HDAB_DATA_DIR}/dev-idp/``, so that ``hdab dev token`` and a
server on the same data directory agree (the issuer is a fixed name, not the server's address). Its
tokens are validated like any issuer's (issuer, audience, expiry, signature); production never
trusts it (settings refuse to start with it on).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from hdab.core import clock
from hdab.core.auth import AUDIENCE, Principal, Role, TrustedIssuer, principal_from_claims
from hdab.core.files import create_once
from hdab.core.identifiers import person_number_kind, validate_organisation_number
from hdab.core.settings import Settings

DEFAULT_LIFETIME = timedelta(hours=8)
DEV_ISSUER = "urn:hdab:dev-idp"
OTHER_FOLDER = (
    "it was signed by a development key this server does not have; make development tokens with the"
    " same HDAB_DATA_DIR as the server"
)


class DevIdentityProvider:
    def __init__(self, settings: Settings) -> None:
        if not settings.dev_idp_enabled:
            raise RuntimeError("the development identity provider is disabled in this environment")
        # The issuer names the provider, not the address: `hdab dev token` and a server on the same
        # data folder agree whatever HDAB_HOST, HDAB_PORT or HDAB_BASE_URL each was started with.
        self.issuer = DEV_ISSUER
        self.key_path = settings.data_dir / "dev-idp" / "signing-key.json"
        self._key: ECKey | None = None

    def _signing_key(self) -> ECKey:
        if self._key is None:
            self._key = _load_or_create_key(self.key_path)
        return self._key

    def key_set(self) -> KeySet:
        return KeySet([self._signing_key()])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._signing_key().as_dict(private=False)]}

    def issue(
        self,
        subject: str,
        roles: list[Role],
        organisation: str | None = None,
        national_id: str | None = None,
        lifetime: timedelta = DEFAULT_LIFETIME,
        name: str | None = None,
        email: str | None = None,
    ) -> str:
        if not subject:
            raise ValueError("a subject is required")
        if organisation is not None:
            validate_organisation_number(organisation)
        if national_id is not None:
            person_number_kind(national_id)
        issued = int(clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(lifetime.total_seconds()),
            "jti": str(uuid.uuid4()),
            "roles": sorted(str(r) for r in roles),
        }
        if organisation is not None:
            claims["org"] = organisation
        if national_id is not None:
            claims["pid"] = national_id
        if name:
            claims["name"] = name
        if email:
            claims["email"] = email
            claims["email_verified"] = True
        key = self._signing_key()
        return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])

    def trusted_issuer(self) -> TrustedIssuer:
        def to_principal(claims: dict[str, Any]) -> Principal:
            return principal_from_claims(claims, allow_synthetic_ids=True)

        return TrustedIssuer(
            self.issuer,
            AUDIENCE,
            self.key_set,
            to_principal,
            unknown_key_hint=OTHER_FOLDER,
        )


def _load_or_create_key(path: Path) -> ECKey:
    if path.exists():
        return ECKey.import_key(json.loads(path.read_text(encoding="utf-8")))
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    return ECKey.import_key(json.loads(create_once(path, json.dumps(key.as_dict(private=True)))))
