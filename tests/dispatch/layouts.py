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
    return rect_zone(zone_id, kind, (east_m - half_m, north_m - half_m),
                     (east_m + half_m, north_m + half_m), target_s)


def rect_zone(zone_id: str, kind: str, south_west_m: tuple[float, float],
              north_east_m: tuple[float, float], target_s: float = 300.0) -> Zone:
    """A rectangle zone between two (east_m, north_m) corners."""
    (w, s), (e, n) = south_west_m, north_east_m
    ring = [tuple(reversed(at(x, y))) for x, y in [(w, s), (e, s), (e, n), (w, n)]]  # (lon, lat)
    return Zone(zone_id, zone_id, kind, Polygon(ring), target_s)


def router(*zones: Zone, margin_m: float = 20.0) -> Router:
    """A router over these zones in the test frame."""
    return Router(ZoneSet(zones), FRAME, margin_m=margin_m)
