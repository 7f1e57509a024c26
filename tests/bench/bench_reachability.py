"""Reachability benchmark: grid ETA time, dock siting (solver vs greedy), attainment against the bound.

1. ETA grid: the best ETA from the sample town's three docks to every 20 m cell of a central
   1 km² (target <= 2 s) and of the whole town, through one shortest-path tree per dock, against
   the baseline of routing every cell from every dock with ``Router.route_local`` (the largest
   ETA difference between the two is reported: it must be 0).
2. Siting at a 99 % share of every zone kind: the sample town (candidates every 250 m) and a
   generated 12 km x 9 km county (20 residential blocks, 3 forests, 10 no-fly zones,
   candidates every 500 m; also at 90, 95 and 100 %), the integer programme (HiGHS) against
   greedy placement.
3. Attainment: bench_dispatch_attainment's reference day flown by flyonce's planner, each miss
   with its reason (unreachable / planner / battery / all busy).

Run: python tests/bench/bench_reachability.py [--plot DIR]   (one JSON line; never passes or
fails on time; --plot writes DIR/reach_sample_town.png, DIR/siting_county.png and
DIR/siting_county_by_share.png)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from shapely.geometry import Polygon, box

from dispatch.reach_plot import Panel, reach_png
from dispatch.reachability import Grid, Reachability
from dispatch.siting import candidate_grid, coverage, plan_greedy, plan_milp
from geofence import LocalFrame, Router, Zone, ZoneSet, sample_town

sys.path.insert(0, str(Path(__file__).parent))
import bench_dispatch_attainment as attainment

TARGET_SHARE = 0.99
COUNTY_SHARES = (0.9, 0.95, TARGET_SHARE, 1.0)


def bench_grid() -> tuple[dict, object]:
    town = sample_town()
    router = Router(town.zones, town.frame)
    reach = Reachability(router)
    window = Grid.over((-500.0, -500.0, 500.0, 500.0), 20.0)
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        field = reach.map(town.zones, town.docks, grid=window)
        timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    whole = reach.map(town.zones, town.docks, spacing_m=20.0)
    whole_s = time.perf_counter() - t0

    # Baseline: a route per cell per dock, then the same ETA.
    t0 = time.perf_counter()
    eta = np.full((len(town.docks), window.shape[0] * window.shape[1]), np.inf)
    for k, dock in enumerate(town.docks):
        start = town.frame.to_local(dock.lat, dock.lon)
        for j, point in enumerate(window.points_local()):
            try:
                route = router.route_local(start, tuple(point))
            except attainment.NoRouteFound:
                continue
            eta[k, j] = reach.model.eta_s(route.length_m, alt_rel_m=reach.alt_rel_m,
                                          corners=reach.model.corners_of(route.points_local),
                                          arrival_radius_m=reach.arrival_radius_m)
    per_cell_s = time.perf_counter() - t0
    best = eta.min(axis=0).reshape(window.shape)
    finite = np.isfinite(best)
    assert np.array_equal(finite, np.isfinite(field.eta_s))
    diff_s = float(np.abs(best[finite] - field.eta_s[finite]).max())
    return {
        "cells_1km2": window.shape[0] * window.shape[1],
        "tree_1km2_s": round(min(timings), 4),
        "baseline_route_per_cell_1km2_s": round(per_cell_s, 3),
        "speedup": round(per_cell_s / min(timings), 1),
        "max_eta_diff_s": diff_s,
        "town_cells": whole.grid.shape[0] * whole.grid.shape[1],
        "town_km2": round(whole.grid.shape[0] * whole.grid.shape[1] * 400 / 1e6, 2),
        "town_s": round(whole_s, 3),
        "town_share_within_target": {k.kind: round(k.within_share, 4) for k in whole.kinds},
    }, whole


def county() -> tuple[ZoneSet, LocalFrame]:
    """A generated county: residential blocks, forests and no-fly zones over 12 km x 9 km."""
    frame = LocalFrame(29.5, 120.9)
    rng = np.random.default_rng(25)

    def zone(zone_id: str, kind: str, shape: Polygon, target_s: float) -> Zone:
        lat, lon = frame.to_wgs84(*np.asarray(shape.exterior.coords).T)
        return Zone(zone_id, zone_id, kind, Polygon(np.column_stack([lon, lat])), target_s)

    zones, shapes = [], []
    for i in range(20):
        e, n = rng.uniform([-5500, -4000], [5500, 4000])
        w, h = rng.uniform(300, 700, 2)
        shapes.append(box(e, n, e + w, n + h))
        zones.append(zone(f"res-{i}", "residential", shapes[-1], 180.0))
    for i in range(3):
        e, n = rng.uniform([-6000, -4500], [3000, 1500])
        w, h = rng.uniform(1500, 3000, 2)
        shapes.append(box(e, n, e + w, n + h))
        zones.append(zone(f"forest-{i}", "forest", shapes[-1], 360.0))
    placed = 0
    while placed < 10:  # between the blocks and forests, as the sample town's school is
        e, n = rng.uniform([-5500, -4000], [5500, 4000])
        w, h = rng.uniform(100, 300, 2)
        shape = box(e, n, e + w, n + h)
        if any(shape.distance(other) < 60.0 for other in shapes):  # margin 20 m + a cell
            continue
        zones.append(zone(f"nofly-{placed}", "no_fly", shape, 300.0))
        placed += 1
    return ZoneSet(zones), frame


def bench_siting(zones: ZoneSet, frame: LocalFrame, candidate_m: float, cell_m: float,
                 shares: tuple[float, ...] = (TARGET_SHARE,)) -> tuple[dict, list]:
    reach = Reachability(Router(zones, frame))
    sites = candidate_grid(zones, reach, candidate_m)
    t0 = time.perf_counter()
    cov = coverage(reach, zones, sites, spacing_m=cell_m, kinds=["residential", "forest"])
    coverage_s = time.perf_counter() - t0
    out: dict = {"candidates": len(cov.sites), "candidate_spacing_m": candidate_m,
                 "cell_m": cell_m, "demand_groups": len(cov.area_m2),
                 "coverage_s": round(coverage_s, 2),
                 "ceiling": {k: round(v, 4) for k, v in zip(cov.kinds, cov.ceiling.tolist())}}
    panels = []
    for share in shares:
        for name, solve in (("milp", plan_milp), ("greedy", plan_greedy)):
            t0 = time.perf_counter()
            plan = solve(cov, share)
            out[f"{name}_{share:g}"] = {
                "docks": len(plan.sites), "optimal": plan.optimal,
                "solve_s": round(time.perf_counter() - t0, 3),
                "share": {k: round(v, 4) for k, v in plan.shares.items()}}
            if share == TARGET_SHARE:
                field = reach.map(zones, plan.sites, spacing_m=cell_m)
                within = ", ".join(f"{k} {100 * v:.1f} %" for k, v in plan.shares.items())
                panels.append(Panel(
                    field, [(str(i + 1), s.lat, s.lon) for i, s in enumerate(plan.sites)],
                    f"{name}: {len(plan.sites)} docks for {100 * share:g} % ({within})",
                    candidates=[(s.lat, s.lon) for s in cov.sites]))
    return out, panels


def plot_docks_by_share(path: Path, county_siting: dict, shares: tuple[float, ...]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=120)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for name, marker in (("milp", "o"), ("greedy", "s")):
        ax.plot([100 * s for s in shares], [county_siting[f"{name}_{s:g}"]["docks"]
                                            for s in shares], marker=marker,
                label="integer programme (HiGHS)" if name == "milp" else "greedy")
    ax.set_xlabel("share of residential and forest area reached within target (%)")
    ax.set_ylabel("docks")
    ax.set_title("Generated 12 km x 9 km county: docks needed", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", type=Path, help="folder for the two map PNGs")
    args = parser.parse_args(argv)
    town = sample_town()
    grid, town_field = bench_grid()
    town_siting, _ = bench_siting(town.zones, town.frame, 250.0, 20.0)
    county_zones, county_frame = county()
    county_siting, county_panels = bench_siting(county_zones, county_frame, 500.0, 40.0,
                                                COUNTY_SHARES)
    events = attainment.day()
    flown = attainment.run(attainment.flyonce_choice, events)
    print(json.dumps({
        "bench": "reachability",
        "machine": platform.processor() or platform.machine(),
        "grid": grid,
        "siting_sample_town": town_siting,
        "siting_county": county_siting,
        "attainment": {k: flown[k] for k in ("within_target", "physically_reachable",
                                             "within_target_of_reachable", "misses")},
    }))
    if args.plot:
        args.plot.mkdir(parents=True, exist_ok=True)
        shares = ", ".join(f"{k.kind} {100 * k.within_share:.1f} %" for k in town_field.kinds
                           if k.kind in ("residential", "forest"))
        (args.plot / "reach_sample_town.png").write_bytes(reach_png(
            [Panel(town_field, [(d.id, d.lat, d.lon) for d in town.docks],
                   f"sample town, 3 docks: {shares}")], town.zones, town.frame))
        (args.plot / "siting_county.png").write_bytes(reach_png(county_panels, county_zones,
                                                                county_frame))
        plot_docks_by_share(args.plot / "siting_county_by_share.png", county_siting,
                            COUNTY_SHARES)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
