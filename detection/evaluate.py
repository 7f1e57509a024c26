"""AP50 of a detector by object size, with COCO's own evaluator (pycocotools).

ultralytics' validator gives one mAP over every box. Objects in drone video span 3 px to 60 px,
and a box a few pixels across cannot overlap its truth by half once its edges are one pixel off,
so one figure hides where a detector stands. COCO's evaluator answers per size range the way the
COCO benchmark does: truth outside the range is ignored, and so is a detection outside it that
matches nothing, so each range is scored on its own objects alone. COCO's range edges are
inclusive: a box whose area lies exactly on an edge counts in both ranges.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# by the square root of the box's area, in pixels of the frame the detector is given
SIZE_BINS_PX: tuple[tuple[float, float], ...] = ((0, 8), (8, 16), (16, 32), (32, math.inf))


@dataclass(frozen=True)
class ImageBoxes:
    """The boxes of one image: ``xyxy`` (N, 4) in pixels, ``class_id`` (N,), and ``confidence``
    (N,) for detections (None for ground truth)."""

    xyxy: np.ndarray
    class_id: np.ndarray
    confidence: np.ndarray | None = None


def bin_label(lo: float, hi: float) -> str:
    """'<8px', '8-16px', '>=32px': how a size range is named in figures."""
    if lo <= 0:
        return f"<{hi:g}px"
    if math.isinf(hi):
        return f">={lo:g}px"
    return f"{lo:g}-{hi:g}px"


def ap50_by_size(truth: Sequence[ImageBoxes], detections: Sequence[ImageBoxes],
                 class_names: Sequence[str],
                 bins: Sequence[tuple[float, float]] = SIZE_BINS_PX) -> dict:
    """AP at IoU 0.5 (COCO's 101-point interpolation, up to 100 detections an image) over all
    boxes and in each size range: ``{"all" | bin label: {"ap50": mean over classes, "objects":
    truth boxes in range, class name: AP50}}``. A class with no truth in a range has no AP
    there (the COCO rule) and is left out of its mean; a range with no truth at all has
    ``ap50`` None."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(truth) != len(detections):
        raise ValueError(f"{len(truth)} images of truth but {len(detections)} of detections")
    gt = {"images": [], "annotations": [], "categories": [
        {"id": i, "name": n} for i, n in enumerate(class_names)]}
    dets = []
    for image_id, (t, d) in enumerate(zip(truth, detections)):
        gt["images"].append({"id": image_id})
        for (x0, y0, x1, y1), c in zip(np.asarray(t.xyxy, float), t.class_id):
            w, h = x1 - x0, y1 - y0
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": image_id,
                                      "category_id": int(c), "bbox": [x0, y0, w, h],
                                      "area": w * h, "iscrowd": 0})
        for (x0, y0, x1, y1), c, s in zip(np.asarray(d.xyxy, float), d.class_id, d.confidence):
            dets.append({"image_id": image_id, "category_id": int(c),
                         "bbox": [x0, y0, x1 - x0, y1 - y0], "score": float(s)})
    ranges = [(0.0, math.inf)] + [(float(lo), float(hi)) for lo, hi in bins]
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(dets) if dets else _empty_like(coco), iouType="bbox")
        ev.params.iouThrs = np.array([0.5])
        ev.params.areaRng = [[lo * lo, min(hi * hi, 1e10)] for lo, hi in ranges]
        ev.params.areaRngLbl = ["all"] + [bin_label(lo, hi) for lo, hi in bins]
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"]  # [iou, recall point, class, area range, max dets]
    areas = np.array([a["area"] for a in gt["annotations"]])
    classes = np.array([a["category_id"] for a in gt["annotations"]])
    out = {}
    for a, ((lo, hi), label) in enumerate(zip(ranges, ev.params.areaRngLbl)):
        # COCO's edges are inclusive: a box exactly on an edge counts in both ranges
        inside = (areas >= lo * lo) & (areas <= hi * hi) if len(areas) else np.zeros(0, bool)
        row: dict = {"objects": int(inside.sum())}
        per_class = []
        for k, name in enumerate(class_names):
            if not (inside & (classes == k)).any():
                continue
            p = precision[0, :, k, a, -1]
            ap = float(np.mean(np.where(p > -1, p, 0.0)))
            row[name] = round(ap, 4)
            per_class.append(ap)
        row["ap50"] = round(float(np.mean(per_class)), 4) if per_class else None
        out[label] = row
    return out


def _empty_like(coco):
    """A result set with no detections (pycocotools' loadRes refuses an empty list)."""
    from pycocotools.coco import COCO

    empty = COCO()
    empty.dataset = {"images": coco.dataset["images"], "annotations": [],
                     "categories": coco.dataset["categories"]}
    empty.createIndex()
    return empty
