"""Tiled against untiled inference at altitude, one JSON line: recall by object size, precision,
and frames/s, on frames rendered at 60-120 m (by default) where stalls are 11-40 px.

Run: python tests/bench/bench_detection_tiling.py [--frames 60] [--altitudes 60,75,90,105,120]
[--plot tiling.png]

Every frame is run every way in turn (so a busy shared CPU slows all of them alike): "off" is the
untiled baseline (the frame at ``INFER_IMGSZ``), "auto" tiles by the pose's ground sampling
distance as ``flyonce detect`` does, "on" tiles every frame. A true box is found by a detection
of its class at IoU 0.3 or more, one to one, most overlapping first; size is the square root of
the box's area in frame pixels.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))
os.environ.setdefault("YOLO_OFFLINE", "1")

from detection.georef import CameraModel
from detection.model import DEFAULT_WEIGHTS, Detector
from detection.tiles import TARGET_OBJECT_PX, gsd_m_per_px, plan_tiles

#: Upper edges of the size bins, px (sqrt of box area); the last bin is open.
SIZE_EDGES_PX = (12.0, 20.0, 30.0, 40.0)
MATCH_IOU = 0.3
#: The test towns (never trained on) and the altitudes flown.
TOWNS = (301, 302)
ALTITUDES_M = (60.0, 75.0, 90.0, 105.0, 120.0)


@dataclass(frozen=True)
class Sample:
    """One frame with its pose and truth: ``truth_xyxy`` (K, 4) px, ``truth_class`` (K,)."""

    image_bgr: np.ndarray
    alt_rel_m: float
    gimbal_pitch_deg: float
    truth_xyxy: np.ndarray
    truth_class: np.ndarray


def size_bin(size_px: float, edges: Sequence[float] = SIZE_EDGES_PX) -> str:
    """The name of ``size_px``'s bin: "<12", "12-20", "20-30", "30-40", ">=40" for the default
    edges."""
    for i, e in enumerate(edges):
        if size_px < e:
            return f"<{e:g}" if i == 0 else f"{edges[i - 1]:g}-{e:g}"
    return f">={edges[-1]:g}"


def bin_names(edges: Sequence[float] = SIZE_EDGES_PX) -> list[str]:
    return [size_bin(e - 1e-9, edges) for e in edges] + [size_bin(edges[-1], edges)]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of two sets of xyxy boxes."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def match(truth_xyxy, truth_class, det_xyxy, det_class, min_iou: float = MATCH_IOU):
    """(found (K,) bool over the truth, true (N,) bool over the detections): one-to-one, same
    class, IoU >= ``min_iou``, most overlapping pairs first."""
    found = np.zeros(len(truth_xyxy), bool)
    true = np.zeros(len(det_xyxy), bool)
    if len(truth_xyxy) and len(det_xyxy):
        iou = iou_matrix(np.asarray(truth_xyxy, float), np.asarray(det_xyxy, float))
        iou[np.asarray(truth_class)[:, None] != np.asarray(det_class)[None, :]] = 0
        for k in np.argsort(-iou, axis=None):
            i, j = np.unravel_index(k, iou.shape)
            if iou[i, j] < min_iou:
                break
            if not found[i] and not true[j]:
                found[i] = true[j] = True
    return found, true


def render_samples(frames: int, altitudes: Sequence[float] = ALTITUDES_M,
                   towns: Sequence[int] = TOWNS, seed: int = 5) -> list[Sample]:
    """``frames`` frames of the test towns, the altitudes in turn, each a nadir-ish view
    (pitch -90 to -80) aimed near a random violation, under a random look."""
    from simulators.camera import DroneCamera
    from simulators.camera.geometry import CameraPose
    from simulators.camera.randomise import Look
    from simulators.town import build_town

    cams = [DroneCamera(build_town(t, bounds_m=(-350.0, -350.0, 350.0, 350.0))) for t in towns]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(frames):
        cam = cams[i % len(cams)]
        alt = float(altitudes[(i // len(cams)) % len(altitudes)])
        targets = [o for o in cam.town.objects if o.label is not None]
        t = targets[int(rng.integers(len(targets)))]
        spread = 0.3 * alt
        pose = CameraPose(float(t.east_m + rng.uniform(-spread, spread)),
                          float(t.north_m + rng.uniform(-spread, spread)), alt,
                          float(rng.uniform(0, 360)), float(rng.uniform(-90, -80)))
        f = cam.render(pose, Look.sample(rng), rng)
        out.append(Sample(f.image_bgr, alt, pose.gimbal_pitch_deg,
                          np.array([b.xyxy for b in f.boxes], float).reshape(-1, 4),
                          np.array([b.class_id for b in f.boxes], int)))
    return out


def plan_for(sample: Sample, mode: str, imgsz: int, camera: CameraModel,
             target_px: float = TARGET_OBJECT_PX):
    """The tile plan ``flyonce detect --tiling mode`` would use for this frame (tiles enlarged
    to bring a 1.5 m stall to ``target_px``)."""
    if mode == "off":
        return None
    h, w = sample.image_bgr.shape[:2]
    gsd = gsd_m_per_px(camera, sample.alt_rel_m, sample.gimbal_pitch_deg, w, h)
    return plan_tiles(gsd, (w, h), imgsz, force=mode == "on", target_px=target_px)


def tiling_figures(samples: Sequence[Sample], detector: Detector,
                   modes: Sequence[str] = ("off", "auto"), camera: CameraModel | None = None,
                   edges: Sequence[float] = SIZE_EDGES_PX,
                   target_px: float = TARGET_OBJECT_PX) -> dict:
    """Per mode: recall by size bin (and the true boxes in each), recall and precision by
    class and overall, frames tiled, and frames/s of ``detector.predict_tiled``; every frame
    is run in each mode in turn, after one warm-up frame each."""
    camera = camera or CameraModel()
    names = bin_names(edges)
    classes = detector.names
    acc = {m: {"found": [], "size": [], "tcls": [], "true": [], "dcls": [], "s": 0.0,
               "tiled": 0} for m in modes}
    for m in modes:  # warm up each input shape
        detector.predict_tiled([samples[0].image_bgr],
                               [plan_for(samples[0], m, detector.imgsz, camera, target_px)])
    for s in samples:
        size = np.sqrt(np.prod(s.truth_xyxy[:, 2:] - s.truth_xyxy[:, :2], axis=1))
        for m in modes:
            plan = plan_for(s, m, detector.imgsz, camera, target_px)
            t = time.perf_counter()
            det = detector.predict_tiled([s.image_bgr], [plan])[0]
            a = acc[m]
            a["s"] += time.perf_counter() - t
            a["tiled"] += plan is not None
            found, true = match(s.truth_xyxy, s.truth_class, det.xyxy, det.class_id)
            a["found"].append(found)
            a["size"].append(size)
            a["tcls"].append(s.truth_class)
            a["true"].append(true)
            a["dcls"].append(det.class_id)
    out = {}
    for m, a in acc.items():
        found, size, tcls = (np.concatenate(a[k]) for k in ("found", "size", "tcls"))
        true, dcls = np.concatenate(a["true"]), np.concatenate(a["dcls"]).astype(int)
        bins = np.array([size_bin(v, edges) for v in size])
        rate = lambda hit, sel: round(float(hit[sel].mean()), 3) if sel.any() else None
        out[m] = {
            "recall_by_size": {b: rate(found, bins == b) for b in names},
            "recall": rate(found, np.ones(len(found), bool)),
            "precision": rate(true, np.ones(len(true), bool)),
            "recall_by_class": {c: rate(found, tcls == k) for k, c in enumerate(classes)},
            "precision_by_class": {c: rate(true, dcls == k) for k, c in enumerate(classes)},
            "detections": len(true),
            "frames_tiled": int(a["tiled"]),
            "frames_per_s": round(len(samples) / a["s"], 3),
        }
    out["truth_by_size"] = {b: int(np.sum([size_bin(v, edges) == b
                                           for v in np.concatenate(acc[modes[0]]["size"])]))
                            for b in names}
    out["frames"] = len(samples)
    return out


def by_altitude(samples: Sequence[Sample], detector: Detector, modes: Sequence[str],
                target_px: float = TARGET_OBJECT_PX) -> dict:
    """``tiling_figures``' overall recall and precision for each altitude's frames alone (the
    frames run again: the figures above keep their own timing)."""
    out = {}
    for alt in sorted({s.alt_rel_m for s in samples}):
        sub = [s for s in samples if s.alt_rel_m == alt]
        f = tiling_figures(sub, detector, modes, target_px=target_px)
        out[f"{alt:g}"] = {m: {"recall": f[m]["recall"], "precision": f[m]["precision"]}
                           for m in modes}
    return out


def patrol_figures(tmp: Path, detector: Detector, alt_m: float, size_m: float,
                   modes: Sequence[str], seed: int = 11) -> dict:
    """Event recall and precision (``bench_detection.score_patrol``: tracker, georeference and
    merger included) of one patrol flown at ``alt_m`` over the densest ``size_m`` square of the
    sample town, run once per tiling mode; one lane a footprint apart."""
    from bench_detection import score_patrol

    from simulators.camera import DroneCamera
    from simulators.camera.geometry import Intrinsics
    from simulators.camera.patrol import PatrolPlan, write_clip
    from simulators.town.sample import sample_world

    world = sample_world()
    pts = np.array([(g.east_m, g.north_m) for g in world.violations()])
    half = size_m / 2
    counts = [np.sum((np.abs(pts[:, 0] - e) < half) & (np.abs(pts[:, 1] - n) < half))
              for e, n in pts[::5]]
    e, n = pts[::5][int(np.argmax(counts))]
    intr = Intrinsics()
    swath_m = alt_m * intr.width_px / intr.focal_px
    plan = PatrolPlan(e - half, n - half, e + half, n + half, alt_rel_m=alt_m, fps=2.0,
                      lane_spacing_m=0.8 * swath_m)
    paths = write_clip(DroneCamera(world, intr), plan, tmp / f"patrol-{alt_m:g}", seed=seed)
    out = {}
    for m in modes:
        detector.reset_tracker()
        t = time.perf_counter()
        out[m] = score_patrol(paths, detector, tiling=m)
        out[m]["wall_s"] = round(time.perf_counter() - t, 1)
    return out


def plot(figures: dict, modes: Sequence[str], path: Path, title: str) -> None:
    """Recall by size bin, one bar per mode, with the true boxes per bin and frames/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(figures["truth_by_size"])
    x = np.arange(len(names))
    width = 0.8 / len(modes)
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, m in enumerate(modes):
        vals = [figures[m]["recall_by_size"][b] or 0.0 for b in names]
        ax.bar(x + (k - (len(modes) - 1) / 2) * width, vals, width,
               label=f"{m}: precision {figures[m]['precision']}, "
                     f"{figures[m]['frames_per_s']} frames/s")
    ax.set_xticks(x, [f"{b} px\n({figures['truth_by_size'][b]} boxes)" for b in names])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("recall (IoU 0.3)")
    ax.set_title(f"Tiled vs untiled inference, {figures['frames']} frames at {title}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--modes", default="off,auto,on")
    ap.add_argument("--altitudes", default=",".join(f"{a:g}" for a in ALTITUDES_M),
                    help="metres, flown in turn")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--target-px", type=float, default=TARGET_OBJECT_PX,
                    help="enlarge tiles to bring a 1.5 m stall to this many px")
    ap.add_argument("--per-altitude", action="store_true",
                    help="also recall and precision by altitude (runs the frames again)")
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--patrol-alt", type=float, default=None,
                    help="also fly a patrol at this altitude and score its events each way")
    ap.add_argument("--patrol-m", type=float, default=120.0, help="side of the patrol's square")
    args = ap.parse_args()
    modes = tuple(args.modes.split(","))
    t0 = time.perf_counter()
    altitudes = tuple(float(a) for a in args.altitudes.split(","))
    samples = render_samples(args.frames, altitudes, seed=args.seed)
    render_s = time.perf_counter() - t0
    detector = Detector(args.weights)
    figures = tiling_figures(samples, detector, modes, target_px=args.target_px)
    result = {"bench": "detection_tiling", "weights": args.weights.name,
              "backend": detector.backend, "imgsz": detector.imgsz,
              "altitudes_m": list(altitudes), "match_iou": MATCH_IOU, "seed": args.seed,
              "target_px": args.target_px,
              **figures, "render_s": round(render_s, 1)}
    if args.per_altitude:
        result["by_altitude"] = by_altitude(samples, detector, modes, args.target_px)
    if args.patrol_alt:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            result["patrol"] = {"alt_m": args.patrol_alt, "size_m": args.patrol_m,
                                **patrol_figures(Path(tmp), detector, args.patrol_alt,
                                                 args.patrol_m, [m for m in modes if m != "on"])}
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    if args.plot:
        plot(figures, modes, args.plot, f"{min(altitudes):g}-{max(altitudes):g} m")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
