"""Event recall and precision of two or more sets of weights on the same five rendered patrols.

The benchmark patrol (seed 11, where ``bench_detection.py`` measures), the two tuning patrols
elsewhere in the sample town (seeds 21 and 22) and two fresh ones never used for a choice
(seeds 31 and 41), 240 m squares at 60 m, each rendered once and run through every set of
weights, so the comparison holds on a noisy machine. Pooled figures count every violation and
candidate: of the three patrols a choice may look at (``pooled_chosen_on``), of the fresh ones
(``pooled_fresh``) and of all five (``pooled``). One JSON line on stdout; never passes or fails
on a figure.

Run: python tests/bench/bench_detection_patrols.py --baseline OLD.pt [--also LABEL=OTHER.pt ...]
[--clips DIR] [--plot patrols.png]
(``git show COMMIT:detection/weights/flyonce-yolo.pt > OLD.pt`` gives an earlier stage;
``--also`` scores more weights on the same clips, e.g. a run's last epoch beside its best;
``--clips`` keeps the rendered clips in DIR and reuses them on the next run)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench_detection import (
    BENCH_SEED,
    FRESH_PATROLS,
    TUNING_PATROLS,
    event_rates,
    render_patrol,
    score_patrol,
)

from detection.model import DEFAULT_WEIGHTS, Detector


def pooled(runs: list[dict]) -> dict:
    """Recall and precision over every violation and candidate of ``runs`` together."""
    total = {k: sum(r[k] for r in runs)
             for k in ("true_violations", "found", "candidates", "true_candidates")}
    return {**total, **event_rates(total["found"], total["true_violations"],
                                   total["true_candidates"], total["candidates"])}


def _plot(path: str, figures: dict, names: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    pools = {"pooled_chosen_on": "11+21+22", "pooled_fresh": "fresh", "pooled": "all"}
    patrols = [*figures["patrols"], *pools]
    rows = {**figures["patrols"], **{k: figures[k] for k in pools}}
    fig, axes = plt.subplots(2, 1, figsize=(10, 6.5), dpi=120, sharey=True)
    x = np.arange(len(patrols))
    keys = ("event_recall", "event_precision")
    low = min(rows[p][n][k] for p in patrols for n in names for k in keys)
    for ax, key in zip(axes, keys, strict=True):
        for k, name in enumerate(names):
            values = [rows[p][name][key] for p in patrols]
            width = 0.76 / len(names)
            bars = ax.bar(x + (k - (len(names) - 1) / 2) * width, values, width,
                          label=f"{name}: {Path(figures[name]).name}")
            ax.bar_label(bars, [f"{v:.2f}" for v in values], fontsize=7)
        ax.axhline(0.9, color="k", lw=0.8, ls="--")  # the target
        ax.set_xticks(x, [f"pooled\n{pools[p]}" if p in pools else f"seed {p}" for p in patrols])
        ax.set_title(key.replace("_", " ") + " (target 0.90 dashed)")
        ax.set_ylim(max(0.0, np.floor(low * 10) / 10 - 0.1), 1.05)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(names), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                    help="the weights to measure (default: the shipped ones)")
    ap.add_argument("--baseline", type=Path, required=True,
                    help="the weights to compare against on the same clips, e.g. an earlier "
                         "commit's detection/weights/flyonce-yolo.pt")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=PATH",
                    help="more weights to score on the same clips (repeat)")
    ap.add_argument("--clips", type=Path, help="keep the rendered clips here and reuse them")
    ap.add_argument("--size-m", type=float, default=240.0, help="patrol square side (240)")
    ap.add_argument("--plot", help="write a PNG of recall and precision by patrol")
    args = ap.parse_args()
    weights = {"weights": args.weights, "baseline": args.baseline}
    for item in args.also:
        label, sep, path = item.partition("=")
        if not sep or not path or label in weights:
            sys.exit(f"error: --also {item!r} is not LABEL=PATH with a new label "
                     "(e.g. last=var/runs11/run/weights/last.pt)")
        weights[label] = Path(path)
    for w in weights.values():
        if not w.is_file():
            sys.exit(f"error: no weights at {w}; give a .pt file")
    import torch

    torch.set_num_threads(2)
    detectors = {name: Detector(w.resolve()) for name, w in weights.items()}
    centres = {BENCH_SEED: None, **TUNING_PATROLS, **FRESH_PATROLS}
    figures: dict = {**{name: str(w) for name, w in weights.items()}, "size_m": args.size_m,
                     "patrols": {}}
    with tempfile.TemporaryDirectory() as d:
        for seed, centre in centres.items():
            print(f"patrol seed {seed}: rendering", file=sys.stderr, flush=True)
            folder = args.clips / f"{args.size_m:g}m" if args.clips else Path(d)
            paths = render_patrol(folder, args.size_m, centre, seed, reuse=args.clips is not None)
            figures["patrols"][str(seed)] = {}
            for name, det in detectors.items():
                print(f"patrol seed {seed}: {name}", file=sys.stderr, flush=True)
                figures["patrols"][str(seed)][name] = score_patrol(paths, det)
    groups = {"pooled_chosen_on": [BENCH_SEED, *TUNING_PATROLS],
              "pooled_fresh": list(FRESH_PATROLS), "pooled": list(centres)}
    for key, seeds in groups.items():
        figures[key] = {name: pooled([figures["patrols"][str(s)][name] for s in seeds])
                        for name in detectors}
    if args.plot:
        _plot(args.plot, figures, list(detectors))
        figures["plot"] = args.plot
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
