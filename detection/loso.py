"""Leave-one-style-out: a data.yaml that trains on some scene styles' folders, and recall and
precision per frame, by class and by object size, on the style left out.

Each style's dataset is a folder written by ``flyonce dataset --style S`` (images/ and
labels/ with train, val and test splits); ultralytics takes a list of folders for a split, so
training on two styles needs no copy of their files.

Scoring is the operator's question, per frame: was each violation found (a detection of its
class at IoU 0.3 or more: a box 15 px across loses half its IoU to a 3 px shift), and was each
detection a violation. Matching is one to one, most confident first.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.evaluate import SIZE_BINS_PX, bin_label

IOU_MIN = 0.3
#: the scene styles' folder names (simulators.styles.STYLES; detection may not import simulators,
#: so a test holds the two equal)
STYLES: tuple[str, ...] = ("town", "bazaar", "dusk")
#: styles that only ever train (simulators.styles.TRAINING_STYLES): ``--with varied``
TRAINING_STYLES: tuple[str, ...] = ("varied",)


def write_pair_yaml(styles_root: Path | str, train_styles: Sequence[str], out_yaml: Path | str,
                    class_names: Sequence[str] = ("street_stall", "mobile_fuel_sale"),
                    max_train: int | None = None, max_val: int | None = None) -> Path:
    """A data.yaml training on ``train_styles``' train folders, validating on their val
    folders (``styles_root/<style>/images/{train,val}``). With ``max_train`` / ``max_val``
    each style gives at most that many images, evenly spaced through its sorted list, written
    as list files beside the yaml (a short run on a slow CPU)."""
    root = Path(styles_root).resolve()
    missing = [s for s in train_styles if not (root / s / "images" / "train").is_dir()]
    if missing:
        raise FileNotFoundError(f"no rendered train split for {', '.join(missing)} under {root}:"
                                f" run `flyonce dataset {root}/STYLE --style STYLE` first")
    out = Path(out_yaml)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for split, cap in (("train", max_train), ("val", max_val)):
        folders = [root / s / "images" / split for s in train_styles]
        if cap is None:
            lines += [f"{split}:"] + [f"  - {f}" for f in folders]
            continue
        chosen = []
        for f in folders:
            images = sorted(p for p in f.iterdir() if p.suffix == ".jpg")
            keep = np.unique(np.linspace(0, len(images) - 1, min(cap, len(images))).round()
                             .astype(int)) if images else []
            chosen += [str(images[i]) for i in keep]
        listing = out.with_name(f"{out.stem}.{split}.txt").resolve()
        listing.write_text("".join(c + "\n" for c in chosen))
        lines.append(f"{split}: {listing}")
    lines += ["names:"] + [f"  {i}: {n}" for i, n in enumerate(class_names)]
    out.write_text("\n".join(lines) + "\n")
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU (len(a), len(b)) of two sets of xyxy boxes."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_frame(truth_xyxy, truth_class, det_xyxy, det_class, det_conf, iou_min: float = IOU_MIN
                ) -> tuple[np.ndarray, np.ndarray]:
    """(found, correct): which true boxes a detection of their class matched, and which
    detections matched a true box; one to one, most confident detection first."""
    truth_class = np.asarray(truth_class, int).reshape(-1)
    det_class = np.asarray(det_class, int).reshape(-1)
    iou = iou_matrix(det_xyxy, truth_xyxy)
    found = np.zeros(len(truth_class), bool)
    correct = np.zeros(len(det_class), bool)
    for i in np.argsort(-np.asarray(det_conf, float).reshape(-1), kind="stable"):
        ok = (~found) & (truth_class == det_class[i]) & (iou[i] >= iou_min)
        if ok.any():
            found[int(np.argmax(np.where(ok, iou[i], -1)))] = True
            correct[i] = True
    return found, correct


@dataclass
class Tally:
    """Counts behind recall and precision, by class and by the object's size."""

    class_names: tuple[str, ...]
    bins: tuple[tuple[float, float], ...] = SIZE_BINS_PX
    found: dict = field(default_factory=dict)  # (class, bin) -> [found, truths]
    correct: dict = field(default_factory=dict)  # (class, bin) -> [correct, detections]

    def add(self, truth_xyxy, truth_class, det_xyxy, det_class, det_conf) -> np.ndarray:
        """Count one frame; returns which of its true boxes were found (``match_frame``)."""
        found, correct = match_frame(truth_xyxy, truth_class, det_xyxy, det_class, det_conf)
        self._count(self.found, truth_xyxy, truth_class, found)
        self._count(self.correct, det_xyxy, det_class, correct)
        return found

    def _count(self, table: dict, xyxy, classes, ok) -> None:
        """Each box's hit (``ok``) and total, under its class overall and its class and size."""
        for box, k, hit in zip(np.asarray(xyxy, float).reshape(-1, 4),
                               np.asarray(classes, int).reshape(-1), ok):
            for key in ((int(k), "all"), (int(k), self._bin(box))):
                row = table.setdefault(key, [0, 0])
                row[0] += int(hit)
                row[1] += 1

    def _bin(self, xyxy) -> str:
        side = math.sqrt(max((xyxy[2] - xyxy[0]) * (xyxy[3] - xyxy[1]), 0.0))
        for lo, hi in self.bins:
            if lo <= side < hi:
                return bin_label(lo, hi)
        return bin_label(*self.bins[-1])

    def summary(self) -> dict:
        """``{class: {"recall", "precision", "objects", "detections", "by_size": {bin:
        {"recall", "objects", "precision", "detections"}}}}``; None where nothing counted."""
        out = {}
        for k, name in enumerate(self.class_names):
            def rate(d, key, k=k):
                hit, n = d.get((k, key), (0, 0))
                return (round(hit / n, 3) if n else None), n

            r, n_t = rate(self.found, "all")
            p, n_d = rate(self.correct, "all")
            sizes = {}
            for lo, hi in self.bins:
                label = bin_label(lo, hi)
                rb, nb = rate(self.found, label)
                pb, db = rate(self.correct, label)
                sizes[label] = {"recall": rb, "objects": nb, "precision": pb, "detections": db}
            out[name] = {"recall": r, "precision": p, "objects": n_t, "detections": n_d,
                         "by_size": sizes}
        return out


def read_split(dataset: Path | str, split: str = "test") -> list[tuple[Path, np.ndarray,
                                                                       np.ndarray]]:
    """(image path, true xyxy px, class ids) of every image of a rendered split."""
    from PIL import Image

    ds = Path(dataset)
    out = []
    for image in sorted((ds / "images" / split).glob("*.jpg")):
        with Image.open(image) as im:  # the size from the JPEG's header; no pixels decoded
            w, h = im.size
        text = (ds / "labels" / split / f"{image.stem}.txt").read_text()
        rows = np.array(text.split(), float).reshape(-1, 5)
        cx, cy, bw, bh = rows[:, 1] * w, rows[:, 2] * h, rows[:, 3] * w, rows[:, 4] * h
        out.append((image, np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1),
                    rows[:, 0].astype(int)))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m detection.loso yaml STYLES_ROOT --leave-out STYLE --out FILE``."""
    ap = argparse.ArgumentParser(prog="python -m detection.loso")
    sub = ap.add_subparsers(dest="cmd", required=True)
    y = sub.add_parser("yaml", help="write the data.yaml of every style but one")
    y.add_argument("styles_root", type=Path)
    y.add_argument("--leave-out", choices=STYLES)
    y.add_argument("--out", type=Path, required=True)
    y.add_argument("--max-train", type=int, help="at most this many train images a style")
    y.add_argument("--max-val", type=int, help="at most this many val images a style")
    y.add_argument("--styles", nargs="+", choices=STYLES + TRAINING_STYLES,
                   help="train on these styles instead of all but --leave-out")
    y.add_argument("--with", dest="extra", nargs="+", choices=TRAINING_STYLES, default=[],
                   help="add these training-only styles to the training styles")
    args = ap.parse_args(argv)
    train = args.styles or [s for s in STYLES if s != args.leave_out]
    train += [s for s in args.extra if s not in train]
    print(json.dumps({"data": str(write_pair_yaml(args.styles_root, train, args.out,
                                                  max_train=args.max_train,
                                                  max_val=args.max_val)),
                      "train_styles": train, "left_out": args.leave_out}))


if __name__ == "__main__":
    main()
