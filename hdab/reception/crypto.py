"""The wire's cryptography: a hybrid scheme like SLASH's, with an authenticated cipher.

The sender hashes the JSON payload (``msg_hash``: base64url SHA-256, no padding), encrypts it under a
fresh 256-bit key with AES-256-GCM (body: base64 of the 12-byte IV followed by ciphertext and tag)
and wraps the key with RSA-OAEP (SHA-256, MGF1-SHA-256) under the receiver's public key
(``enc_sym_key``: base64url). SLASH's municipal receiver uses AES-CBC; GCM (as FHI's prescription
register receiver does) also proves the ciphertext was not altered, before the hash is compared.

Received messages are kept encrypted again under the storage key (AES-256-GCM, the message's
correlation id as associated data), because the transport keys expire and re-processing must not.

Pure: no database, HTTP or Celery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

IV_BYTES = 12
KEY_BYTES = 32
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class UnwrapFailed(ValueError):
    """The symmetric key could not be unwrapped with the named private key."""


class DecryptFailed(ValueError):
    """The body is not base64 of IV and ciphertext, or the ciphertext does not open under the key."""


@dataclass(frozen=True)
class Sealed:
    body: str  # base64 of IV ‖ ciphertext ‖ tag: the request body
    enc_sym_key: str  # base64url of the wrapped key: a claim of the DPoP proof
    msg_hash: str  # base64url SHA-256 of the plaintext: a claim of the DPoP proof


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def message_hash(plaintext: bytes) -> str:
    return b64url(hashlib.sha256(plaintext).digest())


def seal(plaintext: bytes, public_key: rsa.RSAPublicKey) -> Sealed:
    """What a sender does with a payload (the conformance client and the tests)."""
    key = os.urandom(KEY_BYTES)
    iv = os.urandom(IV_BYTES)
    ciphertext = AESGCM(key).encrypt(iv, plaintext, None)
    return Sealed(
        body=base64.b64encode(iv + ciphertext).decode("ascii"),
        enc_sym_key=b64url(public_key.encrypt(key, OAEP)),
        msg_hash=message_hash(plaintext),
    )


def unwrap(enc_sym_key: str, private_key: rsa.RSAPrivateKey) -> bytes:
    try:
        wrapped = b64url_decode(enc_sym_key.replace("+", "-").replace("/", "_"))
        key = private_key.decrypt(wrapped, OAEP)
    except (ValueError, binascii.Error):
        raise UnwrapFailed from None
    if len(key) != KEY_BYTES:
        raise UnwrapFailed
    return key


def open_body(body: bytes, key: bytes) -> bytes:
    try:
        raw = base64.b64decode(body.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise DecryptFailed from None
    if len(raw) < IV_BYTES + 16:
        raise DecryptFailed
    try:
        return AESGCM(key).decrypt(raw[:IV_BYTES], raw[IV_BYTES:], None)
    except InvalidTag:
        raise DecryptFailed from None


def storage_key(secret: str) -> bytes:
    """The 256-bit key stored messages are encrypted under, derived from the configured secret."""
    return hashlib.sha256(b"hdab-reception-storage|" + secret.encode("utf-8")).digest()


def store_seal(plaintext: bytes, key: bytes, associated: str) -> bytes:
    iv = os.urandom(IV_BYTES)
    return iv + AESGCM(key).encrypt(iv, plaintext, associated.encode("utf-8"))


def store_open(sealed: bytes, key: bytes, associated: str) -> bytes:
    return AESGCM(key).decrypt(sealed[:IV_BYTES], sealed[IV_BYTES:], associated.encode("utf-8"))
