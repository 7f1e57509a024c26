"""Zoom to verify: the demo's patrol cameras with and without the 2x zoom look at single looks,
on the same frames in the same run.

A drone sweeps the demo's patrol zones (lanes 80 m apart at 60 m, one nadir frame per footprint
length less 20 % overlap, as the demo's cameras take them) over a scenario whose placed
violations are all on the ground, through the demo's own camera code (``PatrolCameras._shoot``)
with the shipped weights. Every candidate the pipeline makes is either posted or dismissed, so
"post every candidate" (the baseline) and "post what the zoom confirms" come from one pass.

A candidate is true when a placed violation of its type lies within 5 m. Recall counts the
placed violations in some frame (covered) that have a true candidate.

Run: python tests/bench/bench_zoom_verify.py [--seeds 7 8] [--plot zoom.png]   (one JSON line)
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from shapely.geometry import Point

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.demo.camera import PatrolCameras
from api.demo.scenario import PATROL_ZONES, Scenario
from geofence.routing import to_local_geometry

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
TRUE_RADIUS_M = 5.0
ALT_M, LANE_M = 60.0, 80.0


def sweep(seed: int, zones: tuple[str, ...], detector) -> dict:
    sc = Scenario(seed=seed, duration_s=1800, zone_ids=zones, incidents=40, present_share=1.0)
    sc.start(lambda: 0.0)  # mission second 0: every placed violation is there
    frame = sc.town.frame
    drone = SimpleNamespace(state=None)
    every: list = []
    cams = PatrolCameras(sc, [("d1", drone)], now=lambda: NOW, patrol_alt_m=ALT_M,
                         post=lambda cs: every.extend(cs) or len(cs), detector=detector)
    t0 = time.perf_counter()
    for zid in zones:
        area = to_local_geometry(sc.town.zones.get(zid).geometry, frame).buffer(LANE_M / 2)
        e0, n0, e1, n1 = area.bounds
        for k, east in enumerate(np.arange(e0 + LANE_M / 2, e1, LANE_M)):
            norths = np.arange(n0, n1 + 1e-6, cams.spacing_m)
            for north in norths if k % 2 == 0 else norths[::-1]:
                if not area.contains(Point(east, north)):
                    continue
                lat, lon = frame.to_wgs84(east, north)
                drone.state = SimpleNamespace(mode="AUTO", alt_rel_m=ALT_M, lat=float(lat),
                                              lon=float(lon), east_m=float(east),
                                              north_m=float(north),
                                              heading_deg=0.0 if k % 2 == 0 else 180.0)
                cams._shoot("d1", drone.state)
    wall_s = time.perf_counter() - t0
    dismissed = list(cams.stats.dismissed.values())
    covered = {i.object_id for i in sc.incidents if i.object_id in cams.stats.first_seen_s}

    def truth(c) -> int | None:
        east, north = frame.to_local(c.lat, c.lon)
        near = [(math.hypot(i.east_m - east, i.north_m - north), i.object_id)
                for i in sc.incidents if i.type == c.type]
        d, oid = min(near, default=(math.inf, None))
        return oid if d <= TRUE_RADIUS_M else None

    def figures(cands) -> dict:
        hits = [truth(c) for c in cands]
        found = {h for h in hits if h is not None} & covered
        true = sum(h is not None for h in hits)
        return {"candidates": len(cands), "true": true, "false": len(cands) - true,
                "precision": round(true / len(cands), 3) if cands else None,
                "recall": round(len(found) / len(covered), 3) if covered else None}

    return {"seed": seed, "frames": cams.stats.frames, "covered": len(covered),
            "post_all": figures(every + dismissed), "zoom_verified": figures(every),
            "zoom_looks": cams.stats.verify_looks, "posted_sure": cams.stats.posted_sure,
            "camera_wall_s": round(wall_s, 1), "zoom_wall_s": round(cams.stats.verify_s, 1)}


def plot(runs: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    labels = [f"seed {r['seed']}" for r in runs]
    x = np.arange(len(runs))
    for ax, key in zip(axes, ("precision", "recall"), strict=True):
        for j, (mode, colour) in enumerate((("post_all", "#bbbbbb"), ("zoom_verified", "#2a7ab9"))):
            ax.bar(x + (j - 0.5) * 0.38, [r[mode][key] or 0 for r in runs], 0.38,
                   label="every candidate" if mode == "post_all" else "zoom-verified",
                   color=colour)
        ax.set_xticks(x, labels)
        ax.set_ylim(0, 1)
        ax.set_title(f"candidate {key}")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("demo patrol cameras: posting every candidate vs after a 2x zoom look")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    ap.add_argument("--zones", type=int, default=5, help="the first N of the demo's patrol zones")
    ap.add_argument("--plot", default=None, help="write precision/recall bars to this PNG")
    args = ap.parse_args()
    from detection.model import Detector

    detector = Detector()
    runs = []
    for seed in args.seeds:
        runs.append(sweep(seed, PATROL_ZONES[:args.zones], detector))
        print(f"seed {seed}: {runs[-1]}", file=sys.stderr)
    if args.plot:
        plot(runs, args.plot)
    total = {mode: {k: sum(r[mode][k] for r in runs) for k in ("candidates", "true", "false")}
             for mode in ("post_all", "zoom_verified")}
    for t in total.values():
        t["precision"] = round(t["true"] / t["candidates"], 3) if t["candidates"] else None
    print(json.dumps({"bench": "zoom_verify", "machine": platform.machine(), "runs": runs,
                      "total": total,
                      "false_kept_ratio": round(total["zoom_verified"]["false"]
                                                / max(1, total["post_all"]["false"]), 3),
                      "true_kept_ratio": round(total["zoom_verified"]["true"]
                                               / max(1, total["post_all"]["true"]), 3)}))


if __name__ == "__main__":
    main()
