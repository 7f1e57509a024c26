"""Routes around no-fly zones: the shortest flyable polyline between two points, and its length.

The no-fly zones, buffered by a safety margin, are obstacles. The route may touch a buffered
boundary but never enters one. A start or goal inside a buffered zone, or one that buffered
zones ring in, has no route: ``NoRouteFound`` says which and why. When the straight line is
clear the route is the straight line.

Quiet windows: routine patrols pass ``avoid_quiet_at`` and zones quiet at that instant become
obstacles too; urgent dispatch passes ``flag_quiet_at`` and flies through, and the route names
the quiet zones it crosses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from geofence.errors import NoRouteFound
from geofence.frame import LocalFrame
from geofence.visibility import TABLE_MAX_NODES, VisibilityGraph
from geofence.zones import NO_FLY, Zone, ZoneSet

__all__ = ["Route", "RouteLengths", "Router", "to_local_geometry"]

LatLon = tuple[float, float]
EastNorth = tuple[float, float]


@dataclass(frozen=True)
class Route:
    """A flyable polyline: WGS84 points, the same in local metres, and its length."""

    points: tuple[LatLon, ...]
    points_local: tuple[EastNorth, ...]
    length_m: float
    quiet_zone_ids: tuple[str, ...] = ()

    @property
    def is_straight(self) -> bool:
        """True when the route is the straight line from start to goal."""
        return len(self.points) == 2


class RouteLengths(NamedTuple):
    """Shortest flyable lengths from one start to many goals, and the turns of each route."""

    length_m: np.ndarray  # inf where the goal is blocked, ringed in or out of reach
    corners: np.ndarray  # interior vertices of each route (Route.points less 2); -1 where none


class Router:
    """Shortest routes around a town's no-fly zones, with the graph built once and reused."""

    def __init__(
        self,
        zones: ZoneSet | Iterable[Zone],
        frame: LocalFrame,
        *,
        margin_m: float = 20.0,
        table_max_nodes: int = TABLE_MAX_NODES,
    ) -> None:
        if not (math.isfinite(margin_m) and margin_m >= 0):
            raise ValueError(f"margin_m must be a non-negative number of metres, got {margin_m!r}")
        zones = tuple(zones)
        self.frame = frame
        self.margin_m = float(margin_m)
        self._table_max_nodes = table_max_nodes
        self._no_fly = tuple(z for z in zones if z.kind == NO_FLY)
        self._quiet = tuple(z for z in zones if z.quiet_windows and z.kind != NO_FLY)
        self._local = {
            z.id: to_local_geometry(z.geometry, frame) for z in self._no_fly + self._quiet
        }
        self._buffered = {zid: _buffer(g, self.margin_m) for zid, g in self._local.items()}
        self._graphs: dict[frozenset[str], VisibilityGraph] = {}
        self._graph_for(frozenset())  # the static part, built now rather than on the first query

    def route(
        self,
        start: LatLon,
        goal: LatLon,
        *,
        avoid_quiet_at: datetime | None = None,
        flag_quiet_at: datetime | None = None,
    ) -> Route:
        """The shortest route start -> goal, both (lat, lon); raises NoRouteFound when none exists."""
        start_en = self.frame.to_local(*_lat_lon(start, "start"))
        goal_en = self.frame.to_local(*_lat_lon(goal, "goal"))
        return self.route_local(
            start_en, goal_en, avoid_quiet_at=avoid_quiet_at, flag_quiet_at=flag_quiet_at
        )

    def route_local(
        self,
        start: EastNorth,
        goal: EastNorth,
        *,
        avoid_quiet_at: datetime | None = None,
        flag_quiet_at: datetime | None = None,
    ) -> Route:
        """``route`` with start and goal given as (east_m, north_m) in this router's frame."""
        path = self._path(start, goal, avoid_quiet_at)
        lats, lons = self.frame.to_wgs84(path[:, 0], path[:, 1])
        quiet = self._quiet_crossed(path, flag_quiet_at) if flag_quiet_at is not None else ()
        return Route(
            points=tuple(zip(lats.tolist(), lons.tolist())),
            points_local=tuple(map(tuple, path.tolist())),
            length_m=_length_m(path),
            quiet_zone_ids=quiet,
        )

    def distance_m(
        self, start: LatLon, goal: LatLon, *, avoid_quiet_at: datetime | None = None
    ) -> float:
        """The flyable distance start -> goal in metres (the route's length, without building it)."""
        start_en = self.frame.to_local(*_lat_lon(start, "start"))
        goal_en = self.frame.to_local(*_lat_lon(goal, "goal"))
        return _length_m(self._path(start_en, goal_en, avoid_quiet_at))

    def lengths_from_local(
        self,
        start: EastNorth,
        goals_local: np.ndarray,
        *,
        avoid_quiet_at: datetime | None = None,
    ) -> RouteLengths:
        """The length and turns of the route from ``start`` to each of k goals, all local metres.

        The same routes as ``route_local`` (one shortest-path tree from the start instead of a
        search per goal), for maps over thousands of points. A start that is blocked or ringed
        in raises NoRouteFound as ``route`` does; a goal that is gets an infinite length.
        """
        graph = self._graph_for(self._active_quiet(avoid_quiet_at))
        start_xy = np.asarray(start, dtype=float)
        self._check_free(graph, "start", start_xy, avoid_quiet_at)
        length_m, corners = graph.lengths_from(start_xy, np.asarray(goals_local, dtype=float))
        return RouteLengths(length_m, corners)

    def free_local(self, points_local: np.ndarray) -> np.ndarray:
        """For k x 2 local points, whether a route may start or end there (no-fly and margin)."""
        return self._graph_for(frozenset()).free_at(np.asarray(points_local, dtype=float))

    @property
    def obstacles_local(self) -> list[Polygon]:
        """The buffered, merged no-fly polygons routes keep out of, in local metres."""
        return list(self._graph_for(frozenset()).obstacles)

    def obstacles_at(self, avoid_quiet_at: datetime | None) -> list[Polygon]:
        """The obstacles in force at an instant (no-fly, plus zones quiet then), in local metres."""
        return list(self._graph_for(self._active_quiet(avoid_quiet_at)).obstacles)

    # -- internals ---------------------------------------------------------------------------

    def _path(
        self, start: EastNorth, goal: EastNorth, avoid_quiet_at: datetime | None
    ) -> np.ndarray:
        start_xy = np.asarray(start, dtype=float)
        goal_xy = np.asarray(goal, dtype=float)
        graph = self._graph_for(self._active_quiet(avoid_quiet_at))
        for which, point in (("start", start_xy), ("goal", goal_xy)):
            self._check_free(graph, which, point, avoid_quiet_at)
        path = graph.shortest_path(start_xy, goal_xy)
        if path is None:  # free space outside the obstacles is connected, so this is a bug
            raise NoRouteFound(
                f"no route from {tuple(start_xy)} to {tuple(goal_xy)} although both are clear",
                reason="disconnected",
            )
        return path

    def _check_free(
        self, graph: VisibilityGraph, which: str, point: np.ndarray, at: datetime | None
    ) -> None:
        blocked = graph.blocked_at(point)
        if blocked is not None:
            names = self._zones_near(graph.obstacles[blocked], point, at)
            where = (
                "inside"
                if any(self._local[z.id].intersects(shapely.Point(point)) for z in names)
                else (f"within the {self.margin_m:g} m safety margin of")
            )
            raise NoRouteFound(
                f"{which} {self._describe(point)} is {where} {_names(names)}; "
                f"pick a {which} outside the zone and its margin",
                reason=f"{which}_blocked",
                zone_names=tuple(z.name for z in names),
            )
        enclosing = graph.enclosed_at(point)
        if enclosing is not None:
            names = self._zones_near(graph.obstacles[enclosing], None, at)
            raise NoRouteFound(
                f"{which} {self._describe(point)} is enclosed by {_names(names)} (with their "
                f"{self.margin_m:g} m margin); no route can get {'out' if which == 'start' else 'in'}",
                reason=f"{which}_enclosed",
                zone_names=tuple(z.name for z in names),
            )

    def _zones_near(
        self, obstacle: Polygon, point: np.ndarray | None, at: datetime | None
    ) -> list[Zone]:
        active = self._active_quiet(at)
        candidates = [z for z in self._no_fly + self._quiet if z.kind == NO_FLY or z.id in active]
        if point is not None:
            probe = shapely.Point(point)
            hits = [z for z in candidates if self._buffered[z.id].intersects(probe)]
            if hits:
                return hits
        return [z for z in candidates if self._buffered[z.id].intersects(obstacle)]

    def _describe(self, point: np.ndarray) -> str:
        lat, lon = self.frame.to_wgs84(float(point[0]), float(point[1]))
        return f"({lat:.6f}, {lon:.6f})"

    def _active_quiet(self, at: datetime | None) -> frozenset[str]:
        if at is None:
            return frozenset()
        return frozenset(z.id for z in self._quiet if z.is_quiet(at))

    def _graph_for(self, active_quiet: frozenset[str]) -> VisibilityGraph:
        # One graph per set of zones in force; a town has few quiet zones, so few graphs.
        graph = self._graphs.get(active_quiet)
        if graph is None:
            ids = [z.id for z in self._no_fly] + sorted(active_quiet)
            graph = VisibilityGraph(
                [part for zid in ids for part in shapely.get_parts(self._buffered[zid])],
                table_max_nodes=self._table_max_nodes,
            )
            self._graphs[active_quiet] = graph
        return graph

    def _quiet_crossed(self, path: np.ndarray, at: datetime) -> tuple[str, ...]:
        line = LineString(path) if len(path) > 1 else shapely.Point(path[0])
        return tuple(
            z.id for z in self._quiet if z.is_quiet(at) and self._local[z.id].intersects(line)
        )


def to_local_geometry(geometry: BaseGeometry, frame: LocalFrame) -> BaseGeometry:
    """A lon/lat geometry with its vertices moved into the frame's metres (east, north)."""

    def project(lonlat: np.ndarray) -> np.ndarray:
        east, north = frame.to_local(lonlat[:, 1], lonlat[:, 0])
        return np.column_stack([east, north])

    return shapely.transform(geometry, project)


def _buffer(geometry: BaseGeometry, margin_m: float) -> BaseGeometry:
    if margin_m == 0:
        return geometry
    # Mitred corners keep a square a square (the buffered region contains the round buffer,
    # so the margin holds everywhere) without the many vertices of round joins; the limit
    # bevels needle-sharp corners instead of letting them spike out.
    return geometry.buffer(margin_m, join_style="mitre", mitre_limit=2.0)


def _length_m(path: np.ndarray) -> float:
    return float(np.hypot(*np.diff(path, axis=0).T).sum())


def _lat_lon(point: Sequence[float], what: str) -> LatLon:
    try:
        lat, lon = (float(v) for v in point)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a (lat, lon) pair of degrees, got {point!r}") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{what} {point!r} is not a WGS84 (lat, lon) in degrees; check the order")
    return lat, lon


def _names(zones: Sequence[Zone]) -> str:
    if not zones:
        return "a no-fly zone"
    return ", ".join(
        f"{'no-fly zone' if z.kind == NO_FLY else 'quiet zone'} {z.name!r}" for z in zones
    )
