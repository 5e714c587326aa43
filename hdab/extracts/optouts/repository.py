"""Queries of the opt-out registry, as ``select()`` statements; nobody but its service runs them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from hdab.extracts.optouts.domain import Action
from hdab.extracts.optouts.models import OptOutEvent


def latest_action(person: str, at: datetime) -> Select[str]:
    """The person's (by keyed hash) latest action at or before ``at``: it decides."""
    return (
        select(OptOutEvent.action)
        .where(OptOutEvent.person == person, OptOutEvent.at <= at)
        .order_by(OptOutEvent.at.desc(), OptOutEvent.id.desc())
        .limit(1)
    )


def event_count() -> Select[int]:
    return select(func.count()).select_from(OptOutEvent)


def state_at(recorded_by: datetime) -> Select[Any, Any, Any]:
    """How many events the registry had recorded by then, the last one's id and time."""
    return select(func.count(), func.max(OptOutEvent.id), func.max(OptOutEvent.recorded_at)).where(
        OptOutEvent.recorded_at <= recorded_by
    )


def opted_out_at(at: datetime, recorded_by: datetime) -> Select[str]:
    """Everyone (by keyed hash) opted out at ``at``, as the registry knew it at ``recorded_by``."""
    ranked = (
        select(
            OptOutEvent.person,
            OptOutEvent.action,
            func.row_number()
            .over(partition_by=OptOutEvent.person, order_by=(OptOutEvent.at.desc(), OptOutEvent.id.desc()))
            .label("rank"),
        )
        .where(OptOutEvent.at <= at, OptOutEvent.recorded_at <= recorded_by)
        .subquery()
    )
    return select(ranked.c.person).where(ranked.c.rank == 1, ranked.c.action == Action.OPT_OUT.value)
