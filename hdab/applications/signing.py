"""Signing permits: each permit version is a compact JWS (ES256) whose ``kid`` is published in the JWKS.

The key set lives in ``HDAB_PERMIT_SIGNING_KEY_FILE`` (a JWK set): the first key signs, every key is
published, so a verifier can still check versions signed before a key rotation. The private keys
never leave this module; the file is created with mode 0600 on first use.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from hdab.core.audit import canonical_json
from hdab.core.files import create_once

ALGORITHM = "ES256"
MEDIA_TYPE = "application/jose"


class PermitSigner:
    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._keys: list[ECKey] | None = None
        self._lock = threading.Lock()

    def _load(self) -> list[ECKey]:
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> list[ECKey]:
        if self._keys is None:
            fresh = ECKey.generate_key("P-256", private=True, auto_kid=True)
            text = create_once(self.key_file, json.dumps({"keys": [fresh.as_dict(private=True)]}))
            self._keys = [ECKey.import_key(k) for k in json.loads(text)["keys"]]
            if not self._keys:
                raise RuntimeError(f"{self.key_file} holds no signing key")
        return self._keys

    def sign(self, payload: dict[str, Any]) -> tuple[str, str]:
        """The compact JWS of ``payload`` as canonical JSON, and the ``kid`` that signed it."""
        key = self._load()[0]
        token = jws.serialize_compact(
            {"alg": ALGORITHM, "kid": key.kid, "typ": "permit+jws", "cty": "json"},
            canonical_json(payload).encode("utf-8"),
            key,
            algorithms=[ALGORITHM],
        )
        return token, str(key.kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**k.as_dict(private=False), "use": "sig", "alg": ALGORITHM} for k in self._load()]}


def verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Check a permit JWS against a published key set and return its payload (what a verifier does)."""
    keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    result = jws.deserialize_compact(token, keys, algorithms=[ALGORITHM])
    payload: dict[str, Any] = json.loads(result.payload)
    return payload
