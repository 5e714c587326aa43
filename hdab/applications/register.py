"""The public register (Art. 57(1)(j), 58): every application received and every decision with reasons.

It shows what the public may know: title, organisation, purpose, datasets, dates, decision and its
reasons. Never the persons named in an application, nor the applicant's contact details.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.orm import Session

from hdab.applications import repository, service
from hdab.applications.models import Application
from hdab.core.errors import FieldError, InvalidInput
from hdab.core.web import Paging


def entry(session: Session, row: Application) -> dict[str, Any]:
    state = service.load(session, row.id).state
    decision_event = next((e for e in reversed(state.events) if e.type in ("approved", "refused")), None)
    justification = None
    if decision_event is not None:
        if decision_event.type == "refused":
            justification = decision_event.data.get("reasons")
        else:
            met = ", ".join(f"({k}) {c.note}".strip() for k, c in sorted(state.criteria.items()))
            justification = f"All criteria of Art. 68(1) are met: {met}" if met else None
    return {
        "id": row.id,
        "type": row.kind,
        "title": row.title,
        "organisation": row.organisation_name,
        "purpose": row.purpose,
        "datasets": row.datasets,
        "received": row.submitted_at.date().isoformat() if row.submitted_at else None,
        "status": row.permit_status or row.status,
        "decision": row.decision,
        "decided": row.decided_at.date().isoformat() if row.decided_at else None,
        "justification": justification,
        "permit_id": row.permit_id,
    }


def listing(
    session: Session,
    page: Paging,
    *,
    dataset: str | None = None,
    purpose: str | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    query = repository.submitted_for_register()
    if purpose:
        query = query.where(Application.purpose == purpose)
    if text and "\x00" in text:
        # PostgreSQL cannot hold a NUL in a string: a 422, not a 500 from the driver
        raise InvalidInput("the search text may not contain a NUL character", [FieldError("q", "NUL")])
    if text:
        # the user's text is literal: % and _ (and the escape character) are not wildcards
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        query = query.where(
            or_(
                func.lower(Application.title).like(like, escape="\\"),
                func.lower(Application.organisation_name).like(like, escape="\\"),
            )
        )
    rows = list(session.scalars(query))
    if dataset:
        # the dataset list is JSON; filtering it in Python keeps SQLite and PostgreSQL alike
        rows = [r for r in rows if dataset in r.datasets]
    total = len(rows)
    window = rows[page.offset : page.offset + page.page_size]
    return {
        "items": [entry(session, r) for r in window],
        "page": page.page,
        "page_size": page.page_size,
        "total": total,
    }
