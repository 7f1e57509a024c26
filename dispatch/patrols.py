"""Merged department patrol requests (综合飞一次): the fewest flights that serve every request.

Interface (the API side stores requests and flights and links findings to flights)::

    requests = [PatrolRequest(id=..., department="城管", area=polygon_lonlat,
                              looks_for=("street_stall",), window=PatrolWindow(time(8), time(12)),
                              passes_per_day=2)]
    planner = PatrolPlanner(town.zones, town.frame, drones=[PatrolDrone("d1", lat, lon, "dock-west")])
    plan = planner.plan(requests, first_day=date(2026, 11, 30), last_day=date(2026, 12, 6))
    plan.flights            # PlannedFlight, each with waypoints, drone, start/end and serves
    plan.served_by()        # {(request_id, slot_start): (flight ids...)}
    plan.unserved           # UnservedSlot(request_id, start, reason): nothing dropped silently
    baseline = planner.plan(requests, ..., merge=False)    # every slot flown alone

Decisions (docs/patrols.md says why; request fields and slots: ``dispatch.patrol_requests``,
paths and sorties: ``dispatch.patrol_sorties``):

- A request asks for ``passes_per_day`` passes inside a daily local window on some weekdays,
  between ``valid_from`` and ``valid_until`` (local dates, inclusive). The daily window is cut
  into ``passes_per_day`` equal consecutive parts; each part is a **slot**: one complete pass
  over the request's area must start and end inside it. A window whose end is before its start
  crosses midnight (22:00-02:00); start == end is refused (ambiguous).
- **Merging**: slots are taken by their end and grouped greedily so that all slots of a group
  share a common interval of at least ``min_shared_s`` (interval stabbing). Each group is
  flown once: the union of its areas, clustered into pieces that lie within ``cluster_gap_m``
  of each other, each piece swept by one ``geofence.lawnmower`` (no-fly zones cut out and
  routed around) and flown from the dock nearest to it, pieces of one dock chained
  nearest-first.
- **Endurance**: a sortie (launch, transit out, sweeps, transit back, landing) must fit the
  battery above the reserve (``DroneModel.usable_wh(100)``, the same ``DroneModel`` the
  dispatcher flies with). A longer path is cut into several **sorties**, each from and back
  to the dock. A sortie ``serves`` the slots whose area its sweeps pass over.
- **Quiet windows**: every sortie starts at the earliest moment in its group's shared interval
  at which it crosses no zone that is quiet at any moment of the sortie. When no start in the
  interval avoids them, the group is rebuilt with those quiet zones (the ones quiet at some
  moment of the interval) cut out and routed around like no-fly zones, and its flights name
  them in ``skipped_quiet_zone_ids`` so the department sees what was left out.
- **Scheduling**: groups in order of their interval, each sortie on the drone of its dock
  that can start it first, after a recharge of ``energy_wh / charge_w`` since that drone's
  last sortie. A merged group that no drone can fly inside its shared interval falls back to
  flying each of its slots alone; a slot that still cannot be flown is reported in
  ``WeekPlan.unserved`` with the reason; nothing is silently dropped.
- **Baseline**: ``merge=False`` runs the same machinery with every slot its own group.

Pure: no clock, no sockets; all instants are timezone-aware UTC.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from dispatch.errors import InvalidPatrolRequest
from dispatch.model import DroneModel
from dispatch.patrol_requests import (
    WEEKDAYS,
    PatrolRequest,
    PatrolSlot,
    PatrolWindow,
    SlotKey,
    weekly_openings,
)
from dispatch.patrol_sorties import Sortie, SortieBuilder
from geofence import LocalFrame, NoRouteFound, Router, Zone, ZoneSet
from geofence.quiet import DEFAULT_TZ
from geofence.routing import to_local_geometry
from geofence.zones import NO_FLY

__all__ = [
    "WEEKDAYS",
    "PatrolDrone",
    "PatrolPlanner",
    "PatrolRequest",
    "PatrolSlot",
    "PatrolWindow",
    "PlannedFlight",
    "SlotKey",
    "UnservedSlot",
    "WeekPlan",
]

LatLon = tuple[float, float]


@dataclass(frozen=True)
class PatrolDrone:
    """A drone that can fly patrols, and the dock (lat, lon) it takes off from and returns to."""

    id: str
    lat: float
    lon: float
    dock_id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a patrol drone needs a non-empty id")
        if not (math.isfinite(self.lat) and math.isfinite(self.lon)
                and -90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError(f"drone {self.id!r}: dock ({self.lat}, {self.lon}) is not a WGS84 "
                             "(lat, lon) in degrees")


@dataclass(frozen=True)
class PlannedFlight:
    """One sortie: a drone leaves its dock at ``start``, flies ``waypoints``, lands by ``end``.

    ``waypoints`` (lat, lon) begin after the climb over the dock and end over the dock, so the
    mission's closing RTL is only a descent (``Dispatcher.patrol`` uploads them as they are).
    ``serves`` names the slots whose area this sortie sweeps; a group cut into several sorties
    (``sortie`` 1..``sorties``) shares its slots among them, and a slot may be named by several.
    """

    id: str
    group: int
    drone_id: str
    dock_id: str
    start: datetime
    end: datetime
    duration_s: float
    length_m: float
    energy_wh: float
    waypoints: tuple[LatLon, ...] = field(repr=False)
    serves: tuple[SlotKey, ...]
    looks_for: tuple[str, ...] = ()
    sortie: int = 1
    sorties: int = 1
    skipped_quiet_zone_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnservedSlot:
    """A slot no flight serves, and why (no drone free in time, area inside no-fly zones, …)."""

    request_id: str
    start: datetime
    reason: str


@dataclass(frozen=True)
class WeekPlan:
    """The flights of a planning horizon, the slots they serve and those left unserved."""

    flights: tuple[PlannedFlight, ...]
    slots: tuple[PatrolSlot, ...]
    unserved: tuple[UnservedSlot, ...]
    merged: bool

    @property
    def flight_count(self) -> int:
        return len(self.flights)

    @property
    def flight_s(self) -> float:
        """Total flight time of all sorties, seconds."""
        return sum(f.duration_s for f in self.flights)

    @property
    def length_m(self) -> float:
        return sum(f.length_m for f in self.flights)

    @property
    def energy_wh(self) -> float:
        return sum(f.energy_wh for f in self.flights)

    @property
    def all_served(self) -> bool:
        """True when every slot is served by some flight."""
        return not self.unserved

    def served_by(self) -> dict[SlotKey, tuple[str, ...]]:
        """Each slot (request id, slot start) -> the ids of the flights that serve it."""
        out: dict[SlotKey, tuple[str, ...]] = {s.key: () for s in self.slots}
        for flight in self.flights:
            for key in flight.serves:
                out[key] = (*out[key], flight.id)
        return out

    def flights_for(self, request_id: str) -> list[PlannedFlight]:
        """The flights that serve any slot of this request, in time order."""
        request_id = str(request_id)
        return [f for f in self.flights if any(rid == request_id for rid, _ in f.serves)]

    def flights_per_day(self, tz: str = DEFAULT_TZ) -> dict[date, int]:
        """Number of flights starting on each local day (days without flights left out)."""
        zone = ZoneInfo(tz)
        out: dict[date, int] = {}
        for flight in self.flights:
            day = flight.start.astimezone(zone).date()
            out[day] = out.get(day, 0) + 1
        return out


@dataclass
class _Group:
    lo: datetime
    hi: datetime
    slots: list[PatrolSlot]


@dataclass(frozen=True)
class _Dock:
    id: str
    lat: float
    lon: float
    en: tuple[float, float]
    drone_ids: tuple[str, ...]


class PatrolPlanner:
    """Plans merged patrol flights over a town's zones for a fleet of docked drones.

    ``model`` is the fleet's ``DroneModel`` (the dispatcher's own); ``footprint_width_m`` the
    lane spacing of the sweeps at ``alt_rel_m``; ``margin_m`` the no-fly safety margin;
    ``charge_w`` how fast a dock recharges a pack (a drone waits ``energy_wh / charge_w``
    after each sortie); ``min_shared_s`` how long the slots of one merged flight must overlap;
    ``cluster_gap_m`` how far apart two areas may lie and still be swept as one piece.
    """

    def __init__(
        self,
        zones: ZoneSet | Iterable[Zone],
        frame: LocalFrame,
        drones: Sequence[PatrolDrone],
        *,
        model: DroneModel | None = None,
        footprint_width_m: float = 60.0,
        alt_rel_m: float = 30.0,
        margin_m: float = 20.0,
        charge_w: float = 300.0,
        min_shared_s: float = 1800.0,
        cluster_gap_m: float = 200.0,
    ) -> None:
        for name, value in (("footprint_width_m", footprint_width_m), ("alt_rel_m", alt_rel_m),
                            ("charge_w", charge_w), ("min_shared_s", min_shared_s)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not (math.isfinite(cluster_gap_m) and cluster_gap_m >= 0):
            raise ValueError(f"cluster_gap_m must be >= 0 metres, got {cluster_gap_m!r}")
        drones = list(drones)
        if not drones:
            raise ValueError("a patrol plan needs at least one drone with a dock")
        ids = [d.id for d in drones]
        if len(set(ids)) != len(ids):
            raise ValueError(f"drone ids must be unique, got {ids}")
        self.zones = tuple(zones)
        self.frame = frame
        self.model = model or DroneModel()
        self.footprint_width_m = float(footprint_width_m)
        self.alt_rel_m = float(alt_rel_m)
        self.margin_m = float(margin_m)
        self.charge_w = float(charge_w)
        self.min_shared_s = float(min_shared_s)
        self.cluster_gap_m = float(cluster_gap_m)
        self._quiet = {z.id: z for z in self.zones if z.quiet_windows and z.kind != NO_FLY}
        self._quiet_local = {zid: to_local_geometry(z.geometry, frame)
                             for zid, z in self._quiet.items()}
        self._builders: dict[frozenset[str], SortieBuilder] = {}
        self._builder_for(frozenset())  # no-fly graph built now, not in the first plan
        docks: dict[tuple[float, float], list[PatrolDrone]] = {}
        for drone in drones:
            docks.setdefault((drone.lat, drone.lon), []).append(drone)
        self._docks = tuple(
            _Dock(group[0].dock_id or f"dock@{lat:.5f},{lon:.5f}", lat, lon,
                  tuple(map(float, frame.to_local(lat, lon))), tuple(d.id for d in group))
            for (lat, lon), group in docks.items()
        )

    # ---------------------------------------------------------------- public

    def plan(self, requests: Iterable[PatrolRequest], first_day: date, last_day: date, *,
             merge: bool = True) -> WeekPlan:
        """Flights serving every slot of ``requests`` on local days first_day..last_day.

        With ``merge`` (the default) overlapping slots share flights; without, each slot is
        flown alone (the baseline). Slot days are read in each request's window time zone.
        """
        if last_day < first_day:
            raise InvalidPatrolRequest(f"last_day {last_day} is before first_day {first_day}")
        requests = list(requests)
        ids = [r.id for r in requests]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise InvalidPatrolRequest(f"request ids must be unique; repeated: {duplicates}")
        slots = sorted((s for r in requests for s in r.slots(first_day, last_day)),
                       key=lambda s: (s.start, s.request_id))
        groups = self._merge(slots) if merge else [_Group(s.start, s.end, [s]) for s in slots]
        groups.sort(key=lambda g: (g.lo, g.hi))
        free = {drone_id: datetime.min.replace(tzinfo=UTC)
                for dock in self._docks for drone_id in dock.drone_ids}
        flights: list[PlannedFlight] = []
        unserved: list[UnservedSlot] = []
        numbers = itertools.count(1)
        for group in groups:
            placed, missed = self._place(group, free, len(flights), next(numbers))
            if placed is None and len(group.slots) > 1:
                # The merged flight fits no drone in the shared interval; fly each slot alone.
                for slot in group.slots:
                    single = _Group(slot.start, slot.end, [slot])
                    placed_one, missed_one = self._place(single, free, len(flights),
                                                         next(numbers))
                    flights.extend(placed_one or [])
                    unserved.extend(missed_one)
                continue
            flights.extend(placed or [])
            unserved.extend(missed)
        flights.sort(key=lambda f: (f.start, f.id))
        return WeekPlan(tuple(flights), tuple(slots), tuple(unserved), merge)

    # ---------------------------------------------------------------- merging

    def _merge(self, slots: Sequence[PatrolSlot]) -> list[_Group]:
        """Slots grouped so each group's slots share at least ``min_shared_s``.

        Greedy interval stabbing: slots by their end; each joins the first group it still
        overlaps long enough, else opens one.
        """
        shared = timedelta(seconds=self.min_shared_s)
        groups: list[_Group] = []
        for slot in sorted(slots, key=lambda s: (s.end, s.start, s.request_id)):
            for group in groups:
                lo, hi = max(group.lo, slot.start), min(group.hi, slot.end)
                if hi - lo >= shared:
                    group.lo, group.hi = lo, hi
                    group.slots.append(slot)
                    break
            else:
                groups.append(_Group(slot.start, slot.end, [slot]))
        return groups

    # ---------------------------------------------------------------- one group

    def _place(self, group: _Group, free: dict[str, datetime], flights_so_far: int,
               group_no: int) -> tuple[list[PlannedFlight] | None, list[UnservedSlot]]:
        """The group's sorties built and scheduled (``free`` updated), or None and why not."""
        cut: frozenset[str] = frozenset()
        while True:
            builder = self._builder_for(cut)
            try:
                sorties = self._build(builder, [s.area for s in group.slots])
            except NoRouteFound as exc:
                why = str(exc) if not cut else (
                    f"no start in the window avoids the quiet hours of {', '.join(sorted(cut))}; "
                    f"with them left out: {exc}")
                return None, [UnservedSlot(s.request_id, s.start, why) for s in group.slots]
            crossed = [self._quiet_crossed(sortie, cut) for _, sortie in sorties]
            quiet = {zid: self._quiet_intervals(zid, group.lo, group.hi)
                     for zids in crossed for zid in zids}
            placed = self._schedule(sorties, crossed, quiet, group, free)
            if not isinstance(placed, str):
                break
            to_cut = frozenset(zid for zid, spans in quiet.items() if spans)
            if not to_cut:
                return None, [UnservedSlot(s.request_id, s.start, placed) for s in group.slots]
            cut |= to_cut  # no time avoids them: fly with those quiet zones left out
        return self._flights(group, sorties, placed, cut, flights_so_far, group_no)

    def _build(self, builder: SortieBuilder, areas: Sequence[BaseGeometry]
               ) -> list[tuple[_Dock, Sortie]]:
        sweeps: dict[str, list[np.ndarray]] = {}
        blocked: NoRouteFound | None = None
        for piece in builder.pieces(areas):
            try:
                paths = builder.sweeps(piece, areas)
            except NoRouteFound as exc:
                blocked = exc
                continue
            dock = min(self._docks, key=lambda d: self._reach_m(builder, d, paths[0]))
            sweeps.setdefault(dock.id, []).extend(paths)
        if not sweeps:
            raise blocked or NoRouteFound("nothing to cover", reason="area_blocked")
        docks = {d.id: d for d in self._docks}
        return [(docks[dock_id], sortie)
                for dock_id, dock_sweeps in sweeps.items()
                for sortie in builder.sorties(docks[dock_id].en, dock_sweeps)]

    def _reach_m(self, builder: SortieBuilder, dock: _Dock, sweep: np.ndarray) -> float:
        try:
            return min(builder.router.route_local(dock.en, tuple(sweep[k])).length_m
                       for k in (0, -1))
        except NoRouteFound:
            return math.inf

    def _schedule(self, sorties: list[tuple[_Dock, Sortie]], crossed: list[frozenset[str]],
                  quiet: dict[str, list[tuple[datetime, datetime]]], group: _Group,
                  free: dict[str, datetime]) -> list[tuple[str, datetime]] | str:
        """(drone id, start) for each sortie inside the group's interval, or why none fits.

        List scheduling: each sortie on the drone of its dock that can start it first, after
        that drone's recharge and outside the quiet windows of the zones it crosses.
        """
        trial = dict(free)
        out: list[tuple[str, datetime]] = []
        for (dock, sortie), zids in zip(sorties, crossed, strict=True):
            duration = timedelta(seconds=sortie.duration_s)
            spans = sorted(span for zid in zids for span in quiet[zid])
            best: tuple[datetime, str] | None = None
            for drone_id in dock.drone_ids:
                start = _ceil_minute(max(group.lo, trial[drone_id]))
                clash = True
                while clash:  # push the start past every quiet span it overlaps
                    clash = False
                    for opens, closes in spans:
                        if opens < start + duration and start < closes:
                            start, clash = _ceil_minute(closes), True
                if start + duration <= group.hi and (best is None or start < best[0]):
                    best = (start, drone_id)
            if best is None:
                why = f" outside the quiet windows of {', '.join(sorted(zids))}" if zids else ""
                return (f"no drone at {dock.id} is free for a {sortie.duration_s / 60:.0f}-minute "
                        f"sortie{why} between {group.lo:%Y-%m-%d %H:%M} and "
                        f"{group.hi:%H:%M} UTC; add a drone or widen the window")
            start, drone_id = best
            trial[drone_id] = start + duration + timedelta(
                seconds=sortie.energy_wh / self.charge_w * 3600.0)
            out.append((drone_id, start))
        free.update(trial)
        return out

    def _flights(self, group: _Group, sorties: list[tuple[_Dock, Sortie]],
                 placed: list[tuple[str, datetime]], cut: frozenset[str], flights_so_far: int,
                 group_no: int) -> tuple[list[PlannedFlight], list[UnservedSlot]]:
        reach = self.footprint_width_m / 2.0
        areas = [to_local_geometry(s.area, self.frame) for s in group.slots]
        flights = []
        served: set[SlotKey] = set()
        for k, ((dock, sortie), (drone_id, start)) in enumerate(zip(sorties, placed, strict=True)):
            seen = sortie.sweeps_local.buffer(reach)
            serves = tuple(s.key for s, area in zip(group.slots, areas, strict=True)
                           if area.intersects(seen))
            served.update(serves)
            lats, lons = self.frame.to_wgs84(sortie.points_local[1:, 0], sortie.points_local[1:, 1])
            looks_for = sorted({x for s in group.slots if s.key in serves for x in s.looks_for})
            flights.append(PlannedFlight(
                id=f"P{flights_so_far + k + 1:04d}", group=group_no, drone_id=drone_id,
                dock_id=dock.id, start=start,
                end=start + timedelta(seconds=sortie.duration_s), duration_s=sortie.duration_s,
                length_m=sortie.length_m, energy_wh=sortie.energy_wh,
                waypoints=tuple(zip(np.asarray(lats).tolist(), np.asarray(lons).tolist())),
                serves=serves, looks_for=tuple(looks_for), sortie=k + 1, sorties=len(sorties),
                skipped_quiet_zone_ids=tuple(sorted(cut)),
            ))
        missed = [UnservedSlot(s.request_id, s.start,
                               "its whole area lies in no-fly zones"
                               + (f" or the quiet zones {', '.join(sorted(cut))}" if cut else "")
                               + "; move the area or the window")
                  for s in group.slots if s.key not in served]
        return flights, missed

    # ---------------------------------------------------------------- quiet zones

    def _builder_for(self, cut: frozenset[str]) -> SortieBuilder:
        """A sortie builder whose router keeps out of no-fly zones and the quiet zones ``cut``."""
        builder = self._builders.get(cut)
        if builder is None:
            zones = [z for z in self.zones if z.kind == NO_FLY] + [
                replace(self._quiet[zid], kind=NO_FLY, quiet_windows=()) for zid in sorted(cut)
            ]
            router = Router(zones, self.frame, margin_m=self.margin_m)
            builder = SortieBuilder(router, self.model, footprint_width_m=self.footprint_width_m,
                                    alt_rel_m=self.alt_rel_m, cluster_gap_m=self.cluster_gap_m)
            self._builders[cut] = builder
        return builder

    def _quiet_crossed(self, sortie: Sortie, cut: frozenset[str]) -> frozenset[str]:
        """The quiet zones (not already cut out) that the sortie's path passes over."""
        path = LineString(sortie.points_local)
        return frozenset(zid for zid, geometry in self._quiet_local.items()
                         if zid not in cut and geometry.intersects(path))

    def _quiet_intervals(self, zone_id: str, lo: datetime, hi: datetime
                         ) -> list[tuple[datetime, datetime]]:
        """The zone's quiet windows overlapping [lo, hi], as UTC intervals."""
        out = []
        for window in self._quiet[zone_id].quiet_windows:
            zone = ZoneInfo(window.tz)
            first = lo.astimezone(zone).date() - timedelta(days=1)
            last = hi.astimezone(zone).date()
            out.extend(span for span in weekly_openings(window.weekdays, window.start,
                                                        window.end, window.tz, first, last)
                       if span[0] < hi and lo < span[1])
        return sorted(out)


def _ceil_minute(at: datetime) -> datetime:
    if at.second == 0 and at.microsecond == 0:
        return at
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)
