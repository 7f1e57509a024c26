"""Pre-positioning: move idle drones between docks toward the hour's hot spots during a surge.

While several events hold drones at once, the idle ones left may sit at docks that reach
little of what the hour is likely to bring. ``preposition`` moves them, one at a time, to the
dock that most raises the *expected coverage* of the hour's demand (Daskin's maximal expected
covering: a place reached in time by k idle drones counts ``per_hour * (1 - q**k)``, with q the
chance that a drone is busy when needed), as long as a move gains at least ``min_gain``
expected incidents an hour. A drone covers a place when the planner would send it there
feasibly and within the target from that dock with the charge left after the move: the one
ETA and the planner's battery rule, nothing else. Each move carries the line for the audit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dispatch.planner import DroneStatus, Incident, Planner
from geofence import Dock, NoRouteFound

__all__ = ["Demand", "Move", "expected_coverage", "preposition"]


@dataclass(frozen=True)
class Demand:
    """Incidents expected at one place in the coming hour (a hot spot), and its target."""

    lat: float
    lon: float
    per_hour: float
    target_s: float


@dataclass(frozen=True)
class Move:
    """One idle drone sent to another dock, what it costs, and what it buys."""

    drone_id: str
    dock_id: str
    lat: float
    lon: float
    flight_s: float  # take-off to landed at the new dock
    length_m: float
    pct_after: float  # its charge on landing
    covered_before: float  # expected incidents this hour reached in time by an idle drone
    covered_after: float
    reason: str  # the audit line


def expected_coverage(covers: np.ndarray, per_hour: np.ndarray, busy_share: float) -> float:
    """Daskin's expected covered demand: ``covers`` is drones x places (bool)."""
    k = covers.sum(axis=0)
    return float((per_hour * (1.0 - busy_share ** k)).sum())


def preposition(
    planner: Planner,
    drones: Sequence[DroneStatus],
    docks: Sequence[Dock],
    demand: Sequence[Demand],
    *,
    busy_share: float = 0.5,
    min_gain: float = 0.1,
) -> list[Move]:
    """Moves of idle drones (available, on the ground) to docks, best first; each drone at most once."""
    if not 0.0 <= busy_share < 1.0:
        raise ValueError(f"busy_share must be in [0, 1), got {busy_share!r}")
    idle = [d for d in drones if d.available and not d.airborne and not d.on_patrol]
    if not idle or not demand or not docks:
        return []
    per_hour = np.array([d.per_hour for d in demand], dtype=float)
    here = [_nearest_dock(planner, d, docks) for d in idle]
    # covers[i][k]: drone i, standing at dock k with the charge it would land with.
    trips = [[_trip(planner, drone, dock, home) for dock in docks]
             for drone, home in zip(idle, here)]
    covers = _covers(planner, idle, docks, trips, demand)
    at = np.array(here)
    moved: list[Move] = []
    now = covers[np.arange(len(idle)), at]
    before = expected_coverage(now, per_hour, busy_share)
    while True:
        best = None
        for i in range(len(idle)):
            if any(m.drone_id == idle[i].id for m in moved):
                continue
            for k in range(len(docks)):
                if k == at[i] or trips[i][k] is None:
                    continue
                trial = now.copy()
                trial[i] = covers[i, k]
                gain = expected_coverage(trial, per_hour, busy_share) - before
                if gain >= min_gain and (best is None or gain > best[0]):
                    best = (gain, i, k, trial)
        if best is None:
            return moved
        gain, i, k, trial = best
        flight_s, length_m, pct_after = trips[i][k]  # type: ignore[misc]
        after = before + gain
        total = float(per_hour.sum())
        dock = docks[k]
        reason = (f"pre-positioned {idle[i].id} from {docks[at[i]].name} to {dock.name} "
                  f"({length_m / 1000:.1f} km, {flight_s:.0f} s, battery {idle[i].battery_pct:.0f}"
                  f" -> {pct_after:.0f} %): idle drones now reach {after:.2f} of the "
                  f"{total:.2f} incidents expected this hour within target (was {before:.2f})")
        moved.append(Move(idle[i].id, dock.id, dock.lat, dock.lon, flight_s, length_m,
                          pct_after, before, after, reason))
        now, before, at[i] = trial, after, k


def _nearest_dock(planner: Planner, drone: DroneStatus, docks: Sequence[Dock]) -> int:
    e, n = planner.frame.to_local(drone.lat, drone.lon)
    de, dn = planner.frame.to_local(np.array([d.lat for d in docks]),
                                    np.array([d.lon for d in docks]))
    return int(np.argmin(np.hypot(np.asarray(de) - e, np.asarray(dn) - n)))


def _trip(planner: Planner, drone: DroneStatus, dock: Dock, home: int
          ) -> tuple[float, float, float] | None:
    """(flight_s, length_m, pct on landing) of flying to ``dock``; None when it cannot."""
    model = planner.model
    try:
        length_m = planner.router.distance_m((drone.lat, drone.lon), (dock.lat, dock.lon))
    except NoRouteFound:
        return None
    if length_m < 1.0:
        return 0.0, 0.0, drone.battery_pct
    used_wh = model.trip_wh(length_m, 0.0, alt_rel_m=planner.alt_rel_m, hold_s=0.0)
    if used_wh > model.usable_wh(drone.battery_pct):
        return None  # the move alone would eat into the reserve
    # Launch, the route ending at rest over the dock, and the landing.
    flight_s = model.launch_s(planner.alt_rel_m) + model.cruise_s(length_m, stop=True) + \
        model.landing_s(planner.alt_rel_m)
    pct_after = model.pct_of_wh(model.energy_wh(drone.battery_pct) - used_wh)
    return flight_s, length_m, pct_after


def _covers(planner: Planner, idle: list[DroneStatus], docks: Sequence[Dock],
            trips: list[list[tuple[float, float, float] | None]], demand: Sequence[Demand]
            ) -> np.ndarray:
    """(drones, docks, places) bool: would the planner send it there in time from that dock."""
    out = np.zeros((len(idle), len(docks), len(demand)), dtype=bool)
    ghosts, where = [], []
    for i, drone in enumerate(idle):
        for k, dock in enumerate(docks):
            if trips[i][k] is None:
                continue
            # The move's own flight delays nothing here: coverage is of the hour to come.
            ghosts.append(DroneStatus(f"{i}/{k}", dock.lat, dock.lon, trips[i][k][2]))
            where.append((i, k))
    index = {g.id: w for g, w in zip(ghosts, where)}
    for j, place in enumerate(demand):
        incident = Incident(f"demand-{j}", place.lat, place.lon, place.target_s)
        for option in planner.options(incident, ghosts):
            if option.feasible and not option.at_risk and math.isfinite(option.eta_s):
                i, k = index[option.drone_id]
                out[i, k, j] = True
    return out
