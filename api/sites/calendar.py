"""Working days on China's official calendar (State Council holidays and adjusted working
weekends), read from the `chinese_calendar` package — never a hand-written table.

A count of "n working days ahead" is taken like the legal deadlines it serves: the day the
notice goes out is not counted; each working day after it is, up to and including the visit's
day. So a notice on Monday 2026-03-02 allows a visit from Monday 2026-03-09 on (Tue, Wed, Thu,
Fri, Mon: five working days), and one on a holiday's eve waits for the holiday to pass.

The package only knows the years the State Council has published; a date outside them is
refused with `CalendarOutOfRange` (the caller's 422), not guessed as "Monday to Friday".
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import chinese_calendar
from chinese_calendar import constants as _published


class CalendarOutOfRange(ValueError):
    """A date outside the years the installed `chinese_calendar` has official data for."""


@cache
def covered_years() -> tuple[int, int]:
    """(first, last) year the installed calendar knows (both inclusive)."""
    days = list(_published.holidays) + list(_published.workdays)
    return min(d.year for d in days), max(d.year for d in days)


def check_covered(day: date) -> date:
    """`day` itself; CalendarOutOfRange saying which years are covered otherwise."""
    first, last = covered_years()
    if not first <= day.year <= last:
        raise CalendarOutOfRange(
            f"{day.isoformat()} is outside the official working-day calendar installed "
            f"(chinese_calendar {chinese_calendar.__version__} covers {first}–{last}); a newer "
            "release of chinesecalendar follows each State Council holiday notice")
    return day


def is_working_day(day: date) -> bool:
    """Whether `day` is an official working day (adjusted working weekends included)."""
    return _is_workday(check_covered(day))


# The package answers from dicts, but a year's plan asks about the same days many times.
_is_workday = cache(chinese_calendar.is_workday)


def working_days_between(start: date, end: date) -> int:
    """Working days d with start < d <= end (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (start itself not counted); n >= 1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day, seen = start, 0
    while seen < n:
        day += timedelta(days=1)
        seen += is_working_day(day)
    return day
