"""Hard-example mining: the rendered training crops a set of weights gets wrong.

A fine-tuning run on more of the same crops spends most of its steps on views the model already
gets right. Mining runs the weights over a rendered train split, keeps every crop where they
report something that is not there (a parked van or a delivery tricycle called a violation) or
miss something that is (a mat or a tarp on the pavement), and adds a share of the crops they get
right so the next run does not forget them. The result is a YOLO list file and a data.yaml that
``flyonce train`` takes as it is.

The crops are scored at their own size (320 px at ``imgsz`` 320), the scale the pipeline sees a
whole 1280x960 frame at, and at the pipeline's confidence (0.25).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from detection.detections import Detections
from detection.errors import DetectionError

# ultralytics' own box helpers read and match the crops the way its trainer does; they are
# imported where used, as everywhere in detection: importing ultralytics patches PIL.Image.open
# for the whole process, which the service should not get from importing this module

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class CropErrors:
    """What the weights got wrong on one crop: reported boxes that match no true box of their
    class (``false``), and true boxes no report matched (``missed``)."""

    false: int
    missed: int

    @property
    def hard(self) -> bool:
        return bool(self.false or self.missed)


def crop_errors(truth_xyxy: np.ndarray, truth_class: np.ndarray, found: Detections,
                size_px: tuple[int, int], iou_min: float = 0.3, min_side_px: float = 6.0,
                edge_px: float = 2.0) -> CropErrors:
    """Match reports to the truth one to one, most confident first, same class, IoU at least
    ``iou_min`` (lenient: a box 10 px across loses half its IoU to a 2 px shift).

    Two allowances keep the count to real errors. A report touching the crop's edge that
    matches nothing is not counted false: the crop may have cut an object and dropped its
    truth (``simulators.camera.dataset.crop`` keeps a box only if half of it is inside). A true
    box whose shorter side is under ``min_side_px`` is not counted missed: a few pixels are
    not enough to learn from, and mining them would fill the run with noise."""
    import torch
    from ultralytics.utils.metrics import box_iou

    truth_xyxy = np.asarray(truth_xyxy, float).reshape(-1, 4)
    truth_class = np.asarray(truth_class, int).reshape(-1)
    iou = box_iou(torch.as_tensor(found.xyxy, dtype=torch.float64).reshape(-1, 4),
                  torch.as_tensor(truth_xyxy, dtype=torch.float64)).numpy()
    taken = np.zeros(len(truth_xyxy), bool)
    false = 0
    w, h = size_px
    for i in np.argsort(-found.confidence, kind="stable"):
        ok = (~taken) & (truth_class == found.class_id[i]) & (iou[i] >= iou_min)
        if ok.any():
            taken[int(np.argmax(np.where(ok, iou[i], -1)))] = True
            continue
        x0, y0, x1, y1 = found.xyxy[i]
        if min(x0, y0) <= edge_px or x1 >= w - edge_px or y1 >= h - edge_px:
            continue
        false += 1
    sides = np.minimum(truth_xyxy[:, 2] - truth_xyxy[:, 0], truth_xyxy[:, 3] - truth_xyxy[:, 1])
    missed = int(((~taken) & (sides >= min_side_px)).sum())
    return CropErrors(false=false, missed=missed)


def read_yolo_labels(path: Path, size_px: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A YOLO label file (``class cx cy w h``, normalised) as xyxy pixels and class ids; a
    missing file is an image with nothing in it."""
    w, h = size_px
    rows = [line.split() for line in path.read_text().splitlines()
            if line.strip()] if path.is_file() else []
    if not rows:
        return np.zeros((0, 4)), np.zeros(0, int)
    try:
        arr = np.array(rows, float)
    except ValueError as exc:
        raise DetectionError(f"{path}: not a YOLO label file ({exc})") from exc
    from ultralytics.utils.ops import xywhn2xyxy

    xyxy = xywhn2xyxy(arr[:, 1:5], w=w, h=h)
    return xyxy, arr[:, 0].astype(int)


def load_data_yaml(data_yaml: Path) -> dict:
    """A data.yaml, parsed; a clear error if there is none."""
    if not data_yaml.is_file():
        raise DetectionError(f"no dataset at {data_yaml}: render one with `flyonce dataset`")
    return yaml.safe_load(data_yaml.read_text()) or {}


def split_images(data_yaml: Path, spec: dict, split: str) -> tuple[Path, list[Path]]:
    """The dataset root and the images of ``split`` named in ``spec`` (``data_yaml`` parsed,
    the split a folder)."""
    if split not in spec:
        raise DetectionError(f"{data_yaml} has no {split!r} split (it has "
                             f"{', '.join(k for k in spec if k in ('train', 'val', 'test'))})")
    root = Path(spec.get("path") or data_yaml.parent)
    folder = Path(spec[split]) if Path(spec[split]).is_absolute() else root / spec[split]
    if not folder.is_dir():
        raise DetectionError(f"{data_yaml}: the {split} split {folder} is not a folder of images")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DetectionError(f"{folder} holds no images")
    return root, images


def mine(data_yaml: Path | str, weights: Path | str | None, out_dir: Path | str, *,
         easy_per_hard: float = 1.0, imgsz: int = 320, conf: float = 0.25, batch: int = 32,
         seed: int = 0, progress: Callable[[int, int], None] | None = None) -> dict:
    """Score every train crop of ``data_yaml`` with ``weights`` (None: the shipped); write ``out_dir/train.txt``
    (every hard crop, and ``easy_per_hard`` easy crops for each, drawn with ``seed``),
    ``out_dir/data.yaml`` (that list, the same val and class names) and ``out_dir/mining.json``
    (the counts); return the counts. ``progress(done, total)`` follows the scoring."""
    import cv2
    from ultralytics.data.utils import img2label_paths

    from detection.model import Detector

    data_yaml, out = Path(data_yaml), Path(out_dir)
    spec = load_data_yaml(data_yaml)
    root, images = split_images(data_yaml, spec, "train")
    labels = dict(zip(images, map(Path, img2label_paths(images)), strict=True))
    detector = Detector(weights, imgsz=imgsz, conf=conf)
    verdicts: list[tuple[Path, CropErrors]] = []
    unreadable = 0
    for start in range(0, len(images), batch):
        chunk = images[start:start + batch]
        frames = [cv2.imread(str(p)) for p in chunk]
        ok = [(p, f) for p, f in zip(chunk, frames, strict=True) if f is not None]
        unreadable += len(chunk) - len(ok)
        for (p, f), found in zip(ok, detector.predict([f for _, f in ok]), strict=True):
            size = (f.shape[1], f.shape[0])
            verdicts.append((p, crop_errors(*read_yolo_labels(labels[p], size), found, size)))
        if progress:
            progress(min(start + batch, len(images)), len(images))
    hard = [p for p, v in verdicts if v.hard]
    easy = [p for p, v in verdicts if not v.hard]
    rng = np.random.default_rng(seed)
    n_easy = min(len(easy), round(easy_per_hard * len(hard)))
    keep_easy = [easy[i] for i in sorted(rng.choice(len(easy), n_easy, replace=False))]
    out.mkdir(parents=True, exist_ok=True)
    train_list = out / "train.txt"
    train_list.write_text("".join(f"{p.resolve()}\n" for p in sorted(hard + keep_easy)))
    val = spec.get("val")
    mined = {"path": str(root.resolve()), "train": str(train_list.resolve()), "names": spec["names"]}
    if val is not None:
        mined["val"] = val
    (out / "data.yaml").write_text(yaml.safe_dump(mined, sort_keys=False, allow_unicode=True))
    summary = {
        "source": str(data_yaml), "weights": str(detector.weights), "imgsz": imgsz, "conf": conf,
        "crops": len(verdicts), "unreadable": unreadable, "hard": len(hard),
        "with_false": sum(v.false > 0 for _, v in verdicts),
        "with_missed": sum(v.missed > 0 for _, v in verdicts),
        "false": sum(v.false for _, v in verdicts), "missed": sum(v.missed for _, v in verdicts),
        "easy_kept": n_easy, "train_images": len(hard) + n_easy,
        "data_yaml": str(out / "data.yaml"),
    }
    (out / "mining.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary

