"""DPoP (RFC 9449): checking the proof that comes with a sender-constrained access token.

A DPoP-bound token carries ``cnf.jkt``, the thumbprint of the client's public key. Each request
brings a fresh proof: a JWT signed with that key, naming the method, the URL and the token's hash,
used once. A thief holding only the token cannot make proofs; a thief replaying a proof is caught
by its ``jti`` being seen before (kept in the database, so every server process sees it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hdab.core import clock, runtime
from hdab.core.errors import Unauthenticated
from hdab.core.models import SeenProof

ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")
MAX_AGE = timedelta(minutes=5)  # how old a proof's iat may be
MAX_FUTURE = timedelta(seconds=30)  # clock skew allowed the other way
CHALLENGE = f'DPoP algs="{" ".join(ALGORITHMS)}"'


class InvalidProof(Unauthenticated):
    def __init__(self, detail: str) -> None:
        super().__init__(f"the DPoP proof is not valid: {detail}")
        self.headers = {"WWW-Authenticate": f'{CHALLENGE}, error="invalid_dpop_proof"'}


def token_hash(access_token: str) -> str:
    """The ``ath`` claim: base64url(SHA-256(access token)) without padding."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(
    proof: str, *, method: str, url: str, access_token: str, jkt: str, remember: bool = True
) -> dict[str, Any]:
    """Raise InvalidProof unless ``proof`` is a fresh, unused proof for this request and this token's key.

    Returns the proof's claims: a receiver may bind more to the proof than the request (reception's
    ``msg_hash`` and the wrapped key). ``remember=False`` leaves recording the ``jti`` to the caller,
    in the transaction of what the request does (:func:`remember_in`): one commit, not two."""
    try:
        header = jws.extract_compact(proof.encode("ascii")).headers()
    except (JoseError, UnicodeEncodeError, ValueError):
        raise InvalidProof("it is not a compact JWS") from None
    if header.get("typ") != "dpop+jwt":
        raise InvalidProof("typ must be dpop+jwt")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise InvalidProof(f"alg must be one of {', '.join(ALGORITHMS)}")
    public = header.get("jwk")
    if not isinstance(public, dict) or any(k in public for k in ("d", "p", "q", "k")):
        raise InvalidProof("the header must carry the public key (jwk) and nothing private")
    try:
        key = JWKRegistry.import_key(public)
        claims = jwt.decode(proof, key, algorithms=[alg]).claims
    except (JoseError, ValueError, TypeError):
        raise InvalidProof("the signature does not verify with the key in its header") from None
    if not hmac.compare_digest(key.thumbprint(), jkt):
        raise InvalidProof("it is signed by another key than the one the token is bound to")
    _check_claims(claims, method=method, url=url, access_token=access_token)
    if remember:
        _remember(str(claims["jti"]))
    return dict(claims)


def remember_in(session: Session, jti: str) -> None:
    """Record a proof's jti in the caller's transaction; InvalidProof if it was used before (a replay).

    A concurrent use of the same proof waits on the unique key until this transaction ends, then fails.
    After a replay the transaction can only be rolled back (the caller refuses the request).
    """
    digest = hashlib.sha256(jti.encode()).hexdigest()
    session.add(SeenProof(jti_hash=digest, expires_at=clock.now() + MAX_AGE + MAX_FUTURE))
    try:
        session.flush()
    except IntegrityError:
        raise InvalidProof("it has been used before (replay)") from None


def _check_claims(claims: dict[str, Any], *, method: str, url: str, access_token: str) -> None:
    if claims.get("htm") != method:
        raise InvalidProof(f"htm must be {method}")
    if not isinstance(claims.get("htu"), str) or _without_query(claims["htu"]) != _without_query(url):
        raise InvalidProof(f"htu must be {_without_query(url)}")
    if claims.get("ath") != token_hash(access_token):
        raise InvalidProof("ath does not match the access token")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
        raise InvalidProof("jti must be a unique string")
    iat = claims.get("iat")
    now = clock.now().timestamp()
    if not isinstance(iat, int | float) or not (
        now - MAX_AGE.total_seconds() <= iat <= now + MAX_FUTURE.total_seconds()
    ):
        raise InvalidProof("iat is too old or in the future")


def _without_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0].rstrip("/")


def _remember(jti: str) -> None:
    """Record the proof's jti; a second use anywhere in the deployment is refused as a replay."""
    now = clock.now()
    digest = hashlib.sha256(jti.encode()).hexdigest()
    database = runtime.database()
    try:
        with database.session() as session:
            session.add(SeenProof(jti_hash=digest, expires_at=now + MAX_AGE + MAX_FUTURE))
    except IntegrityError:
        raise InvalidProof("it has been used before (replay)") from None
    if digest.startswith("00"):  # about one request in 256 prunes expired entries
        with database.session() as session:
            session.execute(delete(SeenProof).where(SeenProof.expires_at < now))


def jkt_of(claims: dict[str, Any]) -> str | None:
    """The key thumbprint a token is bound to (``cnf.jkt``), or None for a plain bearer token."""
    confirmation = claims.get("cnf")
    if isinstance(confirmation, dict) and isinstance(confirmation.get("jkt"), str):
        return str(confirmation["jkt"])
    return None
