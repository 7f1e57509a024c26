"""Patrol coverage: a back-and-forth (lawnmower) path over an area, kept out of no-fly zones."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from geofence.errors import NoRouteFound
from geofence.frame import LocalFrame
from geofence.routing import Router, to_local_geometry
from geofence.zones import Zone, ZoneSet

__all__ = ["lawnmower"]


def lawnmower(
    area: Zone | BaseGeometry,
    footprint_width_m: float,
    *,
    frame: LocalFrame,
    avoid: Router | ZoneSet | Iterable[Zone] = (),
    margin_m: float = 20.0,
    heading_deg: float | None = None,
) -> list[tuple[float, float]]:
    """(lat, lon) waypoints sweeping ``area`` in lanes ``footprint_width_m`` apart.

    Lanes run along ``heading_deg`` (compass: 0 north, 90 east), by default along the area's
    longest extent so there are as few turns as possible. Lanes are cut where the no-fly zones
    of ``avoid`` (buffered by ``margin_m``, or by the Router's own margin) lie, and every hop
    that would cross one is replaced by the route around it. The first and last lanes sit half
    a footprint inside the area, so the camera sees to its edges.
    """
    if not (math.isfinite(footprint_width_m) and footprint_width_m > 0):
        raise ValueError(
            f"footprint_width_m must be a positive number of metres, got {footprint_width_m!r}"
        )
    router = avoid if isinstance(avoid, Router) else Router(avoid, frame, margin_m=margin_m)
    geometry = area.geometry if isinstance(area, Zone) else area
    area_m = to_local_geometry(geometry, frame)
    obstacles = router.obstacles_local
    free = area_m.difference(shapely.unary_union(obstacles)) if obstacles else area_m
    if free.is_empty or free.area <= 0:
        raise NoRouteFound(
            "the patrol area lies entirely inside no-fly zones and their margin; nothing to cover",
            reason="area_blocked",
        )
    if heading_deg is None:
        heading_deg = _long_axis_heading_deg(free)
    along = np.array([math.sin(math.radians(heading_deg)), math.cos(math.radians(heading_deg))])
    across = np.array([along[1], -along[0]])

    coords = shapely.get_coordinates(free)
    lo, hi = (coords @ across).min(), (coords @ across).max()
    a_lo, a_hi = (coords @ along).min() - 1.0, (coords @ along).max() + 1.0
    lanes = max(1, math.ceil((hi - lo) / footprint_width_m - 1e-9))
    offsets = np.minimum(
        lo + footprint_width_m * (np.arange(lanes) + 0.5), hi - footprint_width_m / 2
    )
    if lanes == 1:
        offsets = np.array([(lo + hi) / 2])

    waypoints: list[np.ndarray] = []
    for k, offset in enumerate(offsets):
        lane = LineString([offset * across + a_lo * along, offset * across + a_hi * along])
        pieces = [
            p
            for p in shapely.get_parts(lane.intersection(free))
            if isinstance(p, LineString) and p.length > 0
        ]
        ends = (np.asarray(p.coords)[[0, -1]] for p in pieces)
        ordered = [seg[np.argsort(seg @ along)] for seg in ends]  # each piece runs with the lane
        ordered.sort(key=lambda seg: float(seg[0] @ along))
        if k % 2 == 1:  # boustrophedon: every other lane runs back
            ordered = [seg[::-1] for seg in ordered[::-1]]
        for seg in ordered:
            waypoints.extend(seg)

    path = _detour(np.asarray(waypoints), router)
    lats, lons = frame.to_wgs84(path[:, 0], path[:, 1])
    return list(zip(lats.tolist(), lons.tolist()))


def _detour(points: np.ndarray, router: Router) -> np.ndarray:
    """The points with a route around the obstacles spliced into every hop that crosses one."""
    graph = router._graph_for(frozenset())
    blocked = graph.segments_blocked(points[:-1], points[1:])
    out = [points[0]]
    for i in range(1, len(points)):
        if blocked[i - 1]:
            route = router.route_local(tuple(points[i - 1]), tuple(points[i]))
            out.extend(np.asarray(route.points_local[1:-1]))
        out.append(points[i])
    return np.asarray(out)


def _long_axis_heading_deg(geometry: BaseGeometry) -> float:
    rect = np.asarray(shapely.minimum_rotated_rectangle(geometry).exterior.coords)
    if len(rect) < 3:
        return 90.0
    edges = np.diff(rect[:3], axis=0)
    dx, dy = max(edges, key=lambda e: float(np.hypot(*e)))
    return math.degrees(math.atan2(dx, dy)) % 180.0
