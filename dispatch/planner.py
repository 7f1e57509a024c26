"""The choice of drone: ETA over the flyable route, battery feasibility, deadlines, joint assignment.

Pure: no sockets, no clock. Callers pass each drone's position and charge (``DroneStatus``) and
each waiting event's position, target and time already waited (``Incident``); the planner
answers with ranked ``Option``s and, for several events at once, ``Assignment``s chosen by
``scipy.optimize.linear_sum_assignment`` — first the fewest missed targets, then the least
total ETA.

Speed: a straight line that no buffered no-fly zone touches is its own route, so routing runs
only for the pairs a zone stands between, and only for each event's ``candidates_per_event``
most promising drones by a straight-line lower bound on the ETA (the bound is exact when the
line is clear, and a detour only makes a drone later); of those, a blocked pair is routed only
while fewer than ``routed_enough`` exact ETAs beat its lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment

from dispatch.model import DroneModel
from geofence import NoRouteFound, Route, Router

__all__ = ["Assignment", "DroneStatus", "Incident", "Option", "Planner"]

# Cost units for the assignment: a missed target outweighs any sum of ETAs; an impossible
# pairing outweighs any number of missed targets.
_MISS_COST = 1e6
_IMPOSSIBLE_COST = 1e12


@dataclass(frozen=True)
class DroneStatus:
    """What the planner needs to know of one drone now."""

    id: str
    lat: float
    lon: float
    battery_pct: float
    available: bool = True
    airborne: bool = False
    on_patrol: bool = False  # busy on a routine patrol that an event may pre-empt
    reason: str = ""  # why it is not available
    # An unavailable drone expected free in this many seconds at (lat, lon), on the ground,
    # with battery_pct then (one coming home from an event); None: not known.
    free_in_s: float | None = None
    # Seconds a grounded drone waits before its climb starts, beyond the model's launch (a DJI
    # dock opening its cover and readying the aircraft); 0 for an autopilot that arms at once.
    launch_s: float = 0.0


@dataclass(frozen=True)
class Incident:
    """An event waiting for a drone: where, its response target and how long it has waited."""

    id: str | int
    lat: float
    lon: float
    target_s: float
    waited_s: float = 0.0

    @property
    def time_left_s(self) -> float:
        """Seconds until the target is missed (negative once it has been)."""
        return self.target_s - self.waited_s


@dataclass(frozen=True)
class Option:
    """Sending one drone to one event: when it gets there and whether its battery allows it."""

    drone_id: str
    incident_id: str | int
    eta_s: float
    route_length_m: float
    straight_m: float
    corners: int
    return_m: float
    trip_wh: float
    usable_wh: float
    feasible: bool
    at_risk: bool
    time_left_s: float
    on_patrol: bool = False
    reason: str = ""

    @property
    def slack_s(self) -> float:
        """Seconds to spare before the target (negative: this late)."""
        return self.time_left_s - self.eta_s


@dataclass(frozen=True)
class Assignment:
    """The planner's pick for one event; ``option`` is None when no drone goes now.

    ``waiting_for``: no drone goes now because a busy drone, once free, is over the event within
    its target where the best drone now is not (its ``eta_s`` counts from when it is free).
    """

    incident_id: str | int
    option: Option | None
    at_risk: bool
    reason: str = ""
    alternatives: tuple[Option, ...] = field(default=(), repr=False)
    waiting_for: Option | None = None

    @property
    def drone_id(self) -> str | None:
        return self.option.drone_id if self.option else None


class Planner:
    """Ranks and assigns drones to events over a town's no-fly zones with one ``DroneModel``."""

    def __init__(
        self,
        router: Router,
        docks: Iterable[object],
        *,
        model: DroneModel | None = None,
        alt_rel_m: float = 30.0,
        hold_s: float = 300.0,
        arrival_radius_m: float = 30.0,
        candidates_per_event: int = 12,
        routed_enough: int = 6,
        preempt_penalty_s: float = 30.0,
    ) -> None:
        self.router = router
        self.frame = router.frame
        self.model = model or DroneModel()
        self.alt_rel_m = float(alt_rel_m)
        self.hold_s = float(hold_s)
        self.arrival_radius_m = float(arrival_radius_m)
        self.candidates_per_event = max(1, int(candidates_per_event))
        self.routed_enough = max(1, int(routed_enough))
        self.preempt_penalty_s = float(preempt_penalty_s)
        points = [_lat_lon(d) for d in docks]
        if not points:
            raise ValueError("the planner needs at least one dock to return to")
        self.docks = tuple(points)
        obstacles = router.obstacles_local
        self._obstacles = shapely.union_all(obstacles) if obstacles else None
        if self._obstacles is not None:
            shapely.prepare(self._obstacles)
        self._back_cache: dict[tuple[float, float], float] = {}

    # ---------------------------------------------------------------- public

    def options(self, incident: Incident, drones: Sequence[DroneStatus]) -> list[Option]:
        """Every drone's option for one event: feasible ones by ETA first, then the rest."""
        table = self._table([incident], list(drones), limit=None)
        return sorted(table[0].values(), key=_rank_key)

    def choose(self, incident: Incident, drones: Sequence[DroneStatus]) -> Assignment:
        """The drone to send to one event now, or why none goes.

        The feasible drone with the least ETA, unless it would be late and a busy drone with a
        known ``free_in_s`` would, once free, be there within the target: then none goes yet
        (``waiting_for`` names that drone) and the caller asks again when it is free.
        """
        drones = list(drones)
        ranked = self.options(incident, drones)
        best = ranked[0] if ranked and ranked[0].feasible else None
        if best is None or best.at_risk:
            waiting = self._best_waiting(incident, drones)
            if waiting is not None:
                option, free_in_s = waiting
                now = (f"{best.drone_id} now would be {-best.slack_s:.0f} s late" if best
                       else "no drone can go now")
                reason = (f"waiting {free_in_s:.0f} s for {option.drone_id}: on scene in "
                          f"{free_in_s + option.eta_s:.0f} s, {option.slack_s:.0f} s inside the "
                          f"target; {now}")
                return Assignment(incident.id, None, False, reason, tuple(ranked), option)
        if best is None:
            return Assignment(incident.id, None, True, _why_none(ranked, drones), tuple(ranked))
        reason = (f"eta {best.eta_s:.0f} s vs {max(best.time_left_s, 0):.0f} s left"
                  + (" (at risk)" if best.at_risk else ""))
        return Assignment(incident.id, best, best.at_risk, reason, tuple(ranked))

    def route(self, start: tuple[float, float], goal: tuple[float, float]) -> Route:
        """The route a drone flies from ``start`` to ``goal`` (both (lat, lon))."""
        return self.router.route(start, goal)

    def eta_of_route(self, route: Route, *, airborne: bool = False) -> float:
        """The ETA of flying ``route`` (the same ``DroneModel.eta_s`` the ranking uses)."""
        return self.model.eta_s(route.length_m, alt_rel_m=self.alt_rel_m,
                                corners=self.model.corners_of(route.points_local),
                                arrival_radius_m=self.arrival_radius_m, airborne=airborne)

    def assign(self, incidents: Sequence[Incident], drones: Sequence[DroneStatus]) -> list[Assignment]:
        """One drone per event, jointly: fewest missed targets first, then the least total ETA.

        Events are answered in the order given; an event no drone can serve gets
        ``option=None`` with the reason.
        """
        incidents, drones = list(incidents), list(drones)
        if not incidents:
            return []
        table = self._table(incidents, drones, limit=self.candidates_per_event)
        cost = np.full((len(incidents), max(len(drones), 1)), _IMPOSSIBLE_COST)
        index = {d.id: j for j, d in enumerate(drones)}
        for i, row in enumerate(table):
            for option in row.values():
                if option.feasible:
                    penalty = self.preempt_penalty_s if option.on_patrol else 0.0
                    cost[i, index[option.drone_id]] = (
                        _MISS_COST * option.at_risk + option.eta_s + penalty
                    )
        rows, cols = linear_sum_assignment(cost)
        chosen = {int(r): int(c) for r, c in zip(rows, cols)}
        out = []
        for i, incident in enumerate(incidents):
            ranked = sorted(table[i].values(), key=_rank_key)
            j = chosen.get(i)
            option = None
            if j is not None and cost[i, j] < _IMPOSSIBLE_COST and drones:
                option = table[i][drones[j].id]
            if option is None:
                reason = _why_none(ranked, drones)
                out.append(Assignment(incident.id, None, True, reason, tuple(ranked)))
                continue
            reason = (f"eta {option.eta_s:.0f} s vs {max(option.time_left_s, 0):.0f} s left"
                      + (" (at risk)" if option.at_risk else ""))
            out.append(Assignment(incident.id, option, option.at_risk, reason, tuple(ranked)))
        return out

    # ---------------------------------------------------------------- internals

    def _table(self, incidents: list[Incident], drones: list[DroneStatus],
               limit: int | None) -> list[dict[str, Option]]:
        """Options for each incident over (up to ``limit`` of) the drones."""
        if not drones:
            return [{} for _ in incidents]
        model = self.model
        d_lat = np.array([d.lat for d in drones])
        d_lon = np.array([d.lon for d in drones])
        i_lat = np.array([e.lat for e in incidents])
        i_lon = np.array([e.lon for e in incidents])
        d_e, d_n = self.frame.to_local(d_lat, d_lon)
        i_e, i_n = self.frame.to_local(i_lat, i_lon)
        straight = np.hypot(i_e[:, None] - d_e[None, :], i_n[:, None] - d_n[None, :])
        airborne = np.array([d.airborne for d in drones])
        usable = np.array([model.usable_wh(d.battery_pct) for d in drones])
        available = np.array([d.available for d in drones])
        # A lower bound on each ETA (the straight line), to keep only promising pairs.
        lower = self._eta_lower_s(straight, airborne)
        lower += np.where(airborne, 0.0, [d.launch_s for d in drones])[None, :]
        lower = np.where(available[None, :], lower, np.inf)
        tables: list[dict[str, Option]] = []
        for i, incident in enumerate(incidents):
            if limit is None or limit >= len(drones):
                picks = np.arange(len(drones))
            else:
                picks = np.argpartition(lower[i], limit - 1)[:limit]
            back_m, back_note = self._back_m(incident)
            picks = sorted((int(j) for j in picks), key=lambda j: lower[i, j])
            clear = self._clear(i_e[i], i_n[i], d_e[picks], d_n[picks])
            row: dict[str, Option] = {}
            etas: list[float] = []
            for j, is_clear in zip(picks, clear):
                # In lower-bound order: once enough exact ETAs beat this drone's best case,
                # routing round the zones in its way cannot bring it into contention.
                if limit is not None and not is_clear and \
                        sum(e <= lower[i, j] for e in etas) >= self.routed_enough:
                    continue
                option = self._option(
                    incident, drones[j], float(straight[i, j]), bool(is_clear), back_m,
                    back_note, float(usable[j]),
                )
                row[drones[j].id] = option
                if option.feasible:
                    etas.append(option.eta_s)
            tables.append(row)
        return tables

    def _option(self, incident: Incident, drone: DroneStatus, straight_m: float, clear: bool,
                back_m: float, back_note: str, usable_wh: float) -> Option:
        model = self.model
        reason = ""
        length_m, corners = straight_m, 0
        if not clear:
            try:
                route = self.router.route((drone.lat, drone.lon), (incident.lat, incident.lon))
                length_m, corners = route.length_m, model.corners_of(route.points_local)
            except NoRouteFound as exc:
                return _impossible(incident, drone, straight_m, f"no route: {exc}")
        eta_s = model.eta_s(length_m, alt_rel_m=self.alt_rel_m, corners=corners,
                            arrival_radius_m=self.arrival_radius_m, airborne=drone.airborne)
        if not drone.airborne:
            eta_s += drone.launch_s
        trip_wh = model.trip_wh(length_m, back_m, alt_rel_m=self.alt_rel_m, hold_s=self.hold_s,
                                airborne=drone.airborne)
        feasible = drone.available and math.isfinite(back_m)
        if not drone.available:
            reason = drone.reason or "not available"
        elif not math.isfinite(back_m):
            reason = back_note
        elif trip_wh > usable_wh:
            feasible = False
            reason = (f"battery {drone.battery_pct:.0f} %: the trip needs {trip_wh:.0f} Wh, "
                      f"{usable_wh:.0f} Wh usable above the {model.reserve_pct:.0f} % reserve")
        at_risk = eta_s > incident.time_left_s
        return Option(
            drone_id=drone.id, incident_id=incident.id, eta_s=eta_s, route_length_m=length_m,
            straight_m=straight_m, corners=corners, return_m=back_m, trip_wh=trip_wh,
            usable_wh=usable_wh, feasible=feasible, at_risk=at_risk,
            time_left_s=incident.time_left_s, on_patrol=drone.on_patrol, reason=reason,
        )

    def _best_waiting(self, incident: Incident, drones: list[DroneStatus]
                      ) -> tuple[Option, float] | None:
        """The busy drone that, once free, is over the event with most time to spare, and its wait."""
        best: tuple[Option, float] | None = None
        for drone in drones:
            if drone.available or drone.free_in_s is None or not math.isfinite(drone.free_in_s):
                continue
            later = Incident(incident.id, incident.lat, incident.lon, incident.target_s,
                             incident.waited_s + max(drone.free_in_s, 0.0))
            free = replace(drone, available=True, airborne=False, reason="")
            option = self._table([later], [free], limit=None)[0][drone.id]
            if option.feasible and not option.at_risk and \
                    (best is None or option.slack_s > best[0].slack_s):
                best = option, max(drone.free_in_s, 0.0)
        return best

    def _eta_lower_s(self, straight_m: np.ndarray, airborne: np.ndarray) -> np.ndarray:
        """``DroneModel.eta_s`` of the straight lines, vectorised: a lower bound on every ETA."""
        model = self.model
        v, a = model.cruise_speed_mps, model.accel_mps2
        d = np.maximum(straight_m - self.arrival_radius_m, 0.0)
        cruise = np.where(d >= v * v / (2.0 * a), d / v + v / (2.0 * a), np.sqrt(2.0 * d / a))
        launch = np.where(airborne, 0.0, model.launch_s(self.alt_rel_m))
        return cruise + launch[None, :]

    def _clear(self, e: float, n: float, d_e: np.ndarray, d_n: np.ndarray) -> np.ndarray:
        """True for each drone whose straight line to (e, n) touches no buffered no-fly zone."""
        if self._obstacles is None or len(d_e) == 0:
            return np.ones(len(d_e), dtype=bool)
        coords = np.stack([np.column_stack([d_e, d_n]),
                           np.tile([e, n], (len(d_e), 1))], axis=1)
        lines = shapely.linestrings(coords)
        return ~shapely.intersects(self._obstacles, lines)

    def _back_m(self, incident: Incident) -> tuple[float, str]:
        """Route length from the event to its nearest dock (inf, with why, when none is reachable)."""
        key = (incident.lat, incident.lon)
        if key in self._back_cache:
            return self._back_cache[key], "no dock reachable from the event"
        best, note = math.inf, "no dock reachable from the event"
        for dock in self.docks:
            try:
                best = min(best, self.router.distance_m(key, dock))
            except NoRouteFound as exc:
                note = f"no way back to a dock: {exc}"
        if len(self._back_cache) > 10_000:
            self._back_cache.clear()
        self._back_cache[key] = best
        return best, note


def _rank_key(option: Option) -> tuple[bool, float]:
    return (not option.feasible, option.eta_s)


def _impossible(incident: Incident, drone: DroneStatus, straight_m: float, reason: str) -> Option:
    return Option(
        drone_id=drone.id, incident_id=incident.id, eta_s=math.inf, route_length_m=math.inf,
        straight_m=straight_m, corners=0, return_m=math.inf, trip_wh=math.inf, usable_wh=0.0,
        feasible=False, at_risk=True, time_left_s=incident.time_left_s,
        on_patrol=drone.on_patrol, reason=reason,
    )


def _why_none(ranked: list[Option], drones: list[DroneStatus]) -> str:
    if not drones:
        return "no drones in the fleet"
    if not ranked:
        return "no drone available"
    reasons = sorted({o.reason for o in ranked if o.reason})
    return "no feasible drone: " + "; ".join(reasons[:3])


def _lat_lon(place: object) -> tuple[float, float]:
    if hasattr(place, "lat") and hasattr(place, "lon"):
        return float(place.lat), float(place.lon)  # type: ignore[attr-defined]
    lat, lon = place  # type: ignore[misc]
    return float(lat), float(lon)
