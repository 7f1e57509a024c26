"""Training throughput on this CPU, fp32 against bf16 (detection.train's --precision), one JSON
line. Both run ultralytics' real trainer from the shipped weights on the same rendered crops;
a callback times every training batch, the first two (oneDNN's warm-up) are dropped, and the
two precisions take turns for ``--rounds`` rounds, each keeping its best median, so a busy
machine slows both alike. Run: python tests/bench/bench_train_precision.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

from detection.model import DEFAULT_WEIGHTS
from detection.train import TrainSettings, train
from simulators.camera.dataset import SplitSpec, export_yolo

BATCH = 16
THREADS = 2


def batch_seconds(data: Path, out: Path, precision: str) -> list[float]:
    """Seconds of each training batch after the first two, in one epoch of the real trainer."""
    stamps: list[float] = []

    def stamp(_trainer) -> None:
        stamps.append(time.perf_counter())

    settings = TrainSettings(epochs=1, batch=BATCH, nbs=BATCH, close_mosaic=0, warmup_epochs=0,
                             optimizer="AdamW", lr0=0.0001, init_weights=str(DEFAULT_WEIGHTS),
                             precision=precision, threads=THREADS)
    with contextlib.redirect_stdout(sys.stderr):
        train(data, out, settings, callbacks={"on_train_batch_end": stamp})
    return [b - a for a, b in itertools.pairwise(stamps[2:])]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--frames", type=int, default=80,
                    help="rendered frames, two crops each (10 batches, 7 timed)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        splits = {"train": SplitSpec((101,), args.frames, 1, crop_px=320),
                  "val": SplitSpec((201,), 4, 2, crop_px=320)}
        data = export_yolo(tmp / "ds", splits)
        best = {"fp32": float("inf"), "bf16": float("inf")}
        batches = 0
        for r in range(args.rounds):
            for precision in ("fp32", "bf16"):
                times = batch_seconds(data, tmp / f"{precision}-{r}", precision)
                batches = len(times)
                best[precision] = min(best[precision], statistics.median(times))
    print(json.dumps({
        "torch_threads": THREADS, "batch": BATCH, "timed_batches": batches,
        "rounds": args.rounds,
        "images_per_s_fp32": round(BATCH / best["fp32"], 2),
        "images_per_s_bf16": round(BATCH / best["bf16"], 2),
        "bf16_speedup": round(best["fp32"] / best["bf16"], 2),
        "cpu_has_avx512_bf16": Path("/proc/cpuinfo").is_file()
        and "avx512_bf16" in Path("/proc/cpuinfo").read_text(),
    }))


if __name__ == "__main__":
    main()
