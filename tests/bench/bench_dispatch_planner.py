"""Dispatch planner latency: 200 drones x 50 waiting events over 50 no-fly zones (target <= 50 ms).

Baselines measured in the same run: the naive plan (nearest drone in a straight line, joint
assignment on straight distances, no routing, no battery), and flyonce's planner without its
pruning (every pair routed), so the cost of routing and the saving of the pruning both show.

Run: python tests/bench/bench_dispatch_planner.py   (one JSON line; never passes or fails on time)
"""

from __future__ import annotations

import json
import platform
import statistics
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from shapely.geometry import Polygon, box

from dispatch.planner import DroneStatus, Incident, Planner
from geofence import LocalFrame, Router, Zone, ZoneSet

FRAME = LocalFrame(29.50, 120.90)
RNG = np.random.default_rng(5)
HALF_M = 5000.0  # a 10 km x 10 km district


def _lonlat(polygon_m: Polygon) -> Polygon:
    lat, lon = FRAME.to_wgs84(*np.asarray(polygon_m.exterior.coords).T)
    return Polygon(np.column_stack([lon, lat]))


def scene(n_zones: int = 50, n_drones: int = 200, n_events: int = 50):
    zones, boxes = [], []
    while len(zones) < n_zones:
        cx, cy = RNG.uniform(-HALF_M + 300, HALF_M - 300, 2)
        w, h = RNG.uniform(80, 400, 2)
        b = box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        if any(b.buffer(60).intersects(o) for o in boxes):
            continue
        boxes.append(b)
        zones.append(Zone(f"nf{len(zones)}", f"no-fly {len(zones)}", "no_fly", _lonlat(b), 300.0))
    router = Router(ZoneSet(zones), FRAME, margin_m=20.0)
    blocked = [b.buffer(25) for b in boxes]

    def free_points(n: int) -> list[tuple[float, float]]:
        out = []
        while len(out) < n:
            e, n_ = RNG.uniform(-HALF_M, HALF_M, 2)
            if not any(b.contains(box(e, n_, e, n_)) or b.intersects(box(e, n_, e, n_))
                       for b in blocked):
                lat, lon = FRAME.to_wgs84(e, n_)
                out.append((float(lat), float(lon)))
        return out

    drone_pts = free_points(n_drones)
    drones = [DroneStatus(f"d{i}", lat, lon, battery_pct=float(RNG.uniform(30, 100)))
              for i, (lat, lon) in enumerate(drone_pts)]
    events = [Incident(f"e{i}", lat, lon, target_s=float(RNG.choice([180.0, 360.0])),
                       waited_s=float(RNG.uniform(0, 60)))
              for i, (lat, lon) in enumerate(free_points(n_events))]
    docks = drone_pts[::10]
    return router, docks, drones, events


def naive_assign(drones: list[DroneStatus], events: list[Incident]) -> list[tuple[int, int]]:
    d_e, d_n = FRAME.to_local(np.array([d.lat for d in drones]), np.array([d.lon for d in drones]))
    e_e, e_n = FRAME.to_local(np.array([e.lat for e in events]), np.array([e.lon for e in events]))
    cost = np.hypot(e_e[:, None] - d_e[None, :], e_n[:, None] - d_n[None, :])
    rows, cols = linear_sum_assignment(cost)
    return list(zip(rows.tolist(), cols.tolist()))


def timed(fn, repeats: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times, result


def main() -> None:
    router, docks, drones, events = scene()
    planner = Planner(router, docks)
    planner.assign(events, drones)  # warm: return legs to docks cached, as in a running service
    flyonce_ms, plan = timed(lambda: planner.assign(events, drones), 7)
    naive_ms, _ = timed(lambda: naive_assign(drones, events), 7)
    exhaustive = Planner(router, docks, candidates_per_event=len(drones), routed_enough=len(drones))
    exhaustive.assign(events, drones)
    full_ms, full_plan = timed(lambda: exhaustive.assign(events, drones), 2)
    same = sum(a.drone_id == b.drone_id for a, b in zip(plan, full_plan))
    eta_gap = sum(a.option.eta_s for a in plan if a.option) - \
        sum(b.option.eta_s for b in full_plan if b.option)
    print(json.dumps({
        "bench": "dispatch_planner",
        "drones": len(drones), "events": len(events), "no_fly_zones": 50,
        "flyonce_ms_p50": round(statistics.median(flyonce_ms), 1),
        "flyonce_ms_max": round(max(flyonce_ms), 1),
        "baseline_naive_straight_ms_p50": round(statistics.median(naive_ms), 1),
        "baseline_all_pairs_routed_ms_p50": round(statistics.median(full_ms), 1),
        "pruned_vs_all_pairs_same_drone": f"{same}/{len(plan)}",
        "pruned_vs_all_pairs_total_eta_gap_s": round(eta_gap, 1),
        "at_risk": sum(a.at_risk for a in plan),
        "target_ms": 50,
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
