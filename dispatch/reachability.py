"""Where the fleet can be in time: the best ETA from any dock to every point of a grid.

For each dock, one shortest-path tree over the router's visibility graph gives the flyable
route length and turns to every grid point (``Router.lengths_from_local``: the same routes the
planner flies); ``DroneModel.eta_s``, the one ETA, turns them into seconds. A point counts as
reachable from a dock when an idle drone there, charged to ``battery_pct``, can fly out, hold
``hold_s`` and fly back to the nearest dock above its reserve — the planner's own feasibility
rule. Points inside a no-fly zone or its margin, or ringed in by them, are unreachable: the
planner refuses them too.

Area shares are shares of grid cells: a cell belongs to every zone that holds its centre
(boundary inside, as ``ZoneSet``), and it is *within target* when its best ETA is at most the
target an event there would get (the strictest of the zones holding it). No-fly zones have no
share.

    >>> reach = Reachability.from_planner(planner)
    >>> field = reach.map(town.zones, town.docks, spacing_m=20)   # doctest: +SKIP
    >>> field.kind("residential").within_share                 # doctest: +SKIP
    0.93
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dispatch.model import DroneModel
from geofence import LocalFrame, Router, ZoneSet
from geofence.routing import to_local_geometry
from geofence.zones import NO_FLY

__all__ = ["Grid", "KindReach", "Reachability", "ReachabilityMap", "ZoneReach", "best_of"]


@dataclass(frozen=True)
class Grid:
    """Cell centres of a regular grid in a local frame: rows run north, columns east."""

    east_m: np.ndarray  # (nx,) column centres
    north_m: np.ndarray  # (ny,) row centres, south to north
    spacing_m: float

    @classmethod
    def over(cls, bounds_m: tuple[float, float, float, float], spacing_m: float) -> Grid:
        """Cells of ``spacing_m`` covering (min_east, min_north, max_east, max_north)."""
        if not (math.isfinite(spacing_m) and spacing_m > 0):
            raise ValueError(f"spacing_m must be a positive number of metres, got {spacing_m!r}")
        min_e, min_n, max_e, max_n = bounds_m
        nx = max(1, math.ceil((max_e - min_e) / spacing_m))
        ny = max(1, math.ceil((max_n - min_n) / spacing_m))
        return cls(min_e + spacing_m * (np.arange(nx) + 0.5),
                   min_n + spacing_m * (np.arange(ny) + 0.5), float(spacing_m))

    @classmethod
    def over_zones(cls, zones: ZoneSet, frame: LocalFrame, spacing_m: float) -> Grid:
        """Cells covering every zone of the set, in the frame's metres."""
        bounds = np.array([to_local_geometry(z.geometry, frame).bounds for z in zones])
        return cls.over((bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(),
                         bounds[:, 3].max()), spacing_m)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.north_m), len(self.east_m)

    @property
    def cell_area_m2(self) -> float:
        return self.spacing_m ** 2

    def points_local(self) -> np.ndarray:
        """The (east_m, north_m) of every cell centre, row by row (ny * nx x 2)."""
        east, north = np.meshgrid(self.east_m, self.north_m)
        return np.column_stack([east.ravel(), north.ravel()])


@dataclass(frozen=True)
class ZoneReach:
    """One zone's area and the share of it an idle drone reaches within target."""

    zone_id: str
    name: str
    kind: str
    area_m2: float
    within_share: float  # nan for a zone too small to hold a cell centre


@dataclass(frozen=True)
class KindReach:
    """All zones of one kind together: their area and the share reached within target."""

    kind: str
    area_m2: float
    within_share: float


@dataclass(frozen=True)
class ReachabilityMap:
    """The best ETA over a grid, the dock that gives it, each cell's target, and area shares."""

    grid: Grid
    dock_ids: tuple[str, ...]
    eta_s: np.ndarray  # (ny, nx); inf where no dock can reach
    dock_index: np.ndarray  # (ny, nx) into dock_ids; -1 where no dock can reach
    target_s: np.ndarray  # (ny, nx): the target an event there would get
    zones: tuple[ZoneReach, ...]
    kinds: tuple[KindReach, ...]

    @property
    def within_target(self) -> np.ndarray:
        """(ny, nx): True where an idle drone is over the point within its target."""
        return self.eta_s <= self.target_s

    def bounds_wgs84(self, frame: LocalFrame) -> tuple[tuple[float, float], tuple[float, float]]:
        """((south, west), (north, east)) degrees of the grid's outer edges, for a map overlay.

        The grid is square in the frame's metres; within a few km of the frame's origin its
        edges run north-south and east-west to well under a metre, so an image spread over
        these bounds sits where the cells are.
        """
        half = self.grid.spacing_m / 2
        south, west = frame.to_wgs84(self.grid.east_m[0] - half, self.grid.north_m[0] - half)
        north, east = frame.to_wgs84(self.grid.east_m[-1] + half, self.grid.north_m[-1] + half)
        return (float(south), float(west)), (float(north), float(east))

    def kind(self, kind: str) -> KindReach:
        """The share of one zone kind; KeyError lists the kinds there are."""
        for reach in self.kinds:
            if reach.kind == kind:
                return reach
        raise KeyError(f"no zones of kind {kind!r}; kinds: {[k.kind for k in self.kinds]}")


class Reachability:
    """ETA fields over grids for one router, ETA model and set of flight parameters."""

    def __init__(
        self,
        router: Router,
        *,
        model: DroneModel | None = None,
        alt_rel_m: float = 30.0,
        arrival_radius_m: float = 30.0,
        hold_s: float = 300.0,
        battery_pct: float = 100.0,
    ) -> None:
        self.router = router
        self.frame = router.frame
        self.model = model or DroneModel()
        self.alt_rel_m = float(alt_rel_m)
        self.arrival_radius_m = float(arrival_radius_m)
        self.hold_s = float(hold_s)
        self.battery_pct = float(battery_pct)
        self._usable_wh = self.model.usable_wh(self.battery_pct)
        self._eta = np.vectorize(self._eta_one, otypes=[float])
        self._trip = np.vectorize(self._trip_one, otypes=[float])

    @classmethod
    def from_planner(cls, planner: object, *, battery_pct: float = 100.0) -> Reachability:
        """The planner's router, model and flight parameters: the ETAs it would plan with."""
        return cls(planner.router, model=planner.model,  # type: ignore[attr-defined]
                   alt_rel_m=planner.alt_rel_m,  # type: ignore[attr-defined]
                   arrival_radius_m=planner.arrival_radius_m,  # type: ignore[attr-defined]
                   hold_s=planner.hold_s, battery_pct=battery_pct)  # type: ignore[attr-defined]

    def map(self, zones: ZoneSet, docks: Iterable[object], *, spacing_m: float = 20.0,
            grid: Grid | None = None) -> ReachabilityMap:
        """The best ETA from any dock to every cell, and each zone's share within target.

        ``docks`` are ``Dock``s (their ids name them) or (lat, lon) pairs; a dock inside a
        no-fly zone or its margin raises ``NoRouteFound`` saying which.
        """
        dock_ids, dock_points = _named_points(docks)
        if not dock_points:
            raise ValueError("a reachability map needs at least one dock")
        grid = grid or Grid.over_zones(zones, self.frame, spacing_m)
        points = grid.points_local()
        lengths = [self.router.lengths_from_local(self._local(d), points) for d in dock_points]
        length_m = np.stack([r.length_m for r in lengths])
        corners = np.stack([r.corners for r in lengths])
        back_m = length_m.min(axis=0)  # the way home: the nearest dock (routes are symmetric)
        eta_s = np.full(length_m.shape, np.inf)
        for k in range(len(dock_points)):
            ok = np.isfinite(length_m[k])
            eta_s[k, ok] = self._eta(length_m[k, ok], corners[k, ok])
            ok_idx = np.flatnonzero(ok)
            fits = self._trip(length_m[k, ok], back_m[ok]) <= self._usable_wh
            eta_s[k, ok_idx[~fits]] = np.inf
        return _assemble(zones, self.frame, grid, dock_ids, eta_s)

    def lengths_from(self, site: tuple[float, float], points_local: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Route lengths and turns from a (lat, lon) site to local points (inf/-1: no route)."""
        lengths = self.router.lengths_from_local(self._local(site), points_local)
        return lengths.length_m, lengths.corners

    def reach_m(self, within_s: float, corners: int) -> float:
        """The longest route with ``corners`` turns an idle drone flies within ``within_s``."""
        return self.model.reach_m(within_s, alt_rel_m=self.alt_rel_m, corners=corners,
                                  arrival_radius_m=self.arrival_radius_m)

    def round_trip_m(self) -> float:
        """The longest distance out that leaves charge to hold and fly the same way back."""
        return self.model.round_trip_m(self.battery_pct, alt_rel_m=self.alt_rel_m,
                                       hold_s=self.hold_s)

    # ---------------------------------------------------------------- internals

    def _eta_one(self, length_m: float, corners: int) -> float:
        return self.model.eta_s(length_m, alt_rel_m=self.alt_rel_m, corners=int(corners),
                                arrival_radius_m=self.arrival_radius_m)

    def _trip_one(self, out_m: float, back_m: float) -> float:
        return self.model.trip_wh(out_m, back_m, alt_rel_m=self.alt_rel_m, hold_s=self.hold_s)

    def _local(self, point: tuple[float, float]) -> tuple[float, float]:
        east, north = self.frame.to_local(*point)
        return float(east), float(north)


def best_of(fields: Iterable[ReachabilityMap], zones: ZoneSet, frame: LocalFrame
            ) -> ReachabilityMap:
    """One map from several over the same grid (say one per drone model): the best ETA of any.

    Dock ids are the fields' in order, so ``dock_index`` still names the dock that gives it.
    """
    fields = list(fields)
    if not fields:
        raise ValueError("best_of needs at least one map")
    grid = fields[0].grid
    if any(f.grid.shape != grid.shape or f.grid.spacing_m != grid.spacing_m
           or f.grid.east_m[0] != grid.east_m[0] or f.grid.north_m[0] != grid.north_m[0]
           for f in fields):
        raise ValueError("best_of needs maps over one grid (pass the same grid= to each map)")
    dock_ids: list[str] = []
    rows = []
    for f in fields:
        # each field's best per cell, spread to the row of the dock that gives it
        per_dock = np.full((len(f.dock_ids), f.eta_s.size), np.inf)
        idx = f.dock_index.ravel()
        ok = idx >= 0
        per_dock[idx[ok], np.flatnonzero(ok)] = f.eta_s.ravel()[ok]
        rows.append(per_dock)
        dock_ids += f.dock_ids
    return _assemble(zones, frame, grid, tuple(dock_ids), np.vstack(rows))


def _assemble(zones: ZoneSet, frame: LocalFrame, grid: Grid, dock_ids: tuple[str, ...],
              eta_s: np.ndarray) -> ReachabilityMap:
    """The map of per-dock ETAs ``eta_s`` (docks x cells): the best of them, targets, shares."""
    points = grid.points_local()
    best = np.argmin(eta_s, axis=0)
    best_eta = eta_s[best, np.arange(len(points))]
    dock_index = np.where(np.isfinite(best_eta), best, -1)
    lats, lons = frame.to_wgs84(points[:, 0], points[:, 1])
    point_idx, zone_idx = zones.containing(lats, lons)
    target_s = zones.targets_s(lats, lons)
    within = best_eta <= target_s
    zone_reach, kind_reach = _shares(zones, point_idx, zone_idx, within, grid.cell_area_m2)
    return ReachabilityMap(
        grid=grid, dock_ids=dock_ids, eta_s=best_eta.reshape(grid.shape),
        dock_index=dock_index.reshape(grid.shape), target_s=target_s.reshape(grid.shape),
        zones=zone_reach, kinds=kind_reach,
    )


def _shares(zones: ZoneSet, point_idx: np.ndarray, zone_idx: np.ndarray, within: np.ndarray,
            cell_m2: float) -> tuple[tuple[ZoneReach, ...], tuple[KindReach, ...]]:
    zone_list = list(zones)
    per_zone = []
    kind_points: dict[str, set[int]] = {}
    for k, zone in enumerate(zone_list):
        if zone.kind == NO_FLY:
            continue
        pts = point_idx[zone_idx == k]
        share = float(within[pts].mean()) if len(pts) else math.nan
        per_zone.append(ZoneReach(zone.id, zone.name, zone.kind, len(pts) * cell_m2, share))
        kind_points.setdefault(zone.kind, set()).update(pts.tolist())
    per_kind = []
    for kind in sorted(kind_points):
        pts = np.fromiter(kind_points[kind], dtype=int)
        share = float(within[pts].mean()) if len(pts) else math.nan
        per_kind.append(KindReach(kind, len(pts) * cell_m2, share))
    return tuple(per_zone), tuple(per_kind)


def _named_points(places: Iterable[object]) -> tuple[tuple[str, ...], tuple[tuple[float, float], ...]]:
    ids, points = [], []
    for k, place in enumerate(places):
        if hasattr(place, "lat") and hasattr(place, "lon"):
            lat, lon = float(place.lat), float(place.lon)  # type: ignore[attr-defined]
        else:
            lat, lon = (float(v) for v in place)  # type: ignore[union-attr]
        ids.append(str(getattr(place, "id", f"dock-{k + 1}")))
        points.append((lat, lon))
    return tuple(ids), tuple(points)
