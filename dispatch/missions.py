"""A flight as mission items: take off, the waypoints (with a hold), return home.

The one builder of flyonce's missions: ``DroneLink.upload_mission`` sends these items to a
drone, ``dispatch.plan_files`` writes them for QGroundControl and MAVProxy. Items are kept as
MAVLink describes them (MAV_CMD, MAV_FRAME, param1-4, WGS84 degrees, metres); altitudes are
metres above home (MAV_FRAME_GLOBAL_RELATIVE_ALT), as ArduCopter flies them. Home itself is
not an item here: ArduPilot's item 0 is added by whoever sends or writes the plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FRAME_GLOBAL", "FRAME_MISSION", "FRAME_RELATIVE_ALT", "NAV_RETURN_TO_LAUNCH",
           "NAV_TAKEOFF", "NAV_WAYPOINT", "PlanItem", "route_items"]

NAV_WAYPOINT = 16
NAV_RETURN_TO_LAUNCH = 20
NAV_TAKEOFF = 22
FRAME_GLOBAL = 0  # altitude above mean sea level
FRAME_MISSION = 2  # no position (RTL, DO_ commands)
FRAME_RELATIVE_ALT = 3  # altitude above home

LatLon = tuple[float, float]


@dataclass(frozen=True)
class PlanItem:
    """One mission item: MAV_CMD ``command`` at (lat, lon, alt_m) in MAV_FRAME ``frame``."""

    command: int
    frame: int = FRAME_RELATIVE_ALT
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat: float = 0.0
    lon: float = 0.0
    alt_m: float = 0.0
    autocontinue: bool = True


def route_items(waypoints: Sequence[LatLon], *, alt_rel_m: float, loiter_s: float = 0.0,
                final_hold_s: float | None = None, return_home: bool = True,
                takeoff_at: LatLon | None = None) -> tuple[PlanItem, ...]:
    """NAV_TAKEOFF to ``alt_rel_m``, a NAV_WAYPOINT per (lat, lon) at that altitude, then RTL.

    Each waypoint holds ``loiter_s`` seconds (NAV_WAYPOINT param1), the last one
    ``final_hold_s`` when given (a dispatch route's hold over the scene). ``takeoff_at`` only
    places the takeoff on a planner's map (ArduCopter takes off where it stands).
    """
    if not waypoints:
        raise ValueError("a mission needs at least one waypoint")
    if not (math.isfinite(alt_rel_m) and alt_rel_m > 0):
        raise ValueError(f"alt_rel_m must be a height above home in metres > 0, got {alt_rel_m!r}")
    for name, value in (("loiter_s", loiter_s), ("final_hold_s", final_hold_s)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be seconds >= 0, got {value!r}")
    for lat, lon in waypoints:
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 < lat < 90
                and -180 <= lon <= 180):
            raise ValueError(f"waypoint ({lat!r}, {lon!r}) is not a WGS84 (lat, lon) in degrees")
    lat0, lon0 = takeoff_at if takeoff_at is not None else (0.0, 0.0)
    items = [PlanItem(NAV_TAKEOFF, lat=lat0, lon=lon0, alt_m=alt_rel_m)]
    last = len(waypoints) - 1
    for i, (lat, lon) in enumerate(waypoints):
        hold = final_hold_s if i == last and final_hold_s is not None else loiter_s
        items.append(PlanItem(NAV_WAYPOINT, param1=hold, lat=lat, lon=lon, alt_m=alt_rel_m))
    if return_home:
        items.append(PlanItem(NAV_RETURN_TO_LAUNCH, frame=FRAME_MISSION))
    return tuple(items)
