"""Leave-one-style-out figures, one JSON line: recall and precision per frame (IoU 0.3, the
pipeline's confidence 0.25, imgsz 1280) by class and by object size, on fresh test frames of
each scene style (town, bazaar, dusk), for

- the shipped weights on every style (the baseline: they saw only ``town``),
- each leave-one-style-out model on the style it never saw (``--loso STYLE=WEIGHTS``), and
  the same trained with the training-only ``varied`` style added (``--loso-varied``),
- any other weights on every style (``--also NAME=WEIGHTS``, e.g. a model of all three),
- any other left-out model under a label of its own (``--cell LABEL:STYLE=WEIGHTS``, e.g. the
  same cell trained on an earlier drawing of the varied style, as a baseline in the same run),

and PyTorch against ONNX Runtime frames/s of the shipped weights on the same frames.

    python tests/bench/bench_detection_styles.py                      # shipped only, 12 frames
    python tests/bench/bench_detection_styles.py --frames 60 \\
        --loso town=var/loso/no-town/run/weights/best.pt \\
        --loso bazaar=var/loso/no-bazaar/run/weights/best.pt \\
        --loso dusk=var/loso/no-dusk/run/weights/best.pt --plot styles.png

Training the LOSO models is a separate command (the model card's "Across scene styles").
Tiled inference is scored too with ``--tiled`` (``detection.tiles``, every frame tiled): the hook is
``tiled_predict`` below.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2

from detection.loso import Tally, read_split
from detection.model import DEFAULT_WEIGHTS, Detector
from simulators.camera.dataset import DEFAULT_SPLITS, SplitSpec, export_yolo
from simulators.styles import STYLE_SPLITS, STYLES, export_style_yolo
from simulators.town import VIOLATION_CLASSES


def render_tests(root: Path, frames: int, workers: int = 2) -> dict[str, Path]:
    """``frames`` whole test frames of each style (town: towns 301-302; bazaar and dusk: seeds
    3,000,000 on), rendered once into ``root/<style>`` (bazaar and dusk in ``workers``
    processes) and reused when already there."""
    out = {}
    for style in STYLES:
        ds = root / style
        have = len(list((ds / "images" / "test").glob("*.jpg")))
        if have != frames:
            if style == "town":
                t = DEFAULT_SPLITS["test"]
                export_yolo(ds, {"test": SplitSpec(t.town_seeds, frames, t.seed)})
            else:
                export_style_yolo(ds, style, {"test": STYLE_SPLITS["test"].__class__(
                    frames, STYLE_SPLITS["test"].first_seed)}, workers=workers)
        out[style] = ds
    return out


def tiled_predict():
    """Tiled (sliced) inference, ``detection.tiles``: the style frames carry no pose, so every
    frame is tiled ("on") as if seen nadir from the styles' highest altitude, 90 m."""
    from detection.georef import CameraModel
    from detection.tiles import gsd_m_per_px, plan_tiles

    camera = CameraModel()

    def predict(detector: Detector, bgr):  # noqa: ANN001, ANN202
        h, w = bgr.shape[:2]
        plan = plan_tiles(gsd_m_per_px(camera, 90.0, -90.0, w, h), (w, h), detector.imgsz,
                          force=True)
        return detector.predict_tiled([bgr], [plan])[0]

    return predict


def score(detector: Detector, ds: Path, predict=None, hits: list | None = None) -> dict:
    """Recall and precision of ``detector`` on a style's test frames, by class and size; with
    ``hits``, each true object's (class id, found) appended to it, in the frames' order."""
    tally = Tally(VIOLATION_CLASSES)
    for image, truth_xyxy, truth_cls in read_split(ds):
        bgr = cv2.imread(str(image))
        d = predict(detector, bgr) if predict else detector.predict([bgr])[0]
        found = tally.add(truth_xyxy, truth_cls, d.xyxy, d.class_id, d.confidence)
        if hits is not None:
            hits += [(int(c), bool(f)) for c, f in zip(truth_cls, found, strict=True)]
    return tally.summary()


def paired(a: list, b: list, names: tuple[str, str] = ("a", "b")) -> dict:
    """Two models' hits on the same objects, by class: how many only ``a`` found, how many
    only ``b`` (``only_<name>``), and the exact McNemar p-value (a two-sided binomial test on
    those two counts: the chance of a split at least that uneven if neither model were better).
    """
    from scipy.stats import binomtest

    out = {}
    for k, name in enumerate(VIOLATION_CLASSES):
        pairs = [(fa, fb) for (ca, fa), (_, fb) in zip(a, b, strict=True) if ca == k]
        only_a = sum(fa and not fb for fa, fb in pairs)
        only_b = sum(fb and not fa for fa, fb in pairs)
        p = binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
        out[name] = {f"only_{names[0]}": only_a, f"only_{names[1]}": only_b,
                     "mcnemar_p": round(float(p), 4)}
    return out


def frames_per_s(weights: Path, images: list, rounds: int = 2) -> dict:
    """Bare predict frames/s of the .pt and of the .onnx beside it, best of ``rounds`` taken in
    turns, on the same frames."""
    dets = {"pytorch": Detector(weights), "onnxruntime": Detector(weights.with_suffix(".onnx"))}
    for d in dets.values():  # warm up
        d.predict(images[:1])
    best = {k: float("inf") for k in dets}
    for _ in range(rounds):
        for name, d in dets.items():
            t = time.perf_counter()
            for im in images:
                d.predict([im])
            best[name] = min(best[name], time.perf_counter() - t)
    return {f"{k}_fps": round(len(images) / v, 2) for k, v in best.items()} | {
        "fps_frames": len(images)}


def compact(summary: dict) -> str:
    return " ".join(f"{c[:5]} R{v['recall']} P{v['precision']}" for c, v in summary.items())


def plot(result: dict, out_png: Path) -> Path:
    """Recall and precision by left-out style and class: the shipped weights beside each
    leave-one-style-out model (and any --also model), the 0.85 target drawn across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [("shipped (town only)", result["shipped"])]
    for key, name in (("loso", "left out (trained on the other two)"),
                      ("loso_varied", "left out (the other two + varied, in 3-D)")):
        if result.get(key):
            rows.append((name, {s: v["scores"] for s, v in result[key].items()}))
    for name, per_style in result.get("cells", {}).items():
        rows.append((name, {s: v["scores"] for s, v in per_style.items()}))
    for name, per_style in result.get("also", {}).items():
        rows.append((name, per_style))
    cols = [(s, c) for s in STYLES for c in VIOLATION_CLASSES]
    fig, axes = plt.subplots(1, 2, figsize=(10, 1.2 + 0.6 * len(rows)), dpi=90)
    for ax, metric in zip(axes, ("recall", "precision")):
        m = np.full((len(rows), len(cols)), np.nan)
        for i, (_, per_style) in enumerate(rows):
            for j, (s, c) in enumerate(cols):
                v = per_style.get(s, {}).get(c, {}).get(metric)
                if v is not None:
                    m[i, j] = v
        ax.imshow(m, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
        for i in range(len(rows)):
            for j in range(len(cols)):
                if not np.isnan(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=8,
                            fontweight="bold" if m[i, j] >= 0.85 else "normal")
        ax.set_xticks(range(len(cols)), [f"{s}\n{'stall' if c == 'street_stall' else 'fuel'}"
                                         for s, c in cols], fontsize=7)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows] if metric == "recall" else [],
                      fontsize=7)
        ax.set_title(f"{metric} (IoU 0.3, conf 0.25; target 0.85)", fontsize=9)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=12, help="test frames per style")
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                    help="the baseline: scored on every style, and timed on PyTorch and ONNX")
    ap.add_argument("--loso", action="append", default=[],
                    help="STYLE=WEIGHTS: the model that left STYLE out (scored on STYLE only)")
    ap.add_argument("--loso-varied", action="append", default=[],
                    help="STYLE=WEIGHTS: the model that left STYLE out and trained on the other "
                         "two plus the training-only varied style (scored on STYLE only)")
    ap.add_argument("--also", action="append", default=[],
                    help="NAME=WEIGHTS: other weights to score on every style")
    ap.add_argument("--cell", action="append", default=[],
                    help="LABEL:STYLE=WEIGHTS: another model that left STYLE out, scored on "
                         "STYLE only and shown under LABEL")
    ap.add_argument("--cache", type=Path, help="keep the rendered test frames here")
    ap.add_argument("--plot", type=Path, help="write the matrix plot to this PNG")
    ap.add_argument("--tiled", action="store_true",
                    help="also score tiled inference (needs detection/tiles.py)")
    ap.add_argument("--fps-frames", type=int, default=8)
    args = ap.parse_args()

    def pairs(items):
        out = {}
        for item in items:
            key, sep, path = item.partition("=")
            if not sep or not Path(path).is_file():
                sys.exit(f"{item!r}: give KEY=WEIGHTS with an existing weights file")
            out[key] = Path(path)
        return out

    loso, also, loso_v = pairs(args.loso), pairs(args.also), pairs(args.loso_varied)
    labelled: dict[str, dict[str, Path]] = {}
    for key, path in pairs(args.cell).items():
        label, sep, style = key.rpartition(":")
        if not sep or not label:
            sys.exit(f"--cell {key!r}: give LABEL:STYLE=WEIGHTS")
        labelled.setdefault(label, {})[style] = path
    bad = sorted((set(loso) | set(loso_v) | {s for c in labelled.values() for s in c})
                 - set(STYLES))
    if bad:
        sys.exit(f"--loso, --loso-varied, --cell {bad}: the styles are {', '.join(STYLES)}")
    with contextlib.ExitStack() as stack:
        root = args.cache or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        # stdout is the one JSON line: ultralytics and ONNX Runtime talk on stderr
        stack.enter_context(contextlib.redirect_stdout(sys.stderr))
        t0 = time.perf_counter()
        sets = render_tests(root, args.frames)
        render_s = time.perf_counter() - t0
        result: dict = {"frames_per_style": args.frames, "iou": 0.3, "conf": 0.25,
                        "imgsz": 1280, "render_s": round(render_s, 1)}
        base = Detector(args.weights)
        result["shipped"] = {s: score(base, ds) for s, ds in sets.items()}

        hits: dict = {}  # (cell kind, style) -> each true object's (class id, found)

        def cells(weights_by_style: dict, extra: list[str] | None, kind: str) -> dict:
            """Each left-out model scored on the style it left out (what it trained on: the
            other styles and ``extra``; for a labelled cell, its label says)."""
            out = {s: {"weights": str(w),
                       "scores": score(Detector(w), sets[s], hits=hits.setdefault((kind, s), []))}
                   for s, w in weights_by_style.items()}
            if extra is not None:
                for s, cell in out.items():
                    cell["trained_on"] = [x for x in STYLES if x != s] + extra
            return out

        result["loso"] = cells(loso, [], "loso")
        result["loso_varied"] = cells(loso_v, ["varied"], "loso_varied")
        result["cells"] = {label: cells(by_style, None, label)
                           for label, by_style in labelled.items()}
        # a labelled cell is a baseline for the --loso-varied model of its style: object by
        # object, which of the two found what
        for label, by_style in result["cells"].items():
            for s, cell in by_style.items():
                if s in result["loso_varied"]:
                    cell["paired_with_loso_varied"] = paired(
                        hits[("loso_varied", s)], hits[(label, s)], ("loso_varied", "this"))
        result["also"] = {n: {s: score(Detector(w), ds) for s, ds in sets.items()}
                          for n, w in also.items()}
        if args.tiled:
            tiled = tiled_predict()
            result["tiled"] = {s: score(base, ds, tiled) for s, ds in sets.items()}
        images = [cv2.imread(str(p)) for s in STYLES
                  for p, _, _ in read_split(sets[s])[: max(1, args.fps_frames // 3)]]
        result |= frames_per_s(args.weights, images)
        if args.plot:
            result["plot"] = str(plot(result, args.plot))
        for s in STYLES:  # a readable digest on stderr; the JSON line is the record
            line = f"{s:7s} shipped: {compact(result['shipped'][s])}"
            for key, name in (("loso", "left out"), ("loso_varied", "left out, + varied")):
                if s in result[key]:
                    line += f" | {name}: {compact(result[key][s]['scores'])}"
            for label, by_style in result["cells"].items():
                if s in by_style:
                    line += f" | {label}: {compact(by_style[s]['scores'])}"
            print(line, file=sys.stderr)
    print(json.dumps(result))  # after the redirect has ended


if __name__ == "__main__":
    main()
