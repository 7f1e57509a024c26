"""Learning from the operators' verdicts: reviewed snapshots as a YOLO dataset, a fine-tune on
them mixed with rendered data, and the candidate scored against the current weights on the
reviewed samples it never saw.

The service hands plain ``ReviewedImage`` records in (``api.cli.reviews`` reads them from the
database); nothing here knows SQL or HTTP. A confirmed sample is a crop around the box with
that box as its label; a rejected one is the same crop with no label at all, a background
image that teaches the detector what it wrongly fired on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from detection.candidate import EVENT_TYPES
from detection.errors import TrainingError, WeightsError
from detection.loso import IOU_MIN, iou_matrix

REPORT = "review-report.json"
MANIFEST = "reviews.json"
SPLITS = ("train", "heldout")


@dataclass(frozen=True)
class ReviewedImage:
    """One verdict: the snapshot file, ``confirm`` or ``reject``, the class (the operator's, or
    for a rejection the detector's) and the box in the snapshot's pixels."""

    key: str  # stable, e.g. "event-12": which split a sample falls in hangs on it alone
    image_path: Path
    verdict: str
    type: str
    box_xyxy: tuple[float, float, float, float]
    model_version: str | None = None


def is_heldout(key: str, *, share: float, seed: int) -> bool:
    """Whether a sample is held out for scoring: a seeded hash of its key under ``share``, so
    a sample keeps its side across exports as more reviews come in (no held-out sample is
    trained on in a later round)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def crop_box(image_wh: tuple[int, int], box_xyxy, crop_px: int) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) of a ``crop_px`` square centred on the box, moved inside
    the image (the whole side when the image is smaller)."""
    w, h = image_wh
    cx, cy = (box_xyxy[0] + box_xyxy[2]) / 2, (box_xyxy[1] + box_xyxy[3]) / 2
    cw, ch = min(crop_px, w), min(crop_px, h)
    left = int(np.clip(round(cx - cw / 2), 0, w - cw))
    top = int(np.clip(round(cy - ch / 2), 0, h - ch))
    return left, top, left + cw, top + ch


def export_reviews(samples: Sequence[ReviewedImage], out_dir: Path | str, *,
                   crop_px: int = 320, heldout_share: float = 0.25, seed: int = 0) -> dict:
    """Write ``out_dir/{images,labels}/{train,heldout}/`` (YOLO), ``reviews.json`` (what each
    file is) and ``data.yaml`` (train on train, validate on heldout); return the counts."""
    import cv2

    if not 0.0 <= heldout_share < 1.0:
        raise TrainingError(f"the held-out share must be in 0..1 (excluded), got {heldout_share}")
    out = Path(out_dir)
    for split in SPLITS:
        for kind in ("images", "labels"):
            folder = out / kind / split
            if folder.exists():
                shutil.rmtree(folder)  # an export is the whole set, not an addition
            folder.mkdir(parents=True)
    rows, counts = [], {s: {"confirm": 0, "reject": 0} for s in SPLITS}
    for s in samples:
        if s.verdict not in ("confirm", "reject"):
            raise TrainingError(f"sample {s.key}: verdict {s.verdict!r} is not confirm or reject")
        if s.type not in EVENT_TYPES:
            raise TrainingError(f"sample {s.key}: class {s.type!r} is not one of {EVENT_TYPES}")
        image = cv2.imread(str(s.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise TrainingError(f"sample {s.key}: cannot read the snapshot {s.image_path}")
        h, w = image.shape[:2]
        left, top, right, bottom = crop_box((w, h), s.box_xyxy, crop_px)
        x0, y0, x1, y1 = s.box_xyxy
        box = (max(x0, left) - left, max(y0, top) - top, min(x1, right) - left,
               min(y1, bottom) - top)
        split = "heldout" if is_heldout(s.key, share=heldout_share, seed=seed) else "train"
        stem = s.key.replace("/", "_")
        cv2.imwrite(str(out / "images" / split / f"{stem}.jpg"), image[top:bottom, left:right],
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        cw, ch = right - left, bottom - top
        label = ""
        if s.verdict == "confirm":
            label = (f"{EVENT_TYPES.index(s.type)} {(box[0] + box[2]) / 2 / cw:.6f} "
                     f"{(box[1] + box[3]) / 2 / ch:.6f} {(box[2] - box[0]) / cw:.6f} "
                     f"{(box[3] - box[1]) / ch:.6f}\n")
        (out / "labels" / split / f"{stem}.txt").write_text(label)
        counts[split][s.verdict] += 1
        rows.append({"file": f"images/{split}/{stem}.jpg", "key": s.key, "split": split,
                     "verdict": s.verdict, "type": s.type,
                     "box_xyxy": [round(float(v), 1) for v in box],
                     "model_version": s.model_version})
    (out / MANIFEST).write_text(json.dumps({"crop_px": crop_px, "heldout_share": heldout_share,
                                            "seed": seed, "samples": rows}, indent=1))
    _data_yaml(out / "data.yaml", out, ["images/train"], "images/heldout")
    return {"dir": str(out.resolve()), "samples": len(rows), **counts}


def _data_yaml(path: Path, root: Path, train: list[str], val: str) -> Path:
    lines = [f"path: {root.resolve()}", "train:"] + [f"  - {t}" for t in train]
    lines += [f"val: {val}", "names:"] + [f"  {i}: {n}" for i, n in enumerate(EVENT_TYPES)]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_manifest(reviews_dir: Path | str) -> dict:
    path = Path(reviews_dir) / MANIFEST
    if not path.is_file():
        raise TrainingError(f"no reviewed samples at {reviews_dir}: export them first with "
                            "`flyonce dataset --from-reviews DIR`")
    return json.loads(path.read_text())


# -- scoring -----------------------------------------------------------------------------------
def score_samples(rows: Sequence[dict], detections: Sequence, names: Sequence[str]) -> dict:
    """Per class, how a detector did on reviewed samples: a confirmed sample is found (``tp``)
    when a detection of its class overlaps its box by IoU 0.3, else missed (``fn``); a
    rejected one is fired on again (``fp``) when a detection of its class overlaps the box the
    operator rejected. ``errors`` = fn + fp. ``detections[i]`` are ``Detections`` of row i."""
    out = {t: {"samples": 0, "tp": 0, "fn": 0, "fp": 0, "tn": 0} for t in EVENT_TYPES}
    for row, dets in zip(rows, detections, strict=True):
        c = out[row["type"]]
        c["samples"] += 1
        kinds = np.array([names[int(k)] for k in dets.class_id])
        same = dets.xyxy[kinds == row["type"]] if len(dets) else np.zeros((0, 4))
        hit = bool(len(same)) and bool((iou_matrix(same, [row["box_xyxy"]]) >= IOU_MIN).any())
        key = ("tp" if hit else "fn") if row["verdict"] == "confirm" else ("fp" if hit else "tn")
        c[key] += 1
    for c in out.values():
        c["errors"] = c["fn"] + c["fp"]
        c["precision"] = round(c["tp"] / (c["tp"] + c["fp"]), 4) if c["tp"] + c["fp"] else None
        c["recall"] = round(c["tp"] / (c["tp"] + c["fn"]), 4) if c["tp"] + c["fn"] else None
    return out


def score_weights(weights: Path | str, reviews_dir: Path | str, *, split: str = "heldout",
                  imgsz: int = 320, conf: float = 0.25, device: str = "cpu") -> dict:
    """``score_samples`` of ``weights`` on one split of an export (default: the held-out)."""
    import cv2

    from detection.model import Detector

    reviews_dir = Path(reviews_dir)
    rows = [r for r in read_manifest(reviews_dir)["samples"] if r["split"] == split]
    detector = Detector(weights, imgsz=imgsz, conf=conf, device=device)
    dets = [detector.predict([cv2.imread(str(reviews_dir / r["file"]), cv2.IMREAD_COLOR)])[0]
            for r in rows]
    return score_samples(rows, dets, detector.names)


def worse_classes(candidate: dict, current: dict) -> list[str]:
    """The classes on which the candidate makes more errors (misses + repeated false alarms)
    than the current weights on the same held-out samples: the reasons to refuse it."""
    return [t for t in EVENT_TYPES if candidate[t]["errors"] > current[t]["errors"]]


# -- fine-tuning -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetrainSettings:
    """A fine-tune on reviewed samples: short, gentle, from the current weights."""

    epochs: int = 10
    imgsz: int = 320
    batch: int = 16
    seed: int = 0
    # AdamW; 0.002 (ultralytics' short-run choice) wiped out detections in 2 epochs here, the
    # shipped stages 2-10 fine-tuned at 0.0001-0.0005
    lr0: float = 0.0003
    threads: int = 2
    device: str = "cpu"
    # confirmed training crops are repeated this many times in the mix (rejected ones appear
    # once), so a few dozen verdicts are not drowned by thousands of rendered crops
    review_repeat: int = 3
    score_conf: float = 0.25


def fine_tune(reviews_dir: Path | str, rendered_yaml: Path | str | None, init_weights: Path | str,
              out_dir: Path | str, settings: RetrainSettings = RetrainSettings(),
              parent_version: str | None = None,
              train_fn: Callable | None = None) -> dict:
    """Fine-tune ``init_weights`` (the current model) on the reviewed train split, mixed with
    the train split of ``rendered_yaml`` (None: reviews only), then score the candidate and
    the current weights on the held-out reviewed samples. Writes ``out_dir/review-report.json``
    (what ``flyonce model promote`` reads) and returns it."""
    from detection import train as training
    from detection.versions import version_of

    reviews_dir, out_dir = Path(reviews_dir).resolve(), Path(out_dir).resolve()
    manifest = read_manifest(reviews_dir)
    train_rows = [r for r in manifest["samples"] if r["split"] == "train"]
    held = [r for r in manifest["samples"] if r["split"] == "heldout"]
    if not train_rows:
        raise TrainingError(f"{reviews_dir} has no reviewed samples to train on")
    if not held:
        raise TrainingError(f"{reviews_dir} has no held-out samples to score the candidate on: "
                            "export with a larger --heldout-share, or wait for more reviews")
    if not Path(init_weights).is_file():
        raise WeightsError(f"no weights at {init_weights} to fine-tune")
    # confirmed crops repeated, rejected ones once: a city's operators reject more than they
    # confirm while a detector is new, and a mix of mostly empty images teaches it to fire on
    # nothing (measured: the stall false alarms went, and so did fuel sales it had found)
    images = []
    for r in train_rows:
        images += [str(reviews_dir / r["file"])] * (
            max(1, settings.review_repeat) if r["verdict"] == "confirm" else 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    listing = out_dir / "reviewed-train.txt"
    listing.write_text("".join(f"{path}\n" for path in images))
    train_sources = [str(listing)]
    if rendered_yaml is not None:
        from detection.mine import load_data_yaml

        spec = load_data_yaml(Path(rendered_yaml))
        root = Path(spec.get("path", Path(rendered_yaml).parent))
        rendered = spec["train"] if isinstance(spec["train"], list) else [spec["train"]]
        train_sources += [str((root / t).resolve()) for t in rendered]
    data = _data_yaml(out_dir / "data.yaml", reviews_dir, train_sources, "images/heldout")
    ts = training.TrainSettings(
        epochs=settings.epochs, imgsz=settings.imgsz, batch=settings.batch, seed=settings.seed,
        threads=settings.threads, device=settings.device, init_weights=str(init_weights),
        optimizer="AdamW", lr0=settings.lr0, warmup_epochs=0.0, warmup_bias_lr=0.0,
        close_mosaic=settings.epochs, nbs=settings.batch)
    run = (train_fn or training.train)(data, out_dir, ts)
    best = Path(run["best"])
    if not best.is_file():
        raise TrainingError(f"the fine-tune wrote no weights at {best}")
    candidate = out_dir / "candidate.pt"
    shutil.copyfile(best, candidate)
    kw = {"imgsz": settings.imgsz, "conf": settings.score_conf, "device": settings.device}
    report = {
        "candidate": str(candidate), "candidate_version": version_of(candidate),
        "parent": str(Path(init_weights).resolve()),
        "parent_version": parent_version or version_of(init_weights),
        "reviews": str(reviews_dir), "train_samples": len(train_rows), "heldout_samples": len(held),
        "rendered": str(rendered_yaml) if rendered_yaml is not None else None,
        "settings": asdict(settings),
        "candidate_scores": score_weights(candidate, reviews_dir, **kw),
        "current_scores": score_weights(init_weights, reviews_dir, **kw),
    }
    report["worse_on"] = worse_classes(report["candidate_scores"], report["current_scores"])
    (out_dir / REPORT).write_text(json.dumps(report, indent=1))
    return report


def read_report(candidate: Path | str) -> dict:
    """The review report of a candidate: a run folder, its candidate.pt, or the report itself."""
    path = Path(candidate)
    report = path if path.suffix == ".json" else (path if path.is_dir() else path.parent) / REPORT
    if not report.is_file():
        raise TrainingError(f"no review report for {candidate} (looked for {report}): promote "
                            "a candidate made by `flyonce train --from-reviews`")
    return json.loads(report.read_text())


def with_settings(settings: RetrainSettings, **changes) -> RetrainSettings:
    """``settings`` with the options a caller set (None leaves one as it is)."""
    return replace(settings, **{k: v for k, v in changes.items() if v is not None})


__all__ = [
    "RetrainSettings",
    "ReviewedImage",
    "export_reviews",
    "fine_tune",
    "is_heldout",
    "read_report",
    "score_samples",
    "score_weights",
    "worse_classes",
]
