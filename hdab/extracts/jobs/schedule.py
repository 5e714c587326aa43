"""When recurring deliveries are due (Art. 67(5)): pure date arithmetic in Norwegian time.

A schedule names how often (yearly, tertial, monthly, weekly, daily), a day and a time:
yearly on that day of January, tertial on that day of January, May and September, monthly on that
day of every month (the last day of a shorter month), weekly on that weekday (1 Monday .. 7
Sunday), daily at that time. Runs fall after the permit's first approval and no later than its
last valid day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from hdab.applications.api import Recurrence, Schedule
from hdab.core.clock import OSLO


def _days(schedule: Schedule, day: int, start: date, end: date) -> Iterator[date]:
    if schedule is Schedule.DAILY:
        current = start
        while current <= end:
            yield current
            current += timedelta(days=1)
        return
    if schedule is Schedule.WEEKLY:
        weekday = min(max(day, 1), 7) - 1
        current = start + timedelta(days=(weekday - start.weekday()) % 7)
        while current <= end:
            yield current
            current += timedelta(weeks=1)
        return
    months = {Schedule.YEARLY: (1,), Schedule.TERTIAL: (1, 5, 9), Schedule.MONTHLY: tuple(range(1, 13))}[
        schedule
    ]
    for year in range(start.year, end.year + 1):
        for month in months:
            candidate = date(year, month, min(day, calendar.monthrange(year, month)[1]))
            if start <= candidate <= end:
                yield candidate


def runs(recurrence: Recurrence, after: datetime, until: date, now: datetime) -> list[datetime]:
    """The scheduled runs after ``after`` (the approval), up to ``now`` and the permit's last day."""
    hour, minute = (int(x) for x in recurrence.time.split(":"))
    first = after.astimezone(OSLO).date()
    last = min(until, now.astimezone(OSLO).date())
    out = []
    for day in _days(recurrence.schedule, recurrence.day, first, last):
        at = datetime.combine(day, time(hour, minute), tzinfo=OSLO).astimezone(UTC)
        if after < at <= now:
            out.append(at)
    return out
