"""Detection figures, one JSON line: mAP on the held-out test split (and AP50 by object size),
event-level recall/precision and georeference error on a rendered patrol, pipeline throughput
against bare predict, PyTorch against ONNX Runtime. Run: python tests/bench/bench_detection.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

from detection.cli import run_detect
from detection.model import DEFAULT_WEIGHTS, INFER_IMGSZ, Detector
from detection.pipeline import Pipeline
from detection.sources import open_source
from detection.telemetry import read_telemetry
from simulators.camera import DroneCamera
from simulators.camera.dataset import DEFAULT_SPLITS, SplitSpec, export_yolo
from simulators.camera.geometry import Intrinsics
from simulators.camera.patrol import PatrolPlan, clip_files, write_clip
from simulators.town.sample import sample_world


def test_map(tmp: Path, images: int, weights: Path = DEFAULT_WEIGHTS,
             imgsz: int = INFER_IMGSZ, camera: Intrinsics | None = None) -> dict:
    """mAP50 / mAP50-95 (and AP50 per class) of ``weights`` (.pt, and the .onnx beside it) on a
    freshly rendered test split (towns 301, 302) seen by ``camera`` (default: 1280x960)."""
    from ultralytics import YOLO

    spec = DEFAULT_SPLITS["test"]
    data = export_yolo(tmp / "ds", {"test": SplitSpec(spec.town_seeds, images, spec.seed)},
                       intrinsics=camera)
    # ultralytics insists on train and val keys; only the test split is evaluated
    data.write_text(data.read_text() + "train: images/test\nval: images/test\n")
    out = {}
    for name, w in (("pt", weights), ("onnx", weights.with_suffix(".onnx"))):
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout to the one JSON line
            m = YOLO(str(w), task="detect").val(data=str(data), split="test", imgsz=imgsz,
                                                       batch=1, device="cpu", plots=False,
                                                       verbose=False, project=str(tmp / "val"))
        out[f"map50_{name}"] = round(float(m.box.map50), 4)
        out[f"map50_95_{name}"] = round(float(m.box.map), 4)
        if name == "pt":
            out["ap50_by_class_pt"] = {m.names[int(c)]: round(float(m.box.ap50[i]), 4)
                                       for i, c in enumerate(m.box.ap_class_index)}
    out["ap50_by_size_pt"] = by_size(data.parent, weights, imgsz)
    out["test_images"] = images
    return out


def by_size(ds: Path, weights: Path, imgsz: int = INFER_IMGSZ) -> dict:
    """AP50 by object size (sqrt of box area, px) on the same test images: the validator's
    settings (conf 0.001, NMS IoU 0.7, ``imgsz``), scored by COCO's evaluator per size range."""
    import cv2
    from ultralytics import YOLO

    from detection.evaluate import ImageBoxes, ap50_by_size

    model = YOLO(str(weights), task="detect")
    truth, dets = [], []
    for image in sorted((ds / "images" / "test").glob("*.jpg")):
        bgr = cv2.imread(str(image))
        h, w = bgr.shape[:2]
        text = (ds / "labels" / "test" / f"{image.stem}.txt").read_text()
        rows = np.array(text.split(), float).reshape(-1, 5)  # a frame may hold no violation
        cx, cy, bw, bh = rows[:, 1] * w, rows[:, 2] * h, rows[:, 3] * w, rows[:, 4] * h
        truth.append(ImageBoxes(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2],
                                         axis=1), rows[:, 0].astype(int)))
        r = model.predict(bgr, imgsz=imgsz, conf=0.001, iou=0.7, max_det=300, device="cpu",
                          verbose=False)[0].boxes
        dets.append(ImageBoxes(r.xyxy.numpy(), r.cls.numpy().astype(int), r.conf.numpy()))
    return ap50_by_size(truth, dets, list(model.names.values()))


def distance_m(lat0, lon0, lat1, lon1) -> float:
    return math.hypot((lat1 - lat0) * 111_195.0,
                      (lon1 - lon0) * 111_195.0 * math.cos(math.radians(lat0)))


#: The benchmark patrol's seed, and the two tuning patrols elsewhere in the sample town (240 m
#: squares, centres in east/north m) on which thresholds and filters were judged, never on it.
BENCH_SEED = 11
TUNING_PATROLS = {21: (915.4, -1022.6), 22: (-100.7, -537.7)}
#: Patrols never used for a choice: seed 31 was first flown after stage 10 was shipped, seed 41
#: after stage 11 was trained (stage 11 was chosen on the benchmark and tuning patrols alone).
#: Each is the densest 240 m square (violations counted as for the benchmark's) clear of the
#: patrols before it.
FRESH_PATROLS = {31: (36.90198703940541, -1025.2965958253064),
                 41: (638.3893967097279, 58.42435448104115)}


def render_patrol(tmp: Path, size_m: float, centre: tuple[float, float] | None = None,
                  seed: int = BENCH_SEED, camera: Intrinsics | None = None,
                  reuse: bool = False) -> dict:
    """A rendered patrol clip at 60 m, 2 frames/s, with its truth (``write_clip``'s paths),
    written as ``tmp/patrol-<seed>``; with ``reuse``, a finished clip already there is taken as
    it is (the caller keeps one folder per size and camera).

    The square is centred on ``centre`` (east, north m) or, by default, on the violation with
    the most others within it; ``seed`` draws the clip's moving traffic and noise.
    """
    stem = tmp / f"patrol-{seed}"
    if reuse and all(p.is_file() for p in clip_files(stem).values()):
        return clip_files(stem)
    world = sample_world()
    pts = np.array([(g.east_m, g.north_m) for g in world.violations()])
    half = size_m / 2
    if centre is None:
        counts = [np.sum((np.abs(pts[:, 0] - e) < half) & (np.abs(pts[:, 1] - n) < half))
                  for e, n in pts[::5]]
        centre = tuple(pts[::5][int(np.argmax(counts))])
    e, n = centre
    plan = PatrolPlan(e - half, n - half, e + half, n + half, alt_rel_m=60.0, fps=2.0)
    return write_clip(DroneCamera(world, camera), plan, stem, seed=seed)


def event_rates(found: int, truth: int, true_candidates: int, candidates: int) -> dict:
    """Event recall (violations found of those there) and precision (candidates that were one)."""
    return {"event_recall": round(found / max(1, truth), 3),
            "event_precision": round(true_candidates / max(1, candidates), 3)}


def score_patrol(paths: dict, detector: Detector, tiling: str = "auto") -> dict:
    """Event-level recall, precision and georeference error of ``detector`` on a rendered patrol:
    candidates matched one-to-one to the truth, same type, within 10 m, nearest first
    (``tiling`` as ``flyonce detect --tiling``; at 60 m auto tiles nothing)."""
    truth = json.loads(paths["truth"].read_text())["violations"]
    cands, stats = run_detect(paths["video"], detector=detector, rate_hz=2.0, tiling=tiling)
    pairs = sorted((distance_m(t["lat"], t["lon"], c.lat, c.lon), i, j)
                   for i, t in enumerate(truth) for j, c in enumerate(cands)
                   if c.type == t["type"])
    used_t, used_c, errors = set(), set(), []
    for d, i, j in pairs:
        if d <= 10.0 and i not in used_t and j not in used_c:
            used_t.add(i)
            used_c.add(j)
            errors.append(d)
    return {
        "patrol_frames": stats["frames_used"], "frames_tiled": stats["frames_tiled"],
        "true_violations": len(truth),
        "candidates": len(cands), "found": len(used_t), "true_candidates": len(used_c),
        **event_rates(len(used_t), len(truth), len(used_c), len(cands)),
        "georef_median_m": round(float(np.median(errors)), 2) if errors else None,
        "georef_p90_m": round(float(np.percentile(errors, 90)), 2) if errors else None,
    }


def patrol(tmp: Path, size_m: float, detector: Detector, centre: tuple[float, float] | None = None,
           seed: int = BENCH_SEED, camera: Intrinsics | None = None) -> tuple[dict, Path]:
    """``score_patrol`` on a freshly rendered patrol (``render_patrol``), and its paths."""
    paths = render_patrol(tmp, size_m, centre, seed, camera)
    return score_patrol(paths, detector), paths


def throughput(paths: dict, frames_n: int, rounds: int = 3,
               weights: Path = DEFAULT_WEIGHTS, imgsz: int = INFER_IMGSZ) -> dict:
    """Frames/s: bare ultralytics predict vs the whole pipeline (track, georef, merge), and
    PyTorch vs ONNX Runtime for bare predict, on the same decoded frames. The CPU is shared, so
    the methods take turns for ``rounds`` rounds and each keeps its best round."""
    from ultralytics import YOLO

    from geofence.frame import LocalFrame

    frames = list(open_source(paths["video"]))[:frames_n]
    poses = read_telemetry(paths["srt"])
    p0 = poses.samples[0].pose
    bare = {name: YOLO(str(w), task="detect") for name, w in
            (("pt", weights), ("onnx", weights.with_suffix(".onnx")))}
    det = Detector(weights, imgsz=imgsz)
    for m in bare.values():  # warm up
        m.predict(frames[0].image_bgr, imgsz=imgsz, device="cpu", verbose=False)
    det.predict([frames[0].image_bgr])
    # ultralytics' select_device leaves torch min(8, cores - 1) threads (one on a 2-core
    # machine) while ONNX Runtime takes every core: say so beside the two figures
    import onnxruntime
    import torch

    threads = {"torch_threads_pt": torch.get_num_threads(),
               "onnxruntime_threads": onnxruntime.SessionOptions().intra_op_num_threads
               or os.cpu_count()}
    best = {"bare_pt": math.inf, "bare_onnx": math.inf, "pipeline_pt": math.inf}
    for _ in range(rounds):
        for name, m in bare.items():
            t = time.perf_counter()
            for f in frames:
                m.predict(f.image_bgr, imgsz=imgsz, conf=0.25, iou=0.5, device="cpu",
                          verbose=False)
            best[f"bare_{name}"] = min(best[f"bare_{name}"], time.perf_counter() - t)
        det.reset_tracker()
        pipe = Pipeline(det, LocalFrame(p0.lat, p0.lon), source="bench", drone_id="bench")
        t = time.perf_counter()
        pipe.run(frames, poses)
        best["pipeline_pt"] = min(best["pipeline_pt"], time.perf_counter() - t)
    fps = {k: len(frames) / v for k, v in best.items()}
    return {"frames": len(frames), "rounds": rounds, **threads,
            "bare_predict_fps_pt": round(fps["bare_pt"], 2),
            "bare_predict_fps_onnx": round(fps["bare_onnx"], 2),
            "pipeline_fps_pt": round(fps["pipeline_pt"], 2),
            "pipeline_overhead_pct": round(100 * (fps["bare_pt"] / fps["pipeline_pt"] - 1), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer images and a smaller patrol")
    ap.add_argument("--test-images", type=int, default=None, help="held-out frames (150)")
    ap.add_argument("--patrol-m", type=float, default=None, help="patrol square side (300)")
    ap.add_argument("--frames", type=int, default=None, help="frames for throughput (80)")
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                    help="a .pt with its .onnx beside it (default: the shipped weights), e.g. an "
                         "earlier commit's, to compare on the same machine")
    ap.add_argument("--imgsz", type=int, default=INFER_IMGSZ,
                    help=f"PyTorch input size, long side ({INFER_IMGSZ}, the pipeline's); the "
                         "ONNX file runs at the shape it was exported at")
    ap.add_argument("--camera", default=None, metavar="WxH",
                    help="render the test frames and the patrol at this size (default 1280x960, "
                         "the simulator's camera; 640x480 with --imgsz 832 is how the weights "
                         "before stage 9 were measured)")
    args = ap.parse_args()
    camera = Intrinsics()
    if args.camera:
        try:
            w, h = (int(v) for v in args.camera.lower().split("x"))
        except ValueError:
            sys.exit(f"error: --camera {args.camera!r} is not WIDTHxHEIGHT, e.g. 640x480")
        camera = Intrinsics(w, h)
    weights = args.weights.resolve()
    if not weights.is_file() or not weights.with_suffix(".onnx").is_file():
        sys.exit(f"error: {weights} and {weights.with_suffix('.onnx')} must both exist "
                 "(detection.train.ship writes both)")
    test_images = args.test_images or (40 if args.quick else 150)
    patrol_m = args.patrol_m or (160.0 if args.quick else 300.0)
    frames_n = args.frames or (30 if args.quick else 80)
    import torch
    from ultralytics.utils import LOGGER

    for handler in LOGGER.handlers:  # ultralytics logs to stdout; stdout is the JSON line's
        if hasattr(handler, "setStream"):
            handler.setStream(sys.stderr)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        figures = {"weights": str(weights.relative_to(ROOT)) if weights.is_relative_to(ROOT)
                   else str(weights), "cpu_threads": torch.get_num_threads(), "imgsz": args.imgsz,
                   "camera_wh": [camera.width_px, camera.height_px]}
        figures.update(test_map(tmp, test_images, weights, args.imgsz, camera))
        det = Detector(weights, imgsz=args.imgsz)
        pf, paths = patrol(tmp, patrol_m, det, camera=camera)
        figures.update(pf)
        figures.update(throughput(paths, frames_n, weights=weights, imgsz=args.imgsz))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
