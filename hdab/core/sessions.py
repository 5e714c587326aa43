"""Sign-in sessions kept on the server: the browser's cookie holds a random id, the row holds who it is.

Signing out deletes the row, so a copied cookie stops working at once in every server process. Rows
are looked up by the SHA-256 of the id; the id itself is stored nowhere.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete

from hdab.core import clock, runtime
from hdab.core.auth import Principal, Role
from hdab.core.models import SignInSession


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def create(principal: Principal, provider: str, id_token: str, lifetime: timedelta) -> str:
    """Store a session for ``principal``; return the id for the cookie (shown once, never stored)."""
    session_id = secrets.token_urlsafe(32)
    now = clock.now()
    with runtime.database().session() as session:
        session.execute(delete(SignInSession).where(SignInSession.expires_at < now))
        session.add(
            SignInSession(
                id_hash=_hash(session_id),
                provider=provider,
                subject=principal.subject,
                issuer=principal.issuer,
                claims={
                    "roles": sorted(principal.roles),
                    "organisation": principal.organisation,
                    "national_id": principal.national_id,
                    "name": principal.name,
                    "email": principal.email,
                },
                id_token=id_token,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    return session_id


def load(session_id: str) -> Principal | None:
    """The principal of a live session, or None when the id is unknown, ended or expired."""
    if len(session_id) > 100:
        return None
    with runtime.database().session(write=False) as session:
        row = session.get(SignInSession, _hash(session_id))
        if row is None or row.expires_at <= clock.now():
            return None
        claims = row.claims
        return Principal(
            subject=row.subject,
            issuer=row.issuer,
            roles=frozenset(Role(r) for r in claims["roles"]),
            organisation=claims.get("organisation"),
            national_id=claims.get("national_id"),
            name=claims.get("name"),
            email=claims.get("email"),
        )


def end(session_id: str) -> tuple[str, str] | None:
    """Delete the session; return its provider and ID token (the hint for the provider's logout)."""
    with runtime.database().session() as session:
        row = session.get(SignInSession, _hash(session_id))
        if row is None:
            return None
        ended = (row.provider, row.id_token)
        session.delete(row)
        return ended
