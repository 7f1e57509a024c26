"""Department patrol requests and the passes (slots) they ask for; see ``dispatch.patrols``.

A request asks for ``passes_per_day`` passes over an area inside a daily local window on some
weekdays, between ``valid_from`` and ``valid_until`` (local dates, inclusive). The daily window
is cut into ``passes_per_day`` equal consecutive parts; each part is a **slot**: one complete
pass over the area must start and end inside it ("every 2 h from 08:00 to 20:00" is the window
08:00-20:00 with 6 passes). Input that cannot be planned raises ``InvalidPatrolRequest`` (a
``ValueError``) whose message names the field and what to write instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import shapely
import shapely.errors
import shapely.geometry
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from dispatch.errors import InvalidPatrolRequest
from geofence.quiet import DEFAULT_TZ, parse_weekly_window

__all__ = [
    "MIN_SLOT_S",
    "WEEKDAYS",
    "PatrolRequest",
    "PatrolSlot",
    "PatrolWindow",
    "SlotKey",
    "weekly_openings",
]

LatLon = tuple[float, float]
SlotKey = tuple[str, datetime]  # (request id, slot start in UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A pass needs time: launch, a sweep and landing. Shorter slots are refused at the request.
MIN_SLOT_S = 15 * 60.0


def weekly_openings(weekdays: Iterable[int], start: time, end: time, tz: str,
                    first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """UTC [open, close) of a weekly local window on the local days first_day..last_day.

    An opening belongs to the day it opens on; one whose ``end`` is not after ``start``
    closes on the next day. Used for patrol windows and, with a ``QuietWindow``'s fields,
    for quiet windows.
    """
    zone = ZoneInfo(tz)
    days = frozenset(weekdays)
    out = []
    day = first_day
    while day <= last_day:
        if day.weekday() in days:
            close_day = day if end > start else day + timedelta(days=1)
            opens = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
            closes = datetime.combine(close_day, end, tzinfo=zone).astimezone(UTC)
            out.append((opens, closes))
        day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class PatrolWindow:
    """A daily window [start, end) in local wall time on the given weekdays (0 = Monday).

    A window whose end is before its start crosses midnight: it opens on a listed day and
    closes on the next (22:00-02:00 on "fri" is Friday night into Saturday). start == end is
    refused: it could mean all day or no time at all; for all day write 00:00-23:59.
    """

    start: time
    end: time
    weekdays: frozenset[int] = frozenset(range(7))
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            if not isinstance(getattr(self, name), time):
                raise InvalidPatrolRequest(
                    f"window {name} must be a time of day like 08:00, got {getattr(self, name)!r}"
                )
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidPatrolRequest("window start and end are local wall times; give the "
                                       "time zone as tz, not on the times")
        try:
            days = frozenset(int(d) for d in self.weekdays)
        except (TypeError, ValueError):
            raise InvalidPatrolRequest(
                f"weekdays must be numbers 0..6 (0 = Monday), got {self.weekdays!r}"
            ) from None
        if not days or not days <= set(range(7)):
            raise InvalidPatrolRequest(
                f"weekdays must be a non-empty subset of 0..6 (0 = Monday), got {sorted(days)}"
            )
        object.__setattr__(self, "weekdays", days)
        if self.start == self.end:
            raise InvalidPatrolRequest(
                f"window start and end are both {self.start:%H:%M}: that is ambiguous (all day or "
                "never); for a whole day write start 00:00 and end 23:59"
            )
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidPatrolRequest(
                f"unknown time zone {self.tz!r}; use an IANA name like 'Asia/Shanghai'"
            ) from None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> PatrolWindow:
        """A window from JSON: {"days": ["mon", ...] (default every day), "start": "HH:MM", "end": "HH:MM", "tz": ...}."""
        try:
            weekdays, start, end, tz = parse_weekly_window(raw, what="window", default_days=WEEKDAYS)
        except ValueError as exc:
            raise InvalidPatrolRequest(str(exc)) from None
        return cls(start, end, weekdays, tz)

    @property
    def length_s(self) -> float:
        """Seconds from opening to closing (a window across midnight included)."""
        start_s = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        end_s = self.end.hour * 3600 + self.end.minute * 60 + self.end.second
        return float((end_s - start_s) % 86400)

    def intervals(self, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
        """The window's openings on the local days first_day..last_day (inclusive), in UTC."""
        return weekly_openings(self.weekdays, self.start, self.end, self.tz, first_day, last_day)


@dataclass(frozen=True)
class PatrolSlot:
    """One pass a request asks for: over ``area`` (lon/lat), starting and ending in [start, end)."""

    request_id: str
    start: datetime
    end: datetime
    area: BaseGeometry = field(repr=False, compare=False)
    looks_for: tuple[str, ...] = ()

    @property
    def key(self) -> SlotKey:
        """(request id, slot start): how a flight names the slots it serves."""
        return (self.request_id, self.start)


@dataclass(frozen=True)
class PatrolRequest:
    """A department's standing patrol need: where, what to look for, when and how often.

    ``area`` is a shapely Polygon or MultiPolygon in WGS84 with x = longitude, y = latitude
    (GeoJSON order); ``from_ring`` builds one from (lat, lon) pairs. ``looks_for`` holds event
    types (``street_stall``, ``mobile_fuel``) or free text. Invalid input raises
    ``InvalidPatrolRequest`` (a ``ValueError``) whose message says what to fix.
    """

    id: str
    department: str
    area: BaseGeometry
    window: PatrolWindow
    looks_for: tuple[str, ...] = ()
    passes_per_day: int = 1
    valid_from: date | None = None
    valid_until: date | None = None  # inclusive

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.id))
        if not self.id:
            raise InvalidPatrolRequest("a patrol request needs a non-empty id")
        if not isinstance(self.department, str) or not self.department.strip():
            raise InvalidPatrolRequest(
                f"request {self.id}: department must be a name like '城管', got {self.department!r}"
            )
        _check_area(self.id, self.area)
        if not isinstance(self.window, PatrolWindow):
            raise InvalidPatrolRequest(
                f"request {self.id}: window must be a PatrolWindow, got {self.window!r}"
            )
        if isinstance(self.looks_for, str):
            object.__setattr__(self, "looks_for", (self.looks_for,))
        looks_for = tuple(self.looks_for)
        if not all(isinstance(x, str) and x.strip() for x in looks_for):
            raise InvalidPatrolRequest(
                f"request {self.id}: looks_for must be non-empty texts like 'street_stall', "
                f"got {looks_for!r}"
            )
        object.__setattr__(self, "looks_for", looks_for)
        passes = self.passes_per_day
        if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
            raise InvalidPatrolRequest(
                f"request {self.id}: passes_per_day must be a whole number >= 1, got {passes!r}"
            )
        slot_s = self.window.length_s / passes
        if slot_s < MIN_SLOT_S:
            raise InvalidPatrolRequest(
                f"request {self.id}: {passes} passes in a {self.window.length_s / 60:.0f}-minute "
                f"window leave {slot_s / 60:.0f} minutes each, less than the "
                f"{MIN_SLOT_S / 60:.0f} a pass needs; ask for fewer passes or a longer window"
            )
        if (self.valid_from is not None and self.valid_until is not None
                and self.valid_until < self.valid_from):
            raise InvalidPatrolRequest(
                f"request {self.id}: valid_until {self.valid_until} is before valid_from "
                f"{self.valid_from}"
            )

    @classmethod
    def from_ring(cls, id: str, department: str, ring: Sequence[LatLon], window: PatrolWindow,
                  **kw: object) -> PatrolRequest:
        """A request over the polygon whose vertices are the (lat, lon) pairs of ``ring``."""
        try:
            lonlat = [(float(lon), float(lat)) for lat, lon in ring]
        except (TypeError, ValueError):
            raise InvalidPatrolRequest(
                f"request {id}: the area must be a list of (lat, lon) pairs, got {ring!r}"
            ) from None
        if len({*lonlat}) < 3:
            raise InvalidPatrolRequest(
                f"request {id}: an area needs at least 3 distinct (lat, lon) corners, "
                f"got {len({*lonlat})}"
            )
        return cls(id, department, Polygon(lonlat), window, **kw)  # type: ignore[arg-type]

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> PatrolRequest:
        """A request from JSON, the shape ``simulators.patrol_week`` writes::

            {"id": "r1", "department": "城管", "area": {"type": "Polygon", "coordinates": ...},
             "looks_for": ["street_stall"], "window": {"days": ["mon"], "start": "08:00",
             "end": "12:00"}, "passes_per_day": 2, "valid_from": "2026-11-30",
             "valid_until": "2026-12-06"}

        ``area`` is a GeoJSON Polygon or MultiPolygon ([lon, lat] order); ``looks_for``,
        ``passes_per_day`` (1) and the validity dates (open) may be left out.
        """
        if not isinstance(raw, Mapping):
            raise InvalidPatrolRequest(f"a patrol request must be an object, got {raw!r}")
        allowed = {"id", "department", "area", "looks_for", "window", "passes_per_day",
                   "valid_from", "valid_until"}
        unknown = set(raw) - allowed
        if unknown:
            raise InvalidPatrolRequest(
                f"unknown patrol request keys {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}"
            )
        rid = raw.get("id")
        try:
            area = shapely.geometry.shape(raw.get("area"))  # type: ignore[arg-type]
        except (AttributeError, KeyError, TypeError, ValueError, IndexError,
                shapely.errors.ShapelyError):
            raise InvalidPatrolRequest(
                f'request {rid}: "area" must be a GeoJSON Polygon like {{"type": "Polygon", '
                '"coordinates": [[[lon, lat], ...]]}'
            ) from None
        looks_for = raw.get("looks_for", ())
        if isinstance(looks_for, str) or not isinstance(looks_for, (list, tuple)):
            raise InvalidPatrolRequest(
                f'request {rid}: "looks_for" must be a list of texts, got {looks_for!r}'
            )
        return cls(
            id=rid,  # type: ignore[arg-type]
            department=raw.get("department"),  # type: ignore[arg-type]
            area=area,
            window=PatrolWindow.from_mapping(raw.get("window")),  # type: ignore[arg-type]
            looks_for=tuple(looks_for),
            passes_per_day=raw.get("passes_per_day", 1),  # type: ignore[arg-type]
            valid_from=_parse_date(raw.get("valid_from"), "valid_from", rid),
            valid_until=_parse_date(raw.get("valid_until"), "valid_until", rid),
        )

    def slots(self, first_day: date, last_day: date) -> list[PatrolSlot]:
        """The passes this request asks for on local days first_day..last_day, in time order."""
        first = max(first_day, self.valid_from) if self.valid_from else first_day
        last = min(last_day, self.valid_until) if self.valid_until else last_day
        out = []
        for opens, closes in self.window.intervals(first, last):
            step = (closes - opens) / self.passes_per_day
            for k in range(self.passes_per_day):
                out.append(PatrolSlot(self.id, opens + k * step, opens + (k + 1) * step,
                                      self.area, self.looks_for))
        return out


def _check_area(request_id: str, area: object) -> None:
    if not isinstance(area, (Polygon, MultiPolygon)):
        raise InvalidPatrolRequest(
            f"request {request_id}: the area must be a polygon (GeoJSON Polygon or "
            f"MultiPolygon, [lon, lat] order), got {type(area).__name__}"
        )
    if area.is_empty:
        raise InvalidPatrolRequest(
            f"request {request_id}: the area is empty; draw a polygon with at least 3 distinct "
            "corners"
        )
    if not area.is_valid:
        raise InvalidPatrolRequest(
            f"request {request_id}: the area is not a valid polygon "
            f"({shapely.is_valid_reason(area)}); redraw it without crossing edges"
        )
    if area.area <= 0:
        raise InvalidPatrolRequest(
            f"request {request_id}: the area has no surface (its corners lie on one line); "
            "draw a polygon with at least 3 corners not in a row"
        )
    min_x, min_y, max_x, max_y = area.bounds
    if not (all(math.isfinite(v) for v in area.bounds)
            and -180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise InvalidPatrolRequest(
            f"request {request_id}: the area's corners are not WGS84 degrees "
            f"(bounds {area.bounds}); coordinates go [lon, lat]"
        )


def _parse_date(raw: object, key: str, request_id: object) -> date | None:
    if raw is None or isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidPatrolRequest(
            f'request {request_id}: "{key}" must be a date like "2026-11-30", got {raw!r}'
        ) from None
