"""Mission items as a vehicle stores them, and which of them AUTO flies to versus merely does.

Items are kept as MAVLink describes them (command id, frame, four params, position, altitude)
so that a download returns what was uploaded. Item 0 is home, as in ArduPilot.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ABSOLUTE_FRAMES",
    "DO_CHANGE_SPEED",
    "NAV_COMMANDS",
    "NAV_LAND",
    "NAV_LOITER_TIME",
    "NAV_LOITER_UNLIM",
    "NAV_RETURN_TO_LAUNCH",
    "NAV_TAKEOFF",
    "NAV_WAYPOINT",
    "MissionItem",
    "alt_rel_m_of",
    "first_nav_from",
]

NAV_WAYPOINT = 16
NAV_LOITER_UNLIM = 17
NAV_LOITER_TIME = 19
NAV_RETURN_TO_LAUNCH = 20
NAV_LAND = 21
NAV_TAKEOFF = 22
DO_CHANGE_SPEED = 178

# MAV_CMD ids below 95 are NAV commands: AUTO flies them; the rest are done on the spot.
_NAV_LAST_ID = 95
NAV_COMMANDS = frozenset({NAV_WAYPOINT, NAV_LOITER_UNLIM, NAV_LOITER_TIME, NAV_RETURN_TO_LAUNCH,
                          NAV_LAND, NAV_TAKEOFF})

# MAV_FRAME_GLOBAL (0) and MAV_FRAME_GLOBAL_INT (5) carry altitude above mean sea level; the
# relative frames (3, 6) and the terrain frames (10, 11, treated as relative) carry it above home.
ABSOLUTE_FRAMES = frozenset({0, 5})


@dataclass(frozen=True)
class MissionItem:
    """One mission item: MAV_CMD ``command`` at (lat, lon, alt_m) in MAV_FRAME ``frame``."""

    command: int
    frame: int = 3
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat: float = 0.0
    lon: float = 0.0
    alt_m: float = 0.0
    autocontinue: int = 1

    @property
    def is_nav(self) -> bool:
        """True for commands AUTO flies (waypoints, takeoff, land …), False for DO_ commands."""
        return self.command < _NAV_LAST_ID

    @property
    def has_position(self) -> bool:
        """True when lat/lon name a place; 0,0 means "where the vehicle is", as in ArduPilot."""
        return not (self.lat == 0.0 and self.lon == 0.0)


def alt_rel_m_of(frame: int, alt_m: float, home_amsl_m: float) -> float:
    """Altitude above home of ``alt_m`` given in MAV_FRAME ``frame``."""
    return alt_m - home_amsl_m if frame in ABSOLUTE_FRAMES else alt_m


def first_nav_from(items: list[MissionItem], start: int) -> MissionItem | None:
    """The first NAV item at or after index ``start``, or None."""
    for item in items[max(start, 1):]:
        if item.is_nav:
            return item
    return None
