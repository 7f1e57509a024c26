"""Leave-one-style-out on a lent GPU: render the styles, train one model per style left out,
score each on the style it never saw (issue 21).

On this project's 2-core CPU a cell gets 24 minutes and 7 epochs of 1,000 crops a style, and the
town cell, which must start from bare weights (the shipped ones saw the town), learns nothing in
that time (model card, "Across scene styles"). This is the run a lent GPU machine (16 cores, one
H100 or H200) should make instead, in one call of at most 10 minutes (after one that installs
its wheels, below):

1. render ``--frames`` train frames and ``--val-frames`` val frames of every style a cell trains
   on (town, bazaar, dusk and the training-only varied), cut into 320 px crops as ``flyonce
   dataset`` cuts them, in ``--render-workers`` processes; and ``--test-frames`` whole test
   frames of each left-out style (the bench's seeds: ``bench_detection_styles.render_tests``);
2. for each cell in ``--cells``: a data.yaml of every style but that one, plus ``--with``
   (``detection.loso.write_pair_yaml``), and ``detection.train.train`` for an equal share of the
   time left (ultralytics' time mode sets the epochs). Bazaar and dusk cells start from the
   shipped weights (trained on the town alone, which these cells train on too); the town cell
   starts from the bare architecture, since starting from weights that saw the town would score
   a style the model did see;
3. score each cell's ``best.pt`` on its left-out style's test frames with the bench's scorer
   (recall and precision per frame at IoU 0.3, by class and object size).

Sizing (not yet run on a device; worked out from this CPU's per-frame costs, one process each:
town 0.3 s, varied 1 s, dusk 1.6 s, bazaar 2.7 s, and stage 7's 800 crops/s of training on a
lent H200, where the data loader set the pace): 600 frames a style in 16 processes renders in
about 3.5 minutes with the test frames, leaving each of the three cells about 1.5 minutes,
some 20 epochs of its 3,600 crops (the CPU cells had 7 of 2,100). ``--budget-s`` keeps the
whole within one call; a cell that would not fit is skipped and the log says so.

The device image holds torch, torchvision, OpenCV, scikit-image, SciPy and matplotlib but not
ultralytics (with ultralytics-thop, ultralytics-platform and polars), shapely or av (PyAV: dusk's
H.264 artefacts). They travel as wheels (device README), but not in one call: with this
repository's 22 MB, polars (33 MB for 1.20, the last single-wheel release; 2.x is 55 MB) and av
(36 MB) together pass the 64 MiB a call may carry. So two calls on the same warm machine (it
keeps ignored folders between calls): the first installs the wheels into ``.site``, the second
installs av beside them and runs. The wheels are put in place here once, as the device
README's "a Python package missing there" note says (``.whl`` and ``.whl-av`` in
.git/info/exclude): ultralytics 8.4.190, ultralytics-thop 2.2.3, ultralytics-platform 0.1.99,
polars 1.20.0 and shapely 2.2.0 in ``.whl``; av 18.1.0 in ``.whl-av``. Then, on the device:

    run(carry=[".whl"], timeout_s=120): python3 -m pip install -q --no-index --no-deps --target .site .whl/*.whl
    run(carry=[".whl-av"], timeout_s=600): python3 -m pip install -q --no-index --no-deps --target .site \\
        .whl-av/*.whl && PYTHONPATH=.site PYTHONUNBUFFERED=1 python3 docs/gpu/loso.py --out $OUT

(The versions are this venv's, polars excepted: ultralytics asks only for polars >= 0.20.)

Everything for the caller goes to ``--out``: ``log.txt``, ``<cell>.pt`` (each cell's best) and
``result.json`` (the matrix), and the last line printed is that JSON. It calls Python functions,
not ``flyonce``, because the device machine holds only what the detector needs. No weights
come from anywhere but the repository: the bazaar and dusk cells start from the committed
``detection/weights/flyonce-yolo.pt``, the town cell from ultralytics' bundled architecture file.

    python docs/gpu/loso.py --out $OUT                                # on the device, defaults
    python docs/gpu/loso.py --out /tmp/l --device cpu --precision fp32 --frames 4 --val-frames 2 \\
        --test-frames 2 --cells dusk --batch 4 --loader-workers 0 --render-workers 2 --cell-s 10
        # a tiny run anywhere (tests/detection/test_gpu_loso.py runs one)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from runlog import RunLog  # docs/gpu, beside this script

os.environ.setdefault("YOLO_OFFLINE", "1")

#: seeds and towns of the train and val splits: the defaults of ``flyonce dataset`` (train towns
#: 101 on, val town 201; style seeds 1,000,000 and 2,000,000 on), never the test seeds
TOWN_VAL = (201,)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    from detection.loso import STYLES, TRAINING_STYLES
    from detection.model import DEFAULT_WEIGHTS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/loso"))
    ap.add_argument("--cells", nargs="+", choices=STYLES, default=list(STYLES),
                    help="the styles to leave out, one model each")
    ap.add_argument("--with", dest="extra", nargs="*", choices=TRAINING_STYLES,
                    default=list(TRAINING_STYLES), help="training-only styles every cell adds")
    ap.add_argument("--frames", type=int, default=600, help="train frames a style (2 crops each)")
    ap.add_argument("--val-frames", type=int, default=60)
    ap.add_argument("--test-frames", type=int, default=40, help="whole test frames a left-out style")
    ap.add_argument("--towns", type=int, default=16, help="towns the town style's train frames span")
    ap.add_argument("--render-workers", type=int, default=16)
    ap.add_argument("--device", default="0")
    ap.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr0", type=float, default=0.0004)
    ap.add_argument("--loader-workers", type=int, default=14)
    ap.add_argument("--epochs", type=int, default=100,
                    help="nominal: each cell's time share re-sets it (ultralytics' time mode)")
    ap.add_argument("--budget-s", type=float, default=540.0,
                    help="wall s for the whole script: the device call's limit less a margin")
    ap.add_argument("--score-s", type=float, default=25.0,
                    help="wall s kept back a cell for its final validation and scoring")
    ap.add_argument("--cell-s", type=float, default=None,
                    help="training wall s a cell (default: an equal share of what is left)")
    ap.add_argument("--init-weights", type=Path, default=DEFAULT_WEIGHTS,
                    help="where bazaar and dusk cells start (the town cell starts bare)")
    args = ap.parse_args(argv)
    if min(args.frames, args.val_frames, args.test_frames) < 1:
        ap.error("--frames, --val-frames and --test-frames must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    run_log = RunLog(args.out)
    say, t0 = run_log.say, run_log.t0

    from bench_detection_styles import render_tests, score

    from detection.loso import STYLES, write_pair_yaml
    from detection.model import Detector
    from detection.train import TrainSettings, train
    from simulators.camera.dataset import SplitSpec, export_yolo, large_train_split
    from simulators.styles import STYLE_SPLITS, StyleSplit, export_style_yolo

    styles_root = args.work / "styles"
    needed = sorted({s for c in args.cells for s in STYLES if s != c} | set(args.extra))
    progress = run_log.progress

    for style in needed:
        say(f"rendering {style}")
        ds = styles_root / style
        if style == "town":
            towns = min(args.towns, args.frames)
            export_yolo(ds, {"train": large_train_split(args.frames, towns),
                             "val": SplitSpec(TOWN_VAL, args.val_frames, 2, crop_px=320)},
                        progress=progress, workers=args.render_workers)
        else:
            export_style_yolo(ds, style, {
                "train": StyleSplit(args.frames, STYLE_SPLITS["train"].first_seed, 320),
                "val": StyleSplit(args.val_frames, STYLE_SPLITS["val"].first_seed, 320)},
                progress=progress, workers=args.render_workers)
    tests = render_tests(args.work / "test", args.test_frames, workers=args.render_workers)
    render_s = time.time() - t0
    say(f"rendered in {render_s:.0f} s")

    result: dict = {"bench": "gpu_loso", "frames": args.frames, "with": args.extra,
                    "render_s": round(render_s), "cells": {}}
    for k, cell in enumerate(args.cells):
        train_styles = [s for s in STYLES if s != cell] + list(args.extra)
        data = write_pair_yaml(styles_root, train_styles, args.work / f"no-{cell}.yaml")
        left = args.budget_s - (time.time() - t0)
        share = args.cell_s or left / (len(args.cells) - k) - args.score_s
        if share < 10 or share + args.score_s > left:
            say(f"no time left to train the {cell} cell ({left:.0f} s left): stopping")
            break
        init = None if cell == "town" else str(args.init_weights)
        say(f"cell {cell}: training on {' + '.join(train_styles)} for {share:.0f} s from "
            f"{init or 'bare weights'}")
        settings = TrainSettings(
            epochs=args.epochs, batch=args.batch, nbs=args.batch, optimizer="AdamW",
            lr0=args.lr0, warmup_epochs=1.0, warmup_bias_lr=0.0, close_mosaic=0,
            precision=args.precision, device=args.device, workers=args.loader_workers,
            threads=4, init_weights=init, time_h=share / 3600, deterministic=False,
            augment="styles")
        t_cell = time.time()
        trained = train(data, args.work / "runs" / cell, settings)
        best = Path(trained["best"])
        shutil.copyfile(best, args.out / f"{cell}.pt")
        scores = score(Detector(best, device=args.device), tests[cell])
        result["cells"][cell] = {"trained_on": train_styles, "init": init and Path(init).name,
                                 "train_s": round(time.time() - t_cell), "scores": scores,
                                 "figures": trained["figures"]}
        say(f"cell {cell}: " + json.dumps(scores))
    result["wall_s"] = round(time.time() - t0, 1)
    (args.out / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
