"""Sorties over an area: lawnmower sweeps chained from a dock, cut to fit one battery each.

The patrol planner (``dispatch.patrols``) decides what to cover and when; this module turns
"cover these polygons from this dock" into flyable sorties with their length, flight time and
energy, all from ``DroneModel`` (the one place that knows flight time):

- the area is clustered into pieces lying within ``cluster_gap_m`` of each other; each piece is
  swept by one ``geofence.lawnmower`` (no-fly zones cut out, hops routed around them);
- pieces are chained nearest-first from the dock, each sweep run in whichever direction
  starts nearer; transits follow ``Router`` routes;
- the chained path is cut greedily into sorties: each flies from the dock to where the last
  one stopped, sweeps as far as the battery allows (keeping the way home and the reserve),
  and returns. Cuts fall on points at most ``_STEP_M`` apart, so a long lane can be shared.

Time of a sortie = launch + the whole route at cruise speed with a cost per corner + landing
(``DroneModel.launch_s``, ``cruise_s``, ``landing_s``); energy = ``DroneModel.trip_wh`` with the
corners counted as hover time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from dispatch.model import DroneModel
from geofence import NoRouteFound, Router, lawnmower
from geofence.routing import to_local_geometry

__all__ = ["Sortie", "SortieBuilder", "to_lonlat_geometry"]

EastNorth = tuple[float, float]
_STEP_M = 100.0  # longest stretch between points a sortie may be cut at


@dataclass(frozen=True)
class Sortie:
    """One flight from a dock and back: its path in local metres and what it costs."""

    dock: EastNorth
    points_local: np.ndarray  # (n, 2), first and last point over the dock
    sweeps_local: BaseGeometry  # the sweep stretches flown (a MultiLineString), for "serves"
    length_m: float
    corners: int
    duration_s: float
    energy_wh: float


def to_lonlat_geometry(geometry: BaseGeometry, frame) -> BaseGeometry:
    """A geometry in the frame's metres (east, north) moved back to lon/lat degrees."""

    def unproject(en: np.ndarray) -> np.ndarray:
        lat, lon = frame.to_wgs84(en[:, 0], en[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geometry, unproject)


class SortieBuilder:
    """Builds sorties over lon/lat areas from docks with one router, drone model and sweep."""

    def __init__(self, router: Router, model: DroneModel, *, footprint_width_m: float,
                 alt_rel_m: float, cluster_gap_m: float) -> None:
        self.router = router
        self.frame = router.frame
        self.model = model
        self.footprint_width_m = footprint_width_m
        self.alt_rel_m = alt_rel_m
        self.cluster_gap_m = cluster_gap_m
        self.usable_wh = model.usable_wh(100.0)

    def pieces(self, areas: Sequence[BaseGeometry]) -> list[BaseGeometry]:
        """The union of lon/lat ``areas`` split into clusters, each a lon/lat geometry."""
        union_local = shapely.unary_union([to_local_geometry(a, self.frame) for a in areas])
        clusters = shapely.get_parts(union_local.buffer(self.cluster_gap_m / 2.0))
        pieces = [union_local.intersection(c) for c in clusters]
        return [to_lonlat_geometry(p, self.frame) for p in pieces if p.area > 0]

    def sweep(self, piece: BaseGeometry) -> np.ndarray:
        """The lawnmower over one lon/lat piece, in local metres; NoRouteFound if all blocked."""
        waypoints = lawnmower(piece, self.footprint_width_m, frame=self.frame, avoid=self.router)
        lats, lons = np.asarray(waypoints).T
        return np.column_stack(self.frame.to_local(lats, lons))

    def sweeps(self, piece: BaseGeometry, areas: Sequence[BaseGeometry]) -> list[np.ndarray]:
        """The shortest way found to sweep a piece (lon/lat) made of the lon/lat ``areas``.

        One lawnmower over the whole piece is best for areas that overlap a lot, but one
        heading suits a cross of two streets badly; so three layouts are tried and the one with
        the shortest chained path kept: the piece whole; each area alone; and each area less
        what the larger ones before it cover. NoRouteFound when the piece is all no-fly.
        """
        piece_local = to_local_geometry(piece, self.frame)
        inside = [a for a in areas if to_local_geometry(a, self.frame).intersects(piece_local)]
        distinct: list[BaseGeometry] = []
        for area in inside:
            if not any(area.equals(d) for d in distinct):
                distinct.append(area)
        layouts: list[list[BaseGeometry]] = [[piece]]
        if len(distinct) > 1:
            layouts.append(distinct)
            ordered = sorted(distinct, key=lambda a: -a.area)
            rest, covered = [], None
            for area in ordered:
                local = to_local_geometry(area, self.frame)
                part = local if covered is None else local.difference(covered)
                part = part.buffer(-1.0).buffer(1.0)  # slivers along shared edges are covered
                if part.area > self.footprint_width_m ** 2 / 4:
                    rest.append(to_lonlat_geometry(part, self.frame))
                covered = local if covered is None else covered.union(local)
            layouts.append(rest)
        best: tuple[float, list[np.ndarray]] | None = None
        blocked: NoRouteFound | None = None
        for layout in layouts:
            paths = []
            for part in layout:
                try:
                    paths.append(self.sweep(part))
                except NoRouteFound as exc:  # that part lies in no-fly zones; the rest is flown
                    blocked = exc
            if not paths:
                continue
            length = _chained_m(paths)
            if best is None or length < best[0]:
                best = (length, paths)
        if best is None:
            raise blocked or NoRouteFound("nothing to cover", reason="area_blocked")
        return best[1]

    def sorties(self, dock: EastNorth, sweeps: Sequence[np.ndarray]) -> list[Sortie]:
        """Sorties from ``dock`` covering every sweep; NoRouteFound when a part is out of reach.

        Whole sweeps are packed into a sortie nearest-first while the battery allows; a sweep
        that alone is beyond one battery is cut into as many sorties as it needs.
        """
        home = np.asarray(dock, dtype=float)
        left = [np.asarray(s, dtype=float) for s in sweeps]
        out: list[Sortie] = []
        while left:
            chain: list[np.ndarray] = []
            here = home
            while left:
                k, sweep = _nearest(left, here)
                if not self._cut(home, [*chain, sweep], whole_only=True):
                    break
                chain.append(sweep)
                left.pop(k)
                here = sweep[-1]
            if not chain:  # the nearest sweep alone needs more than one battery
                k, sweep = _nearest(left, here)
                left.pop(k)
                out.extend(self._cut(home, [sweep]))
            else:
                out.extend(self._cut(home, chain))
        return out

    def _cut(self, dock: np.ndarray, sweeps: Sequence[np.ndarray], *,
             whole_only: bool = False) -> list[Sortie]:
        """The sweeps flown in this order, cut greedily into sorties that each fit the battery.

        With ``whole_only``: one sortie flying them all, or none when that exceeds the battery.
        """
        points, is_sweep, is_corner = self._chain(sweeps)
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
        corners_before = np.cumsum(is_corner)  # corners at indices <= k
        legs: dict[int, tuple[np.ndarray, int]] = {}

        def leg(k: int) -> tuple[np.ndarray, int]:  # route dock -> point k and its corners
            if k not in legs:
                route = self.router.route_local(tuple(dock), tuple(points[k]))
                path = np.asarray(route.points_local)
                legs[k] = (path, max(len(path) - 2, 0))
            return legs[k]

        def cost(a: int, b: int) -> tuple[float, float, float, int]:
            out_path, out_corners = leg(a)
            back_path, back_corners = leg(b)
            out_m, back_m = _length(out_path), _length(back_path)
            mid_m = cum[b] - cum[a]
            inner = int(corners_before[b - 1] - corners_before[a]) if b > a else 0
            corners = out_corners + back_corners + inner + (2 if b > a else 1)
            energy = self.model.trip_wh(out_m + mid_m, back_m, alt_rel_m=self.alt_rel_m,
                                        hold_s=corners * self.model.corner_s)
            duration = self.model.launch_s(self.alt_rel_m) + self.model.cruise_s(
                out_m + mid_m + back_m, corners=corners, stop=True
            ) + self.model.landing_s(self.alt_rel_m)
            return energy, out_m + mid_m + back_m, duration, corners

        out: list[Sortie] = []
        a, last = 0, len(points) - 1
        whole = cost(0, last)
        if whole_only and whole[0] > self.usable_wh:
            return []
        while True:
            b, best = a, None
            if a == 0 and whole[0] <= self.usable_wh:
                b, best = last, whole  # the usual case: all of it in one sortie
            while best is None or b < last:
                c = cost(a, b + 1)
                if c[0] > self.usable_wh:
                    break
                b, best = b + 1, c
            if best is None:
                raise NoRouteFound(
                    f"a sweep point {self._describe(points[min(a + 1, last)])} is beyond one "
                    f"battery's reach from the dock (more than {self.usable_wh:.0f} Wh there and "
                    "back); add a dock nearer to it or a drone with more endurance",
                    reason="out_of_reach",
                )
            energy, length_m, duration_s, corners = best
            out_path, back_path = leg(a)[0], leg(b)[0]
            path = np.vstack([out_path, points[a + 1:b + 1], back_path[::-1][1:]])
            stretches = [LineString(points[k:k + 2]) for k in range(a, b) if is_sweep[k]]
            out.append(Sortie(tuple(dock), path, MultiLineString(stretches), length_m, corners,
                              duration_s, energy))
            if b == last:
                return out
            a = b

    def _chain(self, sweeps: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sweeps joined in order by routed transits, densified to ``_STEP_M``.

        Returns the points, whether each segment k -> k+1 sweeps (not a transit), and whether
        each point is a corner (a real waypoint, not a densified one).
        """
        points: list[np.ndarray] = []
        segment_sweeps: list[bool] = []
        here: np.ndarray | None = None
        for sweep in sweeps:
            if here is not None:  # the transit from the last sweep's end to this one's start
                hop = np.asarray(self.router.route_local(tuple(here), tuple(sweep[0])).points_local)
                points.extend(hop[1:-1])
                segment_sweeps.extend([False] * (len(hop) - 1))
            points.extend(sweep)
            segment_sweeps.extend([True] * (len(sweep) - 1))
            here = sweep[-1]
        raw = np.asarray(points)
        dense: list[np.ndarray] = [raw[0]]
        flags: list[bool] = []
        corner: list[bool] = [False]  # the chain's ends join the transit legs; cost() counts them
        for k in range(len(raw) - 1):
            span = float(np.hypot(*(raw[k + 1] - raw[k])))
            steps = max(1, math.ceil(span / _STEP_M))
            for j in range(1, steps + 1):
                dense.append(raw[k] + (raw[k + 1] - raw[k]) * j / steps)
                flags.append(segment_sweeps[k])
                corner.append(j == steps)
        corner[-1] = False
        return np.asarray(dense), np.asarray(flags, dtype=bool), np.asarray(corner, dtype=bool)

    def _describe(self, point: np.ndarray) -> str:
        lat, lon = self.frame.to_wgs84(float(point[0]), float(point[1]))
        return f"({lat:.6f}, {lon:.6f})"


def _nearest(sweeps: list[np.ndarray], here: np.ndarray) -> tuple[int, np.ndarray]:
    """The index of the sweep with an end nearest ``here``, run from that end."""
    gaps = [min(np.hypot(*(s[0] - here)), np.hypot(*(s[-1] - here))) for s in sweeps]
    k = int(np.argmin(gaps))
    sweep = sweeps[k]
    if np.hypot(*(sweep[-1] - here)) < np.hypot(*(sweep[0] - here)):
        sweep = sweep[::-1]
    return k, sweep


def _chained_m(paths: Sequence[np.ndarray]) -> float:
    """Length of the paths flown nearest-first from the first one's start, straight hops."""
    left = list(paths[1:])
    here, total = paths[0][-1], _length(paths[0])
    while left:
        k, sweep = _nearest(left, here)
        left.pop(k)
        total += float(np.hypot(*(sweep[0] - here))) + _length(sweep)
        here = sweep[-1]
    return total


def _length(path: np.ndarray) -> float:
    return float(np.hypot(*np.diff(path, axis=0).T).sum()) if len(path) > 1 else 0.0
