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
        if not isinstance(raw, Mapping):
            raise ValueError(f"a quiet window must be an object with days/start/end, got {raw!r}")  # noqa: TRY004 - loader maps ValueError to InvalidZones
        unknown = set(raw) - {"days", "start", "end", "tz"}
        if unknown:
            raise ValueError(
                f"unknown quiet window keys {sorted(unknown)}; allowed: days, start, end, tz"
            )
        days = raw.get("days")
        if not isinstance(days, list) or not days:
            raise ValueError(
                f'quiet window "days" must be a non-empty list like ["mon", "tue"], got {days!r}'
            )
        weekdays = set()
        for day in days:
            if not isinstance(day, str) or day.lower()[:3] not in _DAYS:
                raise ValueError(f"unknown weekday {day!r}; use one of {', '.join(_DAYS)}")
            weekdays.add(_DAYS.index(day.lower()[:3]))
        tz = raw.get("tz", DEFAULT_TZ)
        if not isinstance(tz, str):
            raise ValueError(f'quiet window "tz" must be a time zone name, got {tz!r}')  # noqa: TRY004 - loader maps ValueError to InvalidZones
        return cls(
            frozenset(weekdays),
            _parse_time(raw.get("start"), "start"),
            _parse_time(raw.get("end"), "end"),
            tz,
        )

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


def _parse_time(raw: object, key: str) -> time:
    if not isinstance(raw, str):
        raise ValueError(f'quiet window "{key}" must be a "HH:MM" string, got {raw!r}')  # noqa: TRY004 - loader maps ValueError to InvalidZones
    try:
        return time.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f'quiet window "{key}" must be a "HH:MM" string, got {raw!r}') from exc
