"""The receiver's key set: RSA key pairs senders wrap their message keys under, each with an expiry.

Its own file (``HDAB_RECEPTION_KEY_FILE``), apart from the permit-signing keys: a JSON object
``{"keys": [{"id", "expires", "private_key"}]}`` (PEM, PKCS#8), mode 0600. ``GET /keys`` publishes
every unexpired key; a sender uses the one that expires last. Rotation (``hdab reception
rotate-keys``) adds a key that expires later and drops expired ones: a key still decrypts until it
expires, so messages sealed just before a rotation still open. Outside production a first key is
made on first use; production never makes one (the operator does, with the command) and refuses to
start without a usable key (:func:`production_problems`).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hdab.core import clock
from hdab.core.files import create_once
from hdab.core.settings import Settings

KEY_BITS = 3072
MIN_BITS = 3072
DEFAULT_DAYS = 365
MIN_REMAINING = timedelta(days=14)  # production wants a key that lasts at least this long


class UnknownKey(LookupError):
    """No key of that id (never had, or dropped after it expired)."""


class ExpiredKey(LookupError):
    """The key has expired: it no longer decrypts."""


@dataclass(frozen=True)
class ReceiverKey:
    id: str
    expires: datetime
    private: rsa.RSAPrivateKey

    @property
    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )


def key_id(public: rsa.RSAPublicKey) -> str:
    """A key's id: the first 20 bytes of the SHA-256 of its DER public key, upper-case hex (SLASH's form)."""
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:40].upper()


def new_key(expires: datetime, bits: int = KEY_BITS) -> ReceiverKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return ReceiverKey(key_id(private.public_key()), expires, private)


def _entry(key: ReceiverKey) -> dict[str, str]:
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {"id": key.id, "expires": key.expires.isoformat(), "private_key": pem.decode("ascii")}


def _parse(text: str) -> list[ReceiverKey]:
    keys = []
    for entry in json.loads(text)["keys"]:
        private = serialization.load_pem_private_key(entry["private_key"].encode("ascii"), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError(f"key {entry['id']} is not an RSA key")
        keys.append(ReceiverKey(str(entry["id"]), datetime.fromisoformat(entry["expires"]), private))
    return keys


def write_keys(path: Path, keys: list[ReceiverKey]) -> None:
    """Replace the key file at once (a temporary file renamed over it), readable by the owner alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"keys": [_entry(k) for k in keys]}, handle)
    tmp.replace(path)


def rotate(path: Path, days: int = DEFAULT_DAYS, bits: int = KEY_BITS) -> ReceiverKey:
    """Add a key expiring in ``days`` and drop the expired ones; the new key is the one senders pick."""
    now = clock.now()
    kept = [k for k in (_parse(path.read_text(encoding="utf-8")) if path.exists() else []) if k.expires > now]
    fresh = new_key(now + timedelta(days=days), bits)
    write_keys(path, [*kept, fresh])
    return fresh


class ReceiverKeys:
    """The key set of one process, read once from the file and again when the file changes."""

    def __init__(self, path: Path, *, create: bool, days: int = DEFAULT_DAYS) -> None:
        self.path = path
        self.create = create
        self.days = days
        self._keys: list[ReceiverKey] | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def all(self) -> list[ReceiverKey]:
        with self._lock:
            if not self.path.exists() and self.create:
                first = new_key(clock.now() + timedelta(days=self.days))
                create_once(self.path, json.dumps({"keys": [_entry(first)]}))
                os.chmod(self.path, 0o600)
            if not self.path.exists():
                return []
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if self._keys is None or stamp != self._stamp:
                self._keys = _parse(self.path.read_text(encoding="utf-8"))
                self._stamp = stamp
            return list(self._keys)

    def published(self) -> list[ReceiverKey]:
        """The keys senders may use now, the one expiring last first."""
        now = clock.now()
        return sorted((k for k in self.all() if k.expires > now), key=lambda k: k.expires, reverse=True)

    def private(self, kid: str) -> rsa.RSAPrivateKey:
        for key in self.all():
            if key.id == kid:
                if key.expires <= clock.now():
                    raise ExpiredKey(kid)
                return key.private
        raise UnknownKey(kid)


def production_problems(path: Path) -> list[str]:
    """What about the key file forbids starting in production (like the other keys' checks)."""
    if not path.is_file():
        return [f"HDAB_RECEPTION_KEY_FILE {path} does not exist: make it with `hdab reception rotate-keys`"]
    problems = []
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        problems.append(f"HDAB_RECEPTION_KEY_FILE {path} is readable by others than its owner (chmod 600)")
    try:
        keys = _parse(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError):
        return [*problems, f"HDAB_RECEPTION_KEY_FILE {path} is not a key set"]
    if any(k.private.key_size < MIN_BITS for k in keys):
        problems.append(f"HDAB_RECEPTION_KEY_FILE holds an RSA key shorter than {MIN_BITS} bits")
    if not any(k.expires > clock.now() + MIN_REMAINING for k in keys):
        problems.append("HDAB_RECEPTION_KEY_FILE has no key valid for two more weeks: rotate the keys")
    return problems


_SETS: dict[tuple[Path, bool, int], ReceiverKeys] = {}
_SETS_LOCK = threading.Lock()


def receiver_keys(settings: Settings) -> ReceiverKeys:
    """The key set of these settings, one per process (it re-reads its file when the file changes)."""
    assert settings.reception_key_file is not None
    index = (settings.reception_key_file, not settings.is_production, settings.reception_key_days)
    with _SETS_LOCK:
        if index not in _SETS:
            _SETS[index] = ReceiverKeys(index[0], create=index[1], days=index[2])
        return _SETS[index]
