"""The statutory clock: pure date arithmetic, Norwegian public holidays, the deadlines of a case.

How periods are counted (DOMAIN.md section 4, following Norwegian administrative practice): months
and weeks are calendar periods in Europe/Oslo time, counted from the day after the triggering event,
so a period of one month that starts on 15 January ends on 15 February; a period that ends on a
Saturday, Sunday or public holiday ends on the next working day. Only periods stated in working
days (publication within 30 working days) count working days.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from functools import cache

from hdab.core.clock import OSLO


def easter_sunday(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def public_holidays(year: int) -> frozenset[date]:
    """Norwegian public holidays on weekdays or not (helligdager and 1 and 17 May)."""
    easter = easter_sunday(year)
    return frozenset(
        {
            date(year, 1, 1),
            easter - timedelta(days=3),  # Maundy Thursday
            easter - timedelta(days=2),  # Good Friday
            easter,
            easter + timedelta(days=1),  # Easter Monday
            date(year, 5, 1),
            easter + timedelta(days=39),  # Ascension Day
            date(year, 5, 17),
            easter + timedelta(days=49),  # Whit Sunday
            easter + timedelta(days=50),  # Whit Monday
            date(year, 12, 25),
            date(year, 12, 26),
        }
    )


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later; the month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def oslo_date(instant: datetime) -> date:
    """The calendar day in Norway on which an event happened."""
    return instant.astimezone(OSLO).date()


def months_after(instant: datetime, months: int) -> date:
    """The last day of a period of ``months`` months that starts the day after ``instant``."""
    return next_working_day(add_months(oslo_date(instant), months))


def weeks_after(instant: datetime, weeks: int) -> date:
    return next_working_day(oslo_date(instant) + timedelta(weeks=weeks))


def working_days_after(instant: datetime, days: int) -> date:
    """The ``days``-th working day after the day of ``instant``."""
    day = oslo_date(instant)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def is_overdue(due: date, now: datetime) -> bool:
    """A deadline is met on its last day in Norway; it is overdue from the next day."""
    return oslo_date(now) > due
