"""Hand-made towns for dispatch tests: a frame, square no-fly zones given in local metres."""

from __future__ import annotations

from shapely.geometry import Polygon

from geofence import LocalFrame, Router, ZoneSet
from geofence.zones import Zone

ORIGIN = (29.50, 120.90)
FRAME = LocalFrame(*ORIGIN)


def at(east_m: float, north_m: float) -> tuple[float, float]:
    """(lat, lon) of a point ``east_m``, ``north_m`` from the origin."""
    lat, lon = FRAME.to_wgs84(east_m, north_m)
    return float(lat), float(lon)


def square_zone(zone_id: str, kind: str, east_m: float, north_m: float, half_m: float,
                target_s: float = 300.0) -> Zone:
    """A square zone centred ``east_m``, ``north_m`` from the origin, ``2*half_m`` wide."""
    corners = [(east_m - half_m, north_m - half_m), (east_m + half_m, north_m - half_m),
               (east_m + half_m, north_m + half_m), (east_m - half_m, north_m + half_m)]
    ring = [tuple(reversed(at(e, n))) for e, n in corners]  # (lon, lat)
    return Zone(zone_id, zone_id, kind, Polygon(ring), target_s)


def router(*zones: Zone, margin_m: float = 20.0) -> Router:
    """A router over these zones in the test frame."""
    return Router(ZoneSet(zones), FRAME, margin_m=margin_m)
