"""Quiet windows: weekly times when routine patrols must not fly over a zone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_TZ", "QuietWindow"]

DEFAULT_TZ = "Asia/Shanghai"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class QuietWindow:
    """A weekly window [start, end) in local wall time on the given weekdays (0 = Monday).

    A window whose end is not after its start crosses midnight: it opens on a listed day and
    closes on the next day (22:00-06:00 on "fri" covers Friday night into Saturday morning).
    """

    weekdays: frozenset[int]
    start: time
    end: time
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(
                f"weekdays must be a non-empty subset of 0..6 (0 = Monday), got {set(self.weekdays)}"
            )
        if self.start == self.end:
            raise ValueError(f"a quiet window needs start != end, got {self.start} twice")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {self.tz!r}; use an IANA name like 'Asia/Shanghai'"
            ) from exc

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> QuietWindow:
        """A window from GeoJSON properties: {"days": ["mon", ...], "start": "HH:MM", "end": "HH:MM", "tz": ...}."""
        weekdays, start, end, tz = parse_weekly_window(raw, what="quiet window")
        return cls(weekdays, start, end, tz)

    def contains(self, at: datetime) -> bool:
        """True when the aware instant ``at`` falls inside this window."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("quiet windows need a timezone-aware datetime (UTC from the clock)")
        local = at.astimezone(ZoneInfo(self.tz))
        clock, weekday = local.time().replace(tzinfo=None), local.weekday()
        if self.start < self.end:
            return weekday in self.weekdays and self.start <= clock < self.end
        # Crosses midnight: the evening part belongs to a listed day, the morning part to the day after.
        return (weekday in self.weekdays and clock >= self.start) or (
            (weekday - 1) % 7 in self.weekdays and clock < self.end
        )


def parse_weekly_window(
    raw: object, *, what: str, default_days: tuple[str, ...] | None = None,
) -> tuple[frozenset[int], time, time, str]:
    """(weekdays, start, end, tz) of a weekly window written as JSON: {"days": ["mon", ...],
    "start": "HH:MM", "end": "HH:MM", "tz": ...}; ValueError naming ``what`` and the bad key.

    Quiet windows (zone files) and patrol request windows (dispatch) are read here alike;
    without ``default_days``, "days" is required.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f'a {what} must be an object like {{"start": "08:00", "end": "12:00"}}, '  # noqa: TRY004 - callers map ValueError to their own errors
                         f"got {raw!r}")
    unknown = set(raw) - {"days", "start", "end", "tz"}
    if unknown:
        raise ValueError(f"unknown {what} keys {sorted(unknown)}; allowed: days, start, end, tz")
    days = raw.get("days", list(default_days) if default_days else None)
    if not isinstance(days, list) or not days:
        raise ValueError(f'{what} "days" must be a non-empty list like ["mon", "tue"], got {days!r}')
    weekdays = set()
    for day in days:
        if not isinstance(day, str) or day.lower()[:3] not in _DAYS:
            raise ValueError(f"unknown weekday {day!r}; use one of {', '.join(_DAYS)}")
        weekdays.add(_DAYS.index(day.lower()[:3]))
    tz = raw.get("tz", DEFAULT_TZ)
    if not isinstance(tz, str):
        raise ValueError(f'{what} "tz" must be a time zone name, got {tz!r}')  # noqa: TRY004
    return (frozenset(weekdays), _parse_time(raw.get("start"), "start", what),
            _parse_time(raw.get("end"), "end", what), tz)


def _parse_time(raw: object, key: str, what: str) -> time:
    if not isinstance(raw, str):
        raise ValueError(f'{what} "{key}" must be a "HH:MM" string, got {raw!r}')  # noqa: TRY004
    try:
        return time.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f'{what} "{key}" must be a "HH:MM" string, got {raw!r}') from exc
