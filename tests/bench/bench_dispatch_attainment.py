"""Dispatch attainment over a generated day: share of events reached within target, p50/p90 response.

A day of 96 incidents over the sample town (half in residential blocks, a quarter in the
forest, the rest anywhere; 60 % of them in the morning and evening market peaks; some behind the no-fly school and substation), six drones at the
three docks, three of them starting low on battery and recharging on the dock at 1 %/min.
flyonce's planner (routed ETA, battery feasibility, the one DroneModel) is compared in the same
run with a naive dispatcher: the nearest free drone in a straight line, ignoring battery and
no-fly zones. Both fly the same truth: the routed path round the no-fly zones at the
simulator's speeds (DroneModel's defaults are the simulator's physics); a drone sent with too
little charge hits the battery failsafe on the way and the event must be sent again, and one
that gets there but cannot hold and fly home lands flat short of a dock, out for the day.

Every miss is given its reason (dispatch.misses): out of reach even for an idle drone, the
planner's choice, battery, or every capable drone busy. flyonce is also flown with idle drones
pre-positioned during surges toward the hour's hot spots (two weeks of past days).

A mixed-fleet day flies the same day with half the drones DJI docks (Cloud API over MQTT):
each waits ``DJI_LAUNCH_S`` (cover and readiness) before its climb, refuses to take off below
its 30 % threshold and charges at DJI Dock 2's 2.2 %/min; the planner knows all three, as the
service does (``DjiLink.launch_s``, ``Telemetry.not_ready``). Command latency, from the
dispatcher's decision to the drone's acknowledgement of its first command (MAVLink: the
COMMAND_ACK of DO_SET_MODE over TCP; DJI: the services_reply of flight_authority_grab through
Mosquitto), is measured on real simulated copters and docks, per protocol.

Run: python tests/bench/bench_dispatch_attainment.py [--per-dock N] [--recharge-pct-per-min R]
[--plot attainment.png (and attainment-sizing.png)] [--sizing-days N] [--latency-rounds N] [--days N (the mixed-fleet comparison pooled over N
generated days, default 10)]  (the latency needs Mosquitto at 127.0.0.1:1883)
(one JSON line; never passes or fails on time; the options ask what a larger fleet or faster
charging would change)
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dispatch.misses import Chance, MissReason, miss_reason, tally
from dispatch.model import DroneModel
from dispatch.planner import DroneStatus, Incident, Planner
from dispatch.preposition import Demand, Move, preposition
from geofence import NoRouteFound, Router, sample_town

TOWN = sample_town()
ROUTER = Router(TOWN.zones, TOWN.frame, margin_m=20.0)
MODEL = DroneModel()
ALT_M, HOLD_S, RADIUS_M = 30.0, 300.0, 30.0
FAILSAFE_PCT = 22.3  # BATT_LOW_VOLT 14.0 V on a 4S pack: 3.5 V/cell = 22 % charge
RECHARGE_PCT_PER_S = 1.0 / 60.0  # a charging dock: empty to full in 100 min
PER_DOCK = 2  # drones at each of the three docks
RETRY_S = 10.0  # the service plans waiting events again every few seconds
HISTORY_SEEDS = range(101, 115)  # two weeks of past days: the hot spots of each hour
SURGE_BUSY = 2  # drones out on events at once that make a surge
DOCKS = [(d.lat, d.lon) for d in TOWN.docks]


@dataclass
class SimDrone:
    id: str
    lat: float
    lon: float
    pct: float
    free_at: float = 0.0
    lost: bool = False  # landed flat short of a dock: out for the rest of the day
    launch_s: float = 0.0  # a DJI dock's cover and readiness before the climb
    recharge_pct_per_s: float | None = None  # None: the day's RECHARGE_PCT_PER_S
    min_takeoff_pct: float = 0.0  # a DJI dock refuses a take-off below its threshold

    def pct_at(self, t: float) -> float:
        rate = RECHARGE_PCT_PER_S if self.recharge_pct_per_s is None else self.recharge_pct_per_s
        return min(100.0, self.pct + rate * max(t - self.free_at, 0.0))

    def can_launch(self, t: float) -> bool:
        return self.pct_at(t) >= self.min_takeoff_pct


@dataclass(frozen=True)
class Event:
    id: int
    t: float
    lat: float
    lon: float
    target_s: float


def day(seed: int = 7, n: int = 96) -> list[Event]:
    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = TOWN.zones.bounds
    residential = TOWN.zones.of_kind("residential")
    forest = TOWN.zones.of_kind("forest")
    events: list[Event] = []
    while len(events) < n:
        pool = rng.choice(["residential", "forest", "any"], p=[0.5, 0.25, 0.25])
        zone = None
        if pool == "residential":
            zone = residential[rng.integers(len(residential))]
        elif pool == "forest":
            zone = forest[rng.integers(len(forest))]
        lo_lon, lo_lat, hi_lon, hi_lat = zone.geometry.bounds if zone else \
            (min_lon, min_lat, max_lon, max_lat)
        lat, lon = rng.uniform(lo_lat, hi_lat), rng.uniform(lo_lon, hi_lon)
        if zone is not None and not zone.covers(lat, lon):
            continue
        try:
            ROUTER.distance_m(DOCKS[0], (lat, lon))  # outside every no-fly zone and margin
        except NoRouteFound:
            continue
        events.append(Event(len(events), 0.0, float(lat), float(lon),
                            TOWN.zones.target_s(lat, lon)))
    # Market hours crowd the day: 60 % of incidents fall in the 07:00-09:00 and 17:00-19:00 peaks.
    peak = rng.random(n) < 0.6
    starts = np.where(rng.random(n) < 0.5, 7 * 3600, 17 * 3600)
    times = np.sort(np.where(peak, starts + rng.uniform(0, 7200, n), rng.uniform(0, 86400, n)))
    return [Event(e.id, float(t), e.lat, e.lon, e.target_s) for e, t in zip(events, times)]


DJI_LAUNCH_S = 20.0  # dispatch.dji_link.DEFAULT_LAUNCH_S: the simulated dock's cover + readiness
DJI_RECHARGE_PCT_PER_S = 2.2 / 60.0  # DJI Dock 2: 20 % to 90 % in about 32 min
DJI_MIN_TAKEOFF_PCT = 30.0  # the simulated dock's flighttask_prepare_capacity
MIXED = ""  # "protocol": every other drone at a dock a DJI dock charging at the day's rate;
# "dji_charging": the same, charging at DJI Dock 2's rate


def fleet() -> list[SimDrone]:
    # The second drone at each dock starts low; more drones per dock start full. In a mixed
    # fleet the second, fourth … at each dock are DJI docks.
    out = []
    for d in TOWN.docks:
        for k, x in enumerate("abcdefgh"[:PER_DOCK]):
            drone = SimDrone(f"{d.id}-{x}", d.lat, d.lon, 30.0 if x == "b" else 100.0)
            if MIXED and k % 2 == 1:
                drone.launch_s, drone.min_takeoff_pct = DJI_LAUNCH_S, DJI_MIN_TAKEOFF_PCT
                if MIXED == "dji_charging":
                    drone.recharge_pct_per_s = DJI_RECHARGE_PCT_PER_S
            out.append(drone)
    return out


def fly(drone: SimDrone, event: Event, t: float) -> float | None:
    """Fly the truth; the arrival time, or None when the battery failsafe turned it back."""
    route = ROUTER.route((drone.lat, drone.lon), (event.lat, event.lon))
    back_m, dock = min((ROUTER.distance_m((event.lat, event.lon), d), d) for d in DOCKS)
    pct = drone.pct_at(t)
    eta = MODEL.eta_s(route.length_m, alt_rel_m=ALT_M, corners=MODEL.corners_of(route.points_local),
                      arrival_radius_m=RADIUS_M) + drone.launch_s
    out_wh = MODEL.trip_wh(route.length_m, 0.0, alt_rel_m=ALT_M, hold_s=0.0) - \
        MODEL.landing_s(ALT_M) * MODEL.hover_power_w / 3600
    spare_wh = MODEL.energy_wh(pct) - MODEL.energy_wh(FAILSAFE_PCT)
    if out_wh > spare_wh:
        # failsafe part-way: RTL from there, lands with what is left
        drone.free_at = t + eta * max(spare_wh, 0.0) / out_wh * 2 + MODEL.landing_s(ALT_M)
        drone.pct = min(pct, FAILSAFE_PCT) - 1.0  # home again, below the arming voltage
        return None
    used = MODEL.trip_wh(route.length_m, back_m, alt_rel_m=ALT_M, hold_s=HOLD_S)
    if used > MODEL.energy_wh(pct):  # it got there, but the pack runs flat before the dock
        drone.free_at, drone.lost = math.inf, True
        return t + eta
    drone.pct = MODEL.pct_of_wh(max(MODEL.energy_wh(pct) - used, 0.0))
    back_s = MODEL.cruise_s(back_m, stop=True) + MODEL.landing_s(ALT_M)
    drone.free_at = t + eta + HOLD_S + back_s
    drone.lat, drone.lon = dock
    return t + eta


def flyonce_choice(drones: list[SimDrone], event: Event, t: float, planner: Planner,
                   _shunned: dict[str, float]) -> SimDrone | None:
    # A busy drone tells the planner when and where it will be free (its dock, after the hold
    # and the flight home) and its charge then, so the planner can wait for it.
    statuses = [DroneStatus(d.id, d.lat, d.lon, d.pct_at(max(t, d.free_at)),
                            available=d.free_at <= t and d.can_launch(t),
                            free_in_s=None if d.lost or d.free_at <= t else d.free_at - t,
                            launch_s=d.launch_s)
                for d in drones]
    choice = planner.choose(Incident(event.id, event.lat, event.lon, event.target_s,
                                     t - event.t), statuses)
    if choice.option is None:
        return None
    return next(d for d in drones if d.id == choice.option.drone_id)


def naive_choice(drones: list[SimDrone], event: Event, t: float, _planner: Planner,
                 shunned: dict[str, float]) -> SimDrone | None:
    # The autopilot refuses to arm below BATT_LOW_VOLT, so even a naive dispatcher skips those;
    # a drone that turned back on this event is not sent to it again for half an hour.
    free = [d for d in drones if d.free_at <= t and d.pct_at(t) > FAILSAFE_PCT
            and d.can_launch(t) and shunned.get(d.id, -1e9) + 1800.0 <= t]
    if not free:
        return None
    e, n = TOWN.frame.to_local(event.lat, event.lon)
    return min(free, key=lambda d: np.hypot(*np.subtract(TOWN.frame.to_local(d.lat, d.lon),
                                                          (e, n))))


def chances(drones: list[SimDrone], event: Event, planner: Planner) -> list[Chance]:
    """What each drone could have done for the event, seen from its alert (dispatch.misses)."""
    out = []
    for d in drones:
        if d.lost:
            out.append(Chance(d.id, math.inf, math.inf, False))
            continue
        at = max(event.t, d.free_at)
        status = DroneStatus(d.id, d.lat, d.lon, d.pct_at(at), launch_s=d.launch_s)
        option = planner.options(Incident(event.id, event.lat, event.lon, event.target_s,
                                          at - event.t), [status])[0]
        out.append(Chance(d.id, at - event.t, option.eta_s, option.feasible))
    return out


def bound_eta_s(event: Event, planner: Planner) -> float:
    """The best ETA of an idle, fully charged drone at any dock: the physical bound."""
    idle = [DroneStatus(f"idle-{k}", lat, lon, 100.0) for k, (lat, lon) in enumerate(DOCKS)]
    options = planner.options(Incident(event.id, event.lat, event.lon, event.target_s), idle)
    return min((o.eta_s for o in options if o.feasible), default=math.inf)


def hourly_demand(seeds: range = HISTORY_SEEDS, cell_m: float = 200.0) -> dict[int, list[Demand]]:
    """The hot spots of each hour of the day: past days' incidents, pooled in cells of cell_m."""
    pooled: dict[tuple[int, int, int], list[float]] = defaultdict(lambda: [0.0, math.inf])
    for seed in seeds:
        for e in day(seed):
            east, north = TOWN.frame.to_local(e.lat, e.lon)
            key = (int(e.t // 3600), round(east / cell_m), round(north / cell_m))
            pooled[key][0] += 1.0 / len(seeds)
            pooled[key][1] = min(pooled[key][1], e.target_s)
    by_hour: dict[int, list[Demand]] = defaultdict(list)
    for (hour, ce, cn), (per_hour, target_s) in pooled.items():
        lat, lon = TOWN.frame.to_wgs84(ce * cell_m, cn * cell_m)
        by_hour[hour].append(Demand(float(lat), float(lon), per_hour, target_s))
    return by_hour


def reposition(drones: list[SimDrone], t: float, planner: Planner,
               demand: dict[int, list[Demand]]) -> list[Move]:
    """During a surge (SURGE_BUSY drones or more out on events), move idle ones to hot spots."""
    if sum(d.free_at > t for d in drones) < SURGE_BUSY:
        return []
    idle = [d for d in drones if d.free_at <= t]
    statuses = [DroneStatus(d.id, d.lat, d.lon, d.pct_at(t), launch_s=d.launch_s) for d in idle]
    moves = preposition(planner, statuses, TOWN.docks, demand.get(int(t // 3600) % 24, []))
    for move in moves:
        drone = next(d for d in idle if d.id == move.drone_id)
        drone.lat, drone.lon, drone.pct = move.lat, move.lon, move.pct_after
        drone.free_at = t + move.flight_s
    return moves


def run(choose: Callable, events: list[Event], demand: dict[int, list[Demand]] | None = None
        ) -> dict:
    """A day flown; with ``demand``, idle drones are pre-positioned during surges."""
    drones, planner = fleet(), Planner(ROUTER, DOCKS, alt_rel_m=ALT_M, hold_s=HOLD_S,
                                       arrival_radius_m=RADIUS_M)
    responses, within, failsafes = [], 0, 0
    moves: list[Move] = []
    reasons: list[MissReason] = []
    reachable, reachable_within = 0, 0
    for event in events:
        t = event.t
        seen = chances(drones, event, planner)
        bound_s = bound_eta_s(event, planner)
        arrived, shunned = None, {}
        while arrived is None:  # drones recharge while they wait, so this ends
            drone = choose(drones, event, t, planner, shunned)
            if drone is None:  # ask again when a drone comes free, or after RETRY_S of charging
                t = min([d.free_at for d in drones if d.free_at > t] + [t + RETRY_S])
                continue
            arrived = fly(drone, event, t)
            if arrived is None:
                failsafes += 1
                shunned[drone.id] = t
        response = arrived - event.t
        responses.append(response)
        within += response <= event.target_s
        reachable += bound_s <= event.target_s
        reachable_within += bound_s <= event.target_s and response <= event.target_s
        if response > event.target_s:
            reasons.append(miss_reason(event.target_s, bound_s, seen))
        if demand is not None:
            moves += reposition(drones, event.t, planner, demand)
    out = {
        "within_target": round(within / len(events), 3),
        "incidents_within_target": within,
        "response_p50_s": round(statistics.median(responses), 1),
        "response_p90_s": round(float(np.percentile(responses, 90)), 1),
        "battery_failsafes": failsafes,
        "drones_lost_flat": sum(d.lost for d in drones),
        "physically_reachable": reachable,
        "within_target_of_reachable": round(reachable_within / max(reachable, 1), 3),
        "misses": tally(reasons),
    }
    if demand is not None:
        out["prepositioning_moves"] = len(moves)
        out["example_audit"] = moves[0].reason if moves else ""
    return out


def command_latency(rounds: int = 4) -> dict[str, dict[str, float]]:
    """Decision → first command acknowledged, in wall milliseconds, per protocol: ``rounds``
    MAVLink copters and ``rounds`` DJI docks (real sockets, real Mosquitto) each sent once by a
    dispatcher, named by id so that every drone gets one event."""
    import asyncio
    import time

    from dispatch.dispatcher import Dispatcher
    from dispatch.fleet import FleetEntry
    from geofence.frame import LocalFrame
    from simulators.clock import SimClock
    from simulators.fleet import Fleet

    places = [TOWN.docks[i % 3] for i in range(rounds)]
    fleet = Fleet.start(places, clock=SimClock(10.0), base_tcp_port=0, dji_docks=places)
    entries = [FleetEntry(f"copter-{i}", v.endpoint, d.lat, d.lon)
               for i, (v, d) in enumerate(zip(fleet.vehicles, places))]
    entries += [FleetEntry(f"dji-{i}", k.url, d.lat, d.lon)
                for i, (k, d) in enumerate(zip(fleet.docks, places))]
    acked: dict[str, float] = {}
    updates: list = []

    def heard(update) -> None:
        if update.kind == "assigned":
            acked[update.drone_id] = time.monotonic()
            updates.append(update)

    async def measure() -> dict[str, list[float]]:
        planner = Planner(ROUTER, DOCKS, alt_rel_m=ALT_M, hold_s=HOLD_S, arrival_radius_m=RADIUS_M)
        dispatcher = Dispatcher(entries, planner, clock=fleet.clock, on_update=heard)
        errors = await dispatcher.start(connect_timeout_s=10)
        if errors:
            raise RuntimeError(f"drones did not connect: {errors}")
        while not all(v.available for v in dispatcher.drones()):
            await asyncio.sleep(0.05)
        out: dict[str, list[float]] = {"mavlink": [], "dji": []}
        for n, entry in enumerate(entries):
            lat, lon = _reachable_near(LocalFrame(entry.dock_lat, entry.dock_lon))
            decided = time.monotonic()
            await dispatcher.dispatch(Incident(f"e{n}", lat, lon, 180.0), drone_id=entry.id)
            while entry.id not in acked:
                await asyncio.sleep(0.001)
            protocol = next(u.protocol for u in updates if u.drone_id == entry.id)
            out[protocol].append((acked[entry.id] - decided) * 1000.0)
        await dispatcher.stop()
        return out

    try:
        samples = asyncio.run(measure())
    finally:
        fleet.stop()
    return {p: {"n": len(v), "p50_ms": round(statistics.median(v), 1),
                "max_ms": round(max(v), 1)} for p, v in samples.items()}


def _reachable_near(frame, distance_m: float = 200.0) -> tuple[float, float]:
    """A point ``distance_m`` from a dock that the router can reach (not in a no-fly zone)."""
    for east, north in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        lat, lon = frame.to_wgs84(east * distance_m, north * distance_m)
        try:
            ROUTER.distance_m(DOCKS[0], (lat, lon))
        except NoRouteFound:
            continue
        return lat, lon
    raise NoRouteFound(f"nothing reachable {distance_m:g} m from the dock")


def mixed_over_days(days: int, first_seed: int = 7) -> dict:
    """All-MAVLink against half DJI docks (same chargers) over ``days`` generated days: one day
    of 96 incidents moves in steps of 1.04 points, too coarse for a 1-point comparison."""
    global MIXED
    within = {"all_mavlink": 0, "mixed": 0}
    n = 0
    for seed in range(first_seed, first_seed + days):
        events = day(seed)
        n += len(events)
        for mode, key in (("", "all_mavlink"), ("protocol", "mixed")):
            MIXED = mode
            within[key] += run(flyonce_choice, events)["incidents_within_target"]
    MIXED = ""
    return {"days": days, "incidents": n,
            "within_target_all_mavlink": round(within["all_mavlink"] / n, 4),
            "within_target_mixed": round(within["mixed"] / n, 4),
            "mixed_vs_all_mavlink_points": round(100 * (within["mixed"] - within["all_mavlink"]) / n,
                                                 2)}


def fleet_sizing(events: list[Event], max_per_dock: int = 6, share: float = 0.99,
                 check_days: int = 10) -> dict:
    """How many drones the three docks need for the promise to hold: flyonce's planner on the
    same day with 1, 2, ... drones a dock, until ``share`` of the physically reachable incidents
    are reached within target with no miss of the planner's making. The fleet found is then
    flown over ``check_days`` further generated days, so the answer is not one day's luck.

    Siting (``flyonce docks plan``) answers *where*: which docks put every point within its
    target for an idle drone. Sizing answers *how many*: the day's overlapping incidents and
    the charging they leave decide it (the reference fleet's misses are all "battery" and
    "every capable drone busy", none the planner's)."""
    global PER_DOCK
    saved, sweep, needed = PER_DOCK, [], None
    try:
        for per_dock in range(1, max_per_dock + 1):
            PER_DOCK = per_dock
            r = run(flyonce_choice, events)
            sweep.append({"per_dock": per_dock, "drones": per_dock * len(DOCKS),
                          "within_target_of_reachable": r["within_target_of_reachable"],
                          "misses": r["misses"]})
            if (r["within_target_of_reachable"] >= share
                    and r["misses"][MissReason.PLANNER.value] == 0):
                needed = per_dock
                break
        check = {}
        if needed is not None and check_days > 0:
            PER_DOCK = needed
            within = reachable = planner = 0
            for seed in range(8, 8 + check_days):
                r = run(flyonce_choice, day(seed))
                within += r["incidents_within_target"]
                reachable += r["physically_reachable"]
                planner += r["misses"][MissReason.PLANNER.value]
            check = {"days": check_days, "physically_reachable": reachable,
                     "within_target_of_reachable": round(within / reachable, 4),
                     "planner_misses": planner}
    finally:
        PER_DOCK = saved
    return {"target_share_of_reachable": share, "sweep": sweep,
            "drones_per_dock_needed": needed,
            "drones_needed": needed * len(DOCKS) if needed else None,
            "other_days_at_that_fleet": check}


def main(argv: list[str] | None = None) -> None:
    global PER_DOCK, RECHARGE_PCT_PER_S, MIXED
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-dock", type=int, default=PER_DOCK,
                        help="drones at each dock (what if the fleet were larger)")
    parser.add_argument("--recharge-pct-per-min", type=float, default=RECHARGE_PCT_PER_S * 60,
                        help="dock charging rate (what if the docks charged faster)")
    parser.add_argument("--plot", help="write a PNG: within target and each miss reason, per plan")
    parser.add_argument("--latency-rounds", type=int, default=4,
                        help="copters and DJI docks each dispatched once for command latency "
                             "(0: skip; needs Mosquitto)")
    parser.add_argument("--sizing-days", type=int, default=10,
                        help="further generated days the sized fleet is flown over (0: skip)")
    parser.add_argument("--days", type=int, default=10,
                        help="generated days (seeds 7, 8, ...) pooled for the mixed-fleet "
                             "comparison (0: skip)")
    args = parser.parse_args(argv)
    PER_DOCK, RECHARGE_PCT_PER_S = args.per_dock, args.recharge_pct_per_min / 60.0
    events = day()
    blocked = sum(not ROUTER.route(DOCKS[2], (e.lat, e.lon)).is_straight for e in events)
    plans = {
        "flyonce": run(flyonce_choice, events),
        "flyonce_prepositioned": run(flyonce_choice, events, hourly_demand()),
        "baseline_naive_straight_line": run(naive_choice, events),
    }
    # the same docks, half of them DJI: first with the same chargers (what the protocol and the
    # dock's launch cost), then with DJI Dock 2's faster charging
    for mode, name in (("protocol", "flyonce_mixed_fleet"),
                       ("dji_charging", "flyonce_mixed_fleet_dji_charging")):
        MIXED = mode
        mixed = run(flyonce_choice, events)
        mixed["dji_docks"] = sum(d.launch_s > 0 for d in fleet())
        mixed["within_target_vs_all_mavlink_points"] = round(
            100 * (mixed["within_target"] - plans["flyonce"]["within_target"]), 1)
        plans[name] = mixed
    MIXED = ""
    over_days = mixed_over_days(args.days) if args.days > 0 else {}
    sizing = fleet_sizing(events, check_days=args.sizing_days)
    latency = command_latency(args.latency_rounds) if args.latency_rounds > 0 else {}
    print(json.dumps({
        "bench": "dispatch_attainment",
        "events": len(events), "drones": len(fleet()),
        "recharge_pct_per_min": round(RECHARGE_PCT_PER_S * 60, 2),
        "forest_events": sum(e.target_s == 360.0 for e in events),
        "events_behind_no_fly_from_south_dock": blocked,
        **plans,
        "mixed_fleet_over_days": over_days,
        "fleet_sizing": sizing,
        "command_latency_decision_to_ack": latency,
    }))
    if args.plot:
        plot(args.plot, plans, len(events))
        plot_sizing(args.plot.removesuffix(".png") + "-sizing.png", sizing)


def plot(path: str, plans: dict[str, dict], n_events: int) -> None:
    """Stacked bars: incidents within target, then each miss reason, for each plan."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"flyonce": "flyonce", "flyonce_prepositioned": "flyonce +\npre-positioning",
              "baseline_naive_straight_line": "nearest in a\nstraight line",
              "flyonce_mixed_fleet": "flyonce, half\nDJI docks",
              "flyonce_mixed_fleet_dji_charging": "half DJI docks,\nDJI charging"}
    parts = [("within target", "#1a9641")] + [
        (reason.value, colour) for reason, colour in zip(
            MissReason, ("#7b3294", "#d7191c", "#fdae61", "#abd9e9"))]
    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=120)
    for x, (name, result) in enumerate(plans.items()):
        counts = [result["incidents_within_target"], *result["misses"].values()]
        bottom = 0
        for (label, colour), count in zip(parts, counts):
            ax.bar(x, count, bottom=bottom, color=colour, label=label if x == 0 else None)
            if count:
                ax.text(x, bottom + count / 2, str(count), ha="center", va="center", fontsize=8)
            bottom += count
    ax.set_xticks(range(len(plans)), [labels[n] for n in plans])
    ax.set_ylabel("incidents")
    ax.set_title(f"{n_events} incidents, {PER_DOCK * 3} drones, docks charging "
                 f"{RECHARGE_PCT_PER_S * 60:g} %/min: within target and why the rest missed",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

def plot_sizing(path: str, sizing: dict) -> None:
    """Within target (of the physically reachable incidents) against the fleet's size, with the
    target line and the miss reasons left at each size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = sizing["sweep"]
    drones = [s["drones"] for s in sweep]
    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=120)
    ax.plot(drones, [100 * s["within_target_of_reachable"] for s in sweep], "o-", color="#1a9641",
            label="reference day")
    check = sizing["other_days_at_that_fleet"]
    if check and sizing["drones_needed"]:
        ax.plot([sizing["drones_needed"]], [100 * check["within_target_of_reachable"]], "s",
                color="#2c7bb6", label=f"{check['days']} other days")
    ax.axhline(100 * sizing["target_share_of_reachable"], color="#d7191c", ls="--", lw=1,
               label=f"target {100 * sizing['target_share_of_reachable']:g} %")
    for s in sweep:
        left = ", ".join(f"{k} {v}" for k, v in s["misses"].items() if v)
        if left:
            ax.annotate(left, (s["drones"], 100 * s["within_target_of_reachable"]),
                        textcoords="offset points", xytext=(6, -12), fontsize=7)
    ax.set_xticks(drones)
    ax.set_xlabel("drones (same three docks)")
    ax.set_ylabel("% of reachable incidents within target")
    ax.set_title("How many drones the promise needs", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
