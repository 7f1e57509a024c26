"""Merged department patrol requests (综合飞一次): the fewest flights that serve every request.

Interface (the API side stores requests and flights and links findings to flights)::

    requests = [PatrolRequest(id=..., department="城管", area=polygon_lonlat,
                              looks_for=("street_stall",), window=PatrolWindow(time(8), time(12)),
                              passes_per_day=2)]
    planner = PatrolPlanner(Router(town.zones, town.frame), drones=[PatrolDrone("d1", lat, lon)])
    plan = planner.plan(requests, first_day=date(2026, 11, 30), last_day=date(2026, 12, 6))
    plan.flights            # PlannedFlight, each with waypoints, drone, start/end and serves
    plan.served_by()        # {(request_id, slot_start): (flight ids...)}
    baseline = planner.plan(requests, ..., merge=False)    # every slot flown alone

Decisions (docs/patrols.md says why):

- A request asks for ``passes_per_day`` passes inside a daily local window on some weekdays,
  between ``valid_from`` and ``valid_until`` (dates in the window's time zone, inclusive). The
  daily window is cut into ``passes_per_day`` equal consecutive parts; each part is a **slot**:
  one complete pass over the request's area must start and end inside it. A window whose end
  is before its start crosses midnight (22:00-02:00); start == end is refused (ambiguous).
- **Merging**: slots are sorted by their end and grouped greedily so that all slots of a group
  share a common interval of at least ``min_shared_s`` (interval stabbing). Each group is
  flown once: the union of its areas, clustered into pieces that lie within ``cluster_gap_m``
  of each other, each piece swept by one ``geofence.lawnmower`` (no-fly zones cut out and
  routed around), pieces chained nearest-first from the dock.
- **Endurance**: a flight (launch, transit out, sweeps, transit back, landing) must fit the
  battery above the reserve (``DroneModel.usable_wh(100)``, the same ``DroneModel`` the
  dispatcher flies with). A longer one is cut along its path into several **sorties**, each
  from and back to the dock; all sorties of a group serve the group's slots.
- **Quiet windows**: a group's flight is moved inside its common interval to the earliest start
  at which it crosses no zone that is quiet at any moment of the flight. When no such start
  exists, it flies at the earliest start with the quiet zones (those in force during the
  flight) cut out of the area and routed around like no-fly zones; the flight names them in
  ``skipped_quiet_zone_ids`` so the requesting department sees what was left out.
- **Scheduling**: flights are placed by list scheduling in start order on a drone of the dock
  nearest the group's area (then the next dock) that is free, counting a recharge of
  ``energy_wh / charge_w`` after each flight. A group no drone can fly inside its interval is
  reported in ``WeekPlan.unserved`` with the reason; nothing is silently dropped.
- **Baseline**: ``merge=False`` runs the same machinery with every slot its own group.

Pure: no clock, no sockets; all instants are timezone-aware UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from dispatch.errors import InvalidPatrolRequest
from dispatch.model import DroneModel
from geofence import Router
from geofence.quiet import DEFAULT_TZ

__all__ = [
    "PatrolDrone",
    "PatrolPlanner",
    "PatrolRequest",
    "PatrolSlot",
    "PatrolWindow",
    "PlannedFlight",
    "UnservedSlot",
    "WeekPlan",
]

LatLon = tuple[float, float]
SlotKey = tuple[str, datetime]  # (request id, slot start in UTC)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class PatrolWindow:
    """A daily window [start, end) in local wall time on the given weekdays (0 = Monday).

    A window whose end is before its start crosses midnight: it opens on a listed day and
    closes on the next (22:00-02:00 on "fri" is Friday night into Saturday). start == end is
    refused: it could mean all day or no time at all; for all day write 00:00-23:59.
    """

    start: time
    end: time
    weekdays: frozenset[int] = frozenset(range(7))
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> PatrolWindow:
        """A window from JSON: {"days": ["mon", ...] (default every day), "start": "HH:MM", "end": "HH:MM", "tz": ...}."""
        raise NotImplementedError

    def intervals(self, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
        """The window's openings on the local days first_day..last_day (inclusive), in UTC."""
        raise NotImplementedError


@dataclass(frozen=True)
class PatrolSlot:
    """One pass a request asks for: over ``area`` (lon/lat), starting and ending in [start, end)."""

    request_id: str
    start: datetime
    end: datetime
    area: BaseGeometry = field(repr=False, compare=False)
    looks_for: tuple[str, ...] = ()

    @property
    def key(self) -> SlotKey:
        """(request id, slot start): how a flight names the slots it serves."""
        return (self.request_id, self.start)


@dataclass(frozen=True)
class PatrolRequest:
    """A department's standing patrol need: where, what to look for, when and how often.

    ``area`` is a shapely Polygon or MultiPolygon in WGS84 with x = longitude, y = latitude
    (GeoJSON order); ``from_ring`` builds one from (lat, lon) pairs. ``looks_for`` holds event
    types (``street_stall``, ``mobile_fuel``) or free text. Invalid input raises
    ``InvalidPatrolRequest`` (a ``ValueError``) whose message says what to fix.
    """

    id: str
    department: str
    area: BaseGeometry
    window: PatrolWindow
    looks_for: tuple[str, ...] = ()
    passes_per_day: int = 1
    valid_from: date | None = None
    valid_until: date | None = None  # inclusive

    def __post_init__(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_ring(cls, id: str, department: str, ring: Sequence[LatLon], window: PatrolWindow,
                  **kw: object) -> PatrolRequest:
        """A request over the polygon whose vertices are the (lat, lon) pairs of ``ring``."""
        raise NotImplementedError

    def slots(self, first_day: date, last_day: date) -> list[PatrolSlot]:
        """The passes this request asks for on local days first_day..last_day, in time order."""
        raise NotImplementedError


@dataclass(frozen=True)
class PatrolDrone:
    """A drone that can fly patrols, and the dock (lat, lon) it takes off from and returns to."""

    id: str
    lat: float
    lon: float
    dock_id: str = ""


@dataclass(frozen=True)
class PlannedFlight:
    """One sortie: a drone leaves its dock at ``start``, flies ``waypoints``, lands by ``end``.

    ``waypoints`` (lat, lon) begin after the climb over the dock and end over the dock, so the
    mission's closing RTL is only a descent (``Dispatcher.patrol`` uploads them as they are).
    ``serves`` names every slot this flight's group serves; a group cut into several sorties
    (``sortie`` 1..``sorties``) lists the same slots on each.
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
    def all_served(self) -> bool:
        """True when every slot is served by some flight."""
        return not self.unserved

    def served_by(self) -> dict[SlotKey, tuple[str, ...]]:
        """Each slot (request id, slot start) -> the ids of the flights that serve it."""
        raise NotImplementedError

    def flights_for(self, request_id: str) -> list[PlannedFlight]:
        """The flights that serve any slot of this request, in time order."""
        raise NotImplementedError

    def flights_per_day(self, tz: str = DEFAULT_TZ) -> dict[date, int]:
        """Number of flights starting on each local day."""
        raise NotImplementedError


class PatrolPlanner:
    """Plans merged patrol flights over a town's zones for a fleet of docked drones."""

    def __init__(
        self,
        router: Router,
        drones: Sequence[PatrolDrone],
        *,
        model: DroneModel | None = None,
        footprint_width_m: float = 60.0,
        alt_rel_m: float = 30.0,
        charge_w: float = 300.0,
        min_shared_s: float = 1800.0,
        cluster_gap_m: float = 200.0,
    ) -> None:
        raise NotImplementedError

    def plan(self, requests: Iterable[PatrolRequest], first_day: date, last_day: date, *,
             merge: bool = True) -> WeekPlan:
        """Flights serving every slot of ``requests`` on local days first_day..last_day.

        With ``merge`` (the default) overlapping slots share flights; without, each slot is
        flown alone (the baseline). Slot days are read in each request's window time zone.
        """
        raise NotImplementedError
