"""Who calls the applications edges: the principal, bound first to the cases that name their email.

Both the JSON API and the pages depend on :data:`Caller`, so that a person named in an application
(Art. 67(a)) sees the case from their first request on, whichever edge that request reaches.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from hdab.applications import service
from hdab.core.access import current_principal
from hdab.core.auth import Principal
from hdab.core.web import db_session


def principal_with_bindings(
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session, scope="function"),
) -> Principal:
    """The caller, bound first to every case that names their email (Art. 67(a) persons).

    On SQLite the request's transaction becomes the writer before it reads (see
    ``service.begin_command``), so the binding and a command in the same request cannot deadlock.
    """
    if principal.email is not None:
        service.begin_command(session)
        service.bind_memberships(session, principal)
    return principal


Caller = Annotated[Principal, Depends(principal_with_bindings)]
