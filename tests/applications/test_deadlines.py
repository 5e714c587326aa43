"""The statutory clock: periods counted as DOMAIN.md says, across Norwegian public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdab.applications import deadlines
from hdab.applications.domain import CaseType
from hdab.applications.state import Event, case_deadlines, fold
from tests.applications.factories import access_form


def at_noon_oslo(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)


@settings(deadline=None)  # the oracle builds its calendar on first use: slow once, not wrong
@given(st.integers(min_value=1950, max_value=2100))  # 1 and 17 May became public holidays in 1947
def test_public_holidays_agree_with_an_independent_calendar(year: int) -> None:
    # the `holidays` package, without its habit of counting every Sunday as a holiday
    oracle = set(holidays.Norway(years=year, include_sundays=False))
    assert deadlines.public_holidays(year) == frozenset(oracle)


def test_easter_2026_and_2027() -> None:
    assert deadlines.easter_sunday(2026) == date(2026, 4, 5)
    assert deadlines.easter_sunday(2027) == date(2027, 3, 28)


def test_a_month_counts_from_the_day_after_to_the_same_date() -> None:
    assert deadlines.months_after(at_noon_oslo(date(2026, 1, 15)), 1) == date(2026, 2, 16)  # 15 Feb is Sunday
    assert deadlines.months_after(at_noon_oslo(date(2026, 6, 10)), 1) == date(2026, 7, 10)  # a Friday


def test_a_month_from_the_31st_ends_on_the_last_day_of_a_shorter_month() -> None:
    assert deadlines.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert deadlines.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_the_oslo_calendar_day_counts_not_utc() -> None:
    # 23:30 UTC on 31 January is 00:30 on 1 February in Oslo
    late = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    assert deadlines.oslo_date(late) == date(2026, 2, 1)


def test_decision_due_three_months_after_processing_starts_art68_4() -> None:
    # processing started Friday 13 February 2026: 13 May is a Wednesday
    assert deadlines.months_after(at_noon_oslo(date(2026, 2, 13)), 3) == date(2026, 5, 13)


def test_a_period_ending_on_ascension_day_moves_to_friday() -> None:
    # Ascension Day 2026 is Thursday 14 May
    assert deadlines.months_after(at_noon_oslo(date(2026, 2, 14)), 3) == date(2026, 5, 15)


def test_a_period_ending_on_17_may_moves_to_the_next_working_day() -> None:
    # 17 May 2027 is a Monday (and a holiday): the period ends Tuesday 18 May
    assert deadlines.months_after(at_noon_oslo(date(2027, 2, 17)), 3) == date(2027, 5, 18)


def test_a_period_ending_on_whit_monday_moves_to_tuesday() -> None:
    # Whit Monday 2026 is 25 May
    assert deadlines.weeks_after(at_noon_oslo(date(2026, 5, 4)), 3) == date(2026, 5, 26)


def test_a_period_ending_in_easter_skips_the_whole_easter() -> None:
    # four weeks from Thursday 5 March 2026 end on Maundy Thursday; then Good Friday, the weekend
    # and Easter Monday: the last day is Tuesday 7 April
    assert deadlines.weeks_after(at_noon_oslo(date(2026, 3, 5)), 4) == date(2026, 4, 7)


def test_a_period_ending_on_a_saturday_moves_to_monday() -> None:
    assert deadlines.weeks_after(at_noon_oslo(date(2026, 10, 10)), 3) == date(2026, 11, 2)


def test_thirty_working_days_skip_weekends_and_holidays_art58() -> None:
    # decided Wednesday 1 April 2026: Maundy Thursday, Good Friday, Easter Monday, 1 May, 14 May
    # are not counted
    assert deadlines.working_days_after(at_noon_oslo(date(2026, 4, 1)), 30) == date(2026, 5, 20)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)), st.integers(1, 60))
def test_working_days_count_exactly_n_working_days(start: date, n: int) -> None:
    end = deadlines.working_days_after(at_noon_oslo(start), n)
    counted = sum(
        deadlines.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
    )
    assert counted == n and deadlines.is_working_day(end)


def test_overdue_from_the_day_after_the_last_day() -> None:
    due = date(2026, 5, 13)
    assert not deadlines.is_overdue(due, datetime(2026, 5, 13, 21, 59, tzinfo=UTC))  # 23:59 in Oslo
    assert deadlines.is_overdue(due, datetime(2026, 5, 13, 22, 0, tzinfo=UTC))  # midnight in Oslo


def _events(form: dict[str, object], *steps: tuple[str, date, dict[str, object]]) -> list[Event]:
    events = [Event("created", "a", at_noon_oslo(date(2026, 1, 5)), {"form": form})]
    events += [Event(kind, "x", at_noon_oslo(day), data) for kind, day, data in steps]
    return events


def _due(state_events: list[Event], name: str, kind: CaseType = CaseType.ACCESS) -> date:
    state = fold("c", kind, "a", state_events)
    return next(d.due for d in case_deadlines(state) if d.name == name)


def test_accelerated_track_two_months_for_public_health_bodies_art68_6() -> None:
    form = access_form(purpose="a")  # a public-sector applicant, public health purpose
    started = [("submitted", date(2026, 2, 2), {"form": form}), ("processing_started", date(2026, 2, 10), {})]
    assert _due(_events(form, *started), "decision") == date(2026, 4, 10)
    extended = [*started, ("deadline_extended", date(2026, 3, 1), {"reason": "x"})]
    assert _due(_events(form, *extended), "decision") == date(2026, 5, 11)  # +1 month; 10 May is a Sunday


def test_ordinary_track_three_months_plus_one_extension_of_three() -> None:
    form = access_form(purpose="e")
    started = [("submitted", date(2026, 2, 2), {"form": form}), ("processing_started", date(2026, 2, 10), {})]
    assert _due(_events(form, *started), "decision") == date(2026, 5, 11)  # 10 May is a Sunday
    extended = [*started, ("deadline_extended", date(2026, 3, 1), {"reason": "x"})]
    assert _due(_events(form, *extended), "decision") == date(2026, 8, 10)


def test_statistics_assessed_within_three_months_of_receipt_art69_4() -> None:
    form = {"title": "t"}
    events = _events(form, ("submitted", date(2026, 3, 20), {"form": form}))
    assert _due(events, "decision", CaseType.STATISTICS) == date(2026, 6, 22)  # 20 June is a Saturday


@pytest.mark.parametrize(
    ("decided", "appeal_due"),
    [(date(2026, 4, 10), date(2026, 5, 4)), (date(2026, 6, 3), date(2026, 6, 24))],
)
def test_appeal_within_three_weeks_of_a_refusal(decided: date, appeal_due: date) -> None:
    # 1 May 2026 (three weeks after 10 April) is a holiday and a Friday: the period ends Monday 4 May
    events = _events({}, ("refused", decided, {"reasons": "no"}))
    assert _due(events, "appeal") == appeal_due
