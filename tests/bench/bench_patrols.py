"""Merged patrol requests (综合飞一次): flights and flight-minutes merged vs each slot flown alone.

A generated week of department requests over the sample town (simulators/patrol_week.py,
seeded; overlapping areas of four departments, the industrial park's quiet windows), six
drones (two at each of the three docks). The baseline is measured in the same run with the
same path machinery: every slot its own flight (``PatrolPlanner.plan(merge=False)``).

Run: python tests/bench/bench_patrols.py [--seed 7] [--count 24] [--plot flights_per_day.png]
(one JSON line on stdout; never passes or fails on a figure)
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import timedelta

from dispatch import PatrolDrone, PatrolPlanner, PatrolRequest, WeekPlan
from geofence import sample_town
from simulators.patrol_week import FIRST_DAY, week_of_requests

DRONES_PER_DOCK = 2


def _summary(plan: WeekPlan, plan_s: float) -> dict:
    return {
        "flights": plan.flight_count,
        "flight_min": round(plan.flight_s / 60.0, 1),
        "length_km": round(plan.length_m / 1000.0, 1),
        "energy_wh": round(plan.energy_wh, 1),
        "all_served": plan.all_served,
        "unserved": len(plan.unserved),
        "quiet_cut_flights": sum(1 for f in plan.flights if f.skipped_quiet_zone_ids),
        "plan_s": round(plan_s, 2),
    }


def _plot(path: str, merged: WeekPlan, alone: WeekPlan) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    days = [FIRST_DAY + timedelta(days=k) for k in range(7)]
    per_merged, per_alone = merged.flights_per_day(), alone.flights_per_day()
    x = np.arange(len(days))
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=120)
    ax.bar(x - 0.2, [per_alone.get(d, 0) for d in days], 0.4, label="each slot alone")
    ax.bar(x + 0.2, [per_merged.get(d, 0) for d in days], 0.4, label="merged (fly once)")
    ax.set_xticks(x, [d.strftime("%a %m-%d") for d in days])
    ax.set_ylabel("flights")
    ax.set_title(f"Patrol flights per day: {merged.flight_count} merged vs "
                 f"{alone.flight_count} alone ({merged.flight_s / 60:.0f} vs "
                 f"{alone.flight_s / 60:.0f} flight-min)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=24, help="requests in the week")
    parser.add_argument("--plot", help="write a PNG of flights per day, merged vs alone")
    args = parser.parse_args(argv)

    town = sample_town()
    drones = [PatrolDrone(f"{dock.id}-{k}", dock.lat, dock.lon, dock.id)
              for dock in town.docks for k in range(DRONES_PER_DOCK)]
    requests = [PatrolRequest.from_mapping(r) for r in week_of_requests(args.seed, args.count)]
    last_day = FIRST_DAY + timedelta(days=6)
    planner = PatrolPlanner(town.zones, town.frame, drones)

    t0 = time.perf_counter()
    merged = planner.plan(requests, FIRST_DAY, last_day)
    merged_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = planner.plan(requests, FIRST_DAY, last_day, merge=False)
    alone_s = time.perf_counter() - t0

    if args.plot:
        _plot(args.plot, merged, alone)
    print(json.dumps({
        "bench": "patrols",
        "seed": args.seed,
        "requests": len(requests),
        "departments": len({r.department for r in requests}),
        "slots": len(merged.slots),
        "drones": len(drones),
        "merged": _summary(merged, merged_s),
        "alone": _summary(alone, alone_s),
        "flights_ratio": round(merged.flight_count / alone.flight_count, 3),
        "flight_min_ratio": round(merged.flight_s / alone.flight_s, 3),
        "flight_min_saved": round((alone.flight_s - merged.flight_s) / 60.0, 1),
        "every_request_served": merged.all_served and alone.all_served,
        "python": platform.python_version(),
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
