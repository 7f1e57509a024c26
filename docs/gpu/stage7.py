"""Stage 7 of the shipped detector, as it ran on a lent GPU machine (one H200, 16 cores).

It renders a larger train split than the default (``flyonce dataset --train-frames``) with the
default val split, and fine-tunes the stage-6 weights on it in bfloat16 for a fixed wall time
(ultralytics' ``time``), i.e. what these two commands do:

    flyonce dataset var/ds8 --train-frames 8000 --train-towns 32 --workers 16 --only train --only val
    git show c7ab700:detection/weights/flyonce-yolo.pt > var/stage6.pt
    flyonce train var/ds8/data.yaml --init-weights var/stage6.pt \\
        --device 0 --precision bf16 --batch 64 --nbs 64 --optimizer AdamW --lr0 0.0004 \\
        --warmup-epochs 1 --warmup-bias-lr 0 --close-mosaic 0 --workers 14 --no-deterministic \\
        --time-h 0.1  # here: what rendering left of the call's 9 minutes

It calls the Python functions rather than the ``flyonce`` command because the lent machine holds
only the packages the detector needs (its own torch, plus carried ultralytics, shapely and polars
wheels), not the service's. It needs no network: the weights it starts from are a committed
file (``--init-weights``). Everything it writes for the caller goes to ``--out``: the log,
``best.pt``, ``last.pt``, ``results.csv`` and ``result.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runlog import RunLog  # docs/gpu, beside this script


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/stage7"))
    ap.add_argument("--train-frames", type=int, default=8000)
    ap.add_argument("--train-towns", type=int, default=32)
    ap.add_argument("--render-workers", type=int, default=16)
    ap.add_argument("--device", default="0")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr0", type=float, default=0.0004)
    ap.add_argument("--loader-workers", type=int, default=14)
    ap.add_argument("--time-h", type=float, default=None,
                    help="training hours; default: what is left of --budget-s after rendering")
    ap.add_argument("--budget-s", type=float, default=540.0,
                    help="wall seconds for the whole script (the device call's limit, less a "
                         "margin for the final validation and the copies)")
    ap.add_argument("--epochs", type=int, default=100, help="nominal; --time-h re-sets it")
    # no default: the committed detection/weights/flyonce-yolo.pt is stage 7's own result now;
    # stage 7 started from stage 6's, `git show c7ab700:detection/weights/flyonce-yolo.pt`
    ap.add_argument("--init-weights", type=Path, required=True,
                    help="the .pt to fine-tune (stage 7: stage 6's, from commit c7ab700)")
    args = ap.parse_args()
    run_log = RunLog(args.out)
    say, t0 = run_log.say, run_log.t0

    from simulators.camera.dataset import DEFAULT_SPLITS, export_yolo, large_train_split

    ds = args.work / "ds"
    splits = {"train": large_train_split(args.train_frames, args.train_towns),
              "val": DEFAULT_SPLITS["val"]}
    progress = run_log.progress

    data = export_yolo(ds, splits, progress=progress, workers=args.render_workers)
    crops = len(list((ds / "images" / "train").glob("*.jpg")))
    say(f"dataset ready: {crops} train crops")

    from detection.train import TrainSettings, train

    time_h = args.time_h or max(60.0, args.budget_s - (time.time() - t0) - 45.0) / 3600
    say(f"training for {time_h * 3600:.0f} s")

    settings = TrainSettings(
        epochs=args.epochs, batch=args.batch, nbs=args.batch, optimizer="AdamW", lr0=args.lr0,
        warmup_epochs=1.0, warmup_bias_lr=0.0, close_mosaic=0, precision="bf16",
        device=args.device, workers=args.loader_workers, threads=4,
        init_weights=str(args.init_weights),
        time_h=time_h, deterministic=False)

    def epoch_end(trainer) -> None:
        # ultralytics fires this once more after the last epoch, for its validation of best.pt;
        # only an epoch has just written its row of results.csv
        m = trainer.metrics
        rows = len(trainer.csv.read_text().splitlines()) - 1 if trainer.csv.is_file() else 0
        what = (f"epoch {trainer.epoch + 1}/{trainer.epochs}" if rows > trainer.epoch
                else "best.pt")
        say(f"{what}: val mAP50 "
            f"{m.get('metrics/mAP50(B)', float('nan')):.3f} mAP50-95 "
            f"{m.get('metrics/mAP50-95(B)', float('nan')):.3f}")

    try:
        result = train(data, args.work / "runs", settings,
                       callbacks={"on_fit_epoch_end": epoch_end})
    finally:
        run = args.work / "runs" / "run"
        for src in (run / "weights" / "best.pt", run / "weights" / "last.pt",
                    run / "results.csv"):
            if src.is_file():
                shutil.copyfile(src, args.out / src.name)
    result["train_crops"] = crops
    result["wall_s"] = round(time.time() - t0, 1)
    (args.out / "result.json").write_text(json.dumps(result, indent=1))
    say(json.dumps(result))


if __name__ == "__main__":
    main()
