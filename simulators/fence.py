"""A vehicle's geofence and rally points as ArduCopter keeps them (AC_Fence, AP_Rally).

Both arrive as plans over the mission item protocol (mission_type FENCE and RALLY) and are
stored as the items uploaded, so a download returns them unchanged. The fence is the
intersection of what ``FENCE_TYPE`` enables: a maximum altitude above home
(``FENCE_ALT_MAX``), a circle round home (``FENCE_RADIUS``) and the uploaded inclusion and
exclusion polygons and circles. ``breaches`` says which of them the vehicle is outside of;
``Rally.return_point`` is where RTL goes, as ``AP_Rally::calc_best_rally_or_home_location``
picks it. Positions are metres east/north of home in the vehicle's ``LocalFrame``.

Deviations from ArduCopter: no minimum-altitude fence (FENCE_TYPE bit 8 is accepted and
ignored), no FENCE_AUTOENABLE, FENCE_OPTIONS or backup fences (a breach clears as soon as the
vehicle is back inside, and it is checked every physics step rather than at 1 Hz); a return
point (5000) is stored and ignored, as Copter does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shapely import prepared
from shapely.geometry import Point, Polygon

from geofence.frame import LocalFrame
from simulators.errors import BadPlan
from simulators.mission import MissionItem

__all__ = [
    "ALT_MAX",
    "CIRCLE",
    "FENCE_COMMANDS",
    "POLYGON",
    "RALLY_POINT",
    "Fence",
    "Rally",
    "fence_names",
]

FENCE_RETURN_POINT = 5000
POLYGON_INCLUSION = 5001
POLYGON_EXCLUSION = 5002
CIRCLE_INCLUSION = 5003
CIRCLE_EXCLUSION = 5004
RALLY_POINT = 5100
FENCE_COMMANDS = frozenset({FENCE_RETURN_POINT, POLYGON_INCLUSION, POLYGON_EXCLUSION,
                            CIRCLE_INCLUSION, CIRCLE_EXCLUSION})

# AC_FENCE_TYPE bits
ALT_MAX, CIRCLE, POLYGON, ALT_MIN = 1, 2, 4, 8
_NAMES = ((ALT_MAX, "Max Alt"), (CIRCLE, "Circle"), (POLYGON, "Polygon"), (ALT_MIN, "Min Alt"))


def fence_names(fences: int) -> str:
    """ArduPilot's words for a set of fence bits: "Polygon fence", "Max Alt and Circle fences"."""
    names = [name for bit, name in _NAMES if fences & bit]
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return joined + (" fences" if len(names) > 1 else " fence")


@dataclass(frozen=True)
class _Circle:
    east_m: float
    north_m: float
    radius_m: float

    def contains(self, east_m: float, north_m: float) -> bool:
        return math.hypot(east_m - self.east_m, north_m - self.north_m) <= self.radius_m


class Fence:
    """The uploaded fence items, their geometry, and which fences a position breaches."""

    def __init__(self, frame: LocalFrame) -> None:
        self._frame = frame
        self.items: list[MissionItem] = []
        self._inclusions: list = []  # prepared polygons and _Circles the vehicle must be inside
        self._exclusions: list = []  # … and must stay out of

    @property
    def has_areas(self) -> bool:
        """True when polygons or circles were uploaded (the POLYGON fence type has something)."""
        return bool(self._inclusions or self._exclusions)

    def set_items(self, items: Sequence[MissionItem]) -> None:
        """Replace the fence with ``items``; BadPlan (nothing changed) when they do not make one.

        Polygon vertices come in runs of ``param1`` consecutive items of one kind, at least 3;
        circles need a radius (``param1``) above 0.
        """
        inclusions, exclusions = [], []
        i = 0
        while i < len(items):
            item = items[i]
            if item.command not in FENCE_COMMANDS:
                raise BadPlan(f"Fence: item {i} is command {item.command}, not a fence item",
                              result="UNSUPPORTED")
            if item.command in (POLYGON_INCLUSION, POLYGON_EXCLUSION):
                count = int(item.param1)
                run = items[i:i + count]
                if count < 3 or len(run) < count or any(
                        v.command != item.command or int(v.param1) != count for v in run):
                    raise BadPlan(f"Fence: polygon at item {i} has {count} vertices declared "
                                  "but not that many in a row (at least 3)", result="ERROR")
                ring = [self._frame.to_local(v.lat, v.lon) for v in run]
                polygon = Polygon([(float(e), float(n)) for e, n in ring])
                if not polygon.is_valid:
                    raise BadPlan(f"Fence: polygon at item {i} crosses itself", result="ERROR")
                (inclusions if item.command == POLYGON_INCLUSION else exclusions).append(
                    prepared.prep(polygon))
                i += count
                continue
            if item.command in (CIRCLE_INCLUSION, CIRCLE_EXCLUSION):
                if not (math.isfinite(item.param1) and item.param1 > 0):
                    raise BadPlan(f"Fence: circle at item {i} has radius {item.param1}",
                                  result="ERROR")
                east, north = self._frame.to_local(item.lat, item.lon)
                circle = _Circle(float(east), float(north), float(item.param1))
                (inclusions if item.command == CIRCLE_INCLUSION else exclusions).append(circle)
            i += 1
        self.items = list(items)
        self._inclusions, self._exclusions = inclusions, exclusions

    def breaches(self, east_m: float, north_m: float, up_m: float, *, types: int,
                 alt_max_m: float, radius_m: float) -> int:
        """The fence bits (of ``types``) that the position (metres from home) is outside of."""
        out = 0
        if types & ALT_MAX and up_m > alt_max_m:
            out |= ALT_MAX
        if types & CIRCLE and math.hypot(east_m, north_m) > radius_m:
            out |= CIRCLE
        if types & POLYGON and self.has_areas and not self._inside_areas(east_m, north_m):
            out |= POLYGON
        return out

    def _inside_areas(self, east_m: float, north_m: float) -> bool:
        point = Point(east_m, north_m)

        def within(area: object) -> bool:
            if isinstance(area, _Circle):
                return area.contains(east_m, north_m)
            return area.covers(point)  # type: ignore[attr-defined] # on the edge is inside

        # inside every inclusion area and outside every exclusion area (ArduPilot's default,
        # FENCE_OPTIONS bit 1 "union of inclusions" is not simulated)
        return all(within(a) for a in self._inclusions) and \
            not any(within(a) for a in self._exclusions)


class Rally:
    """The uploaded rally points and the one RTL returns to."""

    def __init__(self, frame: LocalFrame) -> None:
        self._frame = frame
        self.items: list[MissionItem] = []
        self._points_en: list[tuple[float, float]] = []

    def set_items(self, items: Sequence[MissionItem]) -> None:
        """Replace the rally points with ``items``; BadPlan for anything but rally points."""
        for i, item in enumerate(items):
            if item.command != RALLY_POINT:
                raise BadPlan(f"Rally: item {i} is command {item.command}, not a rally point",
                              result="UNSUPPORTED")
        self.items = list(items)
        self._points_en = [tuple(map(float, self._frame.to_local(i.lat, i.lon))) for i in items]

    def return_point(self, east_m: float, north_m: float, *, limit_km: float,
                     include_home: bool) -> tuple[float, float]:
        """Where RTL flies from (east, north): the nearest rally point, or home (0, 0).

        As AP_Rally: past ``limit_km`` (when > 0) a nearer home wins; with ``include_home``
        home also wins whenever it is nearer than the nearest rally point.
        """
        if not self._points_en:
            return 0.0, 0.0
        nearest = min(self._points_en, key=lambda p: math.hypot(p[0] - east_m, p[1] - north_m))
        nearest_m = math.hypot(nearest[0] - east_m, nearest[1] - north_m)
        home_m = math.hypot(east_m, north_m)
        if limit_km > 0 and nearest_m > limit_km * 1000.0 and home_m < nearest_m:
            return 0.0, 0.0
        if include_home and home_m <= nearest_m:
            return 0.0, 0.0
        return nearest
