"""Rendered training data in YOLO format: images, one label file each, and a data.yaml."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from simulators.camera.geometry import CameraPose, Intrinsics, ground_to_image, project
from simulators.camera.randomise import Look
from simulators.camera.render import DroneCamera, RenderedFrame, TrueBox
from simulators.town import VIOLATION_CLASSES, Town, build_town


@dataclass(frozen=True)
class SplitSpec:
    """One split: the towns it is rendered from (by seed), how many images, the pose seed."""

    town_seeds: tuple[int, ...]
    images: int
    seed: int
    crop_px: int | None = None  # cut square crops (2 per frame) instead of whole frames
    # each town renders images / len(town_seeds) frames from its own pose stream, seeded by
    # (seed, town seed), so the towns can be rendered in parallel processes and the files do not
    # depend on how many; False keeps one stream over the towns in turn (the splits the shipped
    # stages 1-6 were trained and tested on)
    per_town: bool = False


# Train, val and test never share a town layout nor a pose seed.
# Train and val are 320 px crops at full resolution, which is four times cheaper to learn from
# on a CPU than whole frames and keeps every object at the scale the camera sees it; the test split
# is whole frames of the camera (1280x960 by default), as the pipeline sees them.
DEFAULT_SPLITS: dict[str, SplitSpec] = {
    "train": SplitSpec((101, 102, 103, 104, 105, 106), 700, 1, crop_px=320),
    "val": SplitSpec((201,), 60, 2, crop_px=320),
    "test": SplitSpec((301, 302), 150, 3),
}


def large_train_split(frames: int, towns: int, first_town: int = 101) -> SplitSpec:
    """A bigger train split for a machine with many cores (``flyonce dataset --train-frames``):
    towns ``first_town``, ``first_town + 1``, ... rendered town by town in parallel. A later
    ``first_town`` gives a fine-tuning run towns no earlier run saw; never the val or test towns."""
    if towns < 1 or frames < towns:
        raise ValueError(f"{frames} frames over {towns} towns: give at least one frame a town")
    if first_town < 1:
        raise ValueError(f"the first train town must be 1 or more, got {first_town}")
    seeds = tuple(range(first_town, first_town + towns))
    held_out = sorted(set(seeds) & {t for name in ("val", "test")
                                    for t in DEFAULT_SPLITS[name].town_seeds})
    if held_out:
        raise ValueError(f"train towns {seeds[0]}-{seeds[-1]} would include held-out town(s) "
                         f"{held_out}: pick a first town whose range stays clear of the val "
                         "and test towns (201, 301-302)")
    return SplitSpec(seeds, frames, 1, crop_px=320, per_town=True)


def sample_pose(town: Town, rng: np.random.Generator) -> CameraPose:
    """A random survey pose, 30-120 m, any heading: 60 % aimed near a violation, 20 % near a
    look-alike (a kind chosen evenly, so the many market stalls do not crowd out the rest),
    20 % anywhere."""
    return sample_view(town, rng)[0]


def sample_view(town: Town, rng: np.random.Generator
                ) -> tuple[CameraPose, tuple[float, float] | None]:
    """``sample_pose``'s pose and the (east_m, north_m) of the object it was aimed at (None for
    a view of anywhere), so a training crop can be cut around that object."""
    violations = [o for o in town.objects if o.label is not None]
    lookalikes: dict[str, list] = {}
    for o in town.lookalikes():
        lookalikes.setdefault(o.kind, []).append(o)
    e_lo, n_lo, e_hi, n_hi = town.bounds_m
    alt = float(rng.uniform(30, 120))
    u = rng.random()
    pool = violations if u < 0.6 else (
        lookalikes[sorted(lookalikes)[int(rng.integers(len(lookalikes)))]] if u < 0.8
        and lookalikes else [])
    target = None
    if pool:
        t = pool[int(rng.integers(len(pool)))]
        target = (t.east_m, t.north_m)
        spread = 0.35 * alt
        e = t.east_m + rng.uniform(-spread, spread)
        n = t.north_m + rng.uniform(-spread, spread)
    else:
        e, n = rng.uniform(e_lo + 50, e_hi - 50), rng.uniform(n_lo + 50, n_hi - 50)
    pitch = float(rng.uniform(-90, -75) if rng.random() < 0.7 else rng.uniform(-75, -45))
    if pitch > -75:  # step back so the oblique view is centred on the chosen spot
        back = alt / np.tan(np.radians(-pitch))
        heading = float(rng.uniform(0, 360))
        e -= back * np.sin(np.radians(heading))
        n -= back * np.cos(np.radians(heading))
        return CameraPose(float(e), float(n), alt, heading, pitch), target
    return CameraPose(float(e), float(n), alt, float(rng.uniform(0, 360)), pitch), target


def yolo_label_lines(boxes: Sequence[TrueBox], width_px: int, height_px: int) -> list[str]:
    """The YOLO label file of a frame: ``class cx cy w h``, all normalised to 0..1."""
    lines = []
    for b in boxes:
        x0, y0, x1, y1 = b.xyxy
        lines.append(f"{b.class_id} {(x0 + x1) / 2 / width_px:.6f} {(y0 + y1) / 2 / height_px:.6f}"
                     f" {(x1 - x0) / width_px:.6f} {(y1 - y0) / height_px:.6f}")
    return lines


def write_sample(out: Path, split: str, stem: str, image_bgr: np.ndarray,
                 boxes: Sequence[TrueBox]) -> None:
    """One YOLO sample: ``out/images/<split>/<stem>.jpg`` (JPEG 95) and its label file."""
    cv2.imwrite(str(out / "images" / split / f"{stem}.jpg"), image_bgr,
                [cv2.IMWRITE_JPEG_QUALITY, 95])
    lines = yolo_label_lines(boxes, image_bgr.shape[1], image_bgr.shape[0])
    (out / "labels" / split / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))


def export_yolo(out_dir: Path | str, splits: dict[str, SplitSpec] | None = None,
                intrinsics: Intrinsics | None = None, town_size_m: float = 700.0,
                progress=None, workers: int = 1) -> Path:
    """Render every split into ``out_dir/{images,labels}/<split>/`` and return its data.yaml.
    ``progress(split, frames_done, frames)`` is called as frames finish; a ``per_town`` split
    renders its towns in up to ``workers`` processes."""
    out = Path(out_dir)
    intrinsics = intrinsics or Intrinsics()
    splits = splits or DEFAULT_SPLITS
    for name, spec in splits.items():
        (out / "images" / name).mkdir(parents=True, exist_ok=True)
        (out / "labels" / name).mkdir(parents=True, exist_ok=True)
        if not spec.per_town:
            _render_split(out, name, spec, intrinsics, town_size_m, progress)
            continue
        # frames shared as evenly as the towns allow, the first towns taking the remainder
        counts = [spec.images // len(spec.town_seeds)
                  + (k < spec.images % len(spec.town_seeds)) for k in range(len(spec.town_seeds))]
        jobs = [(out, name, replace(spec, town_seeds=(t,), images=c, per_town=False), intrinsics,
                 town_size_m, None, (spec.seed, t), f"{name}_t{t}")
                for t, c in zip(spec.town_seeds, counts, strict=True)]
        done = 0
        with (ProcessPoolExecutor(max_workers=workers) if workers > 1
              else contextlib.nullcontext()) as pool:
            for frames in (pool.map if pool else map)(_render_split, *zip(*jobs, strict=True)):
                done += frames
                if progress:
                    progress(name, done, spec.images)
    return write_data_yaml(out, list(splits))


def _render_split(out: Path, name: str, spec: SplitSpec, intrinsics: Intrinsics,
                  town_size_m: float, progress=None, rng_seed: int | tuple[int, int] | None = None,
                  prefix: str | None = None) -> int:
    """Render one pose stream over the split's towns in turn (seeded by ``rng_seed``, else the
    split's seed), files named ``<prefix>_<frame>_<crop>``; return how many frames."""
    half = town_size_m / 2
    towns = [build_town(s, bounds_m=(-half, -half, half, half)) for s in spec.town_seeds]
    cams = [DroneCamera(t, intrinsics) for t in towns]
    rng = np.random.default_rng(spec.seed if rng_seed is None else rng_seed)
    prefix = prefix or name
    for i in range(spec.images):
        cam = cams[i % len(cams)]
        pose, target = sample_view(cam.town, rng)
        frame = cam.render(pose, Look.sample(rng), rng)
        if spec.crop_px:
            # the first crop around what the view was aimed at, so the look-alike views
            # teach what is *not* a violation (cut around a random violation instead, their
            # van or tricycle fell outside the crop more often than not); the second around
            # a random violation in the frame
            aim = None
            if target is not None:
                uv = project(ground_to_image(intrinsics, pose), np.array([target]))[0]
                h, w = frame.image_bgr.shape[:2]
                if np.isfinite(uv).all() and 0 <= uv[0] < w and 0 <= uv[1] < h:
                    aim = (float(uv[0]), float(uv[1]))
            samples = [crop(frame, spec.crop_px, rng, around=True, centre_px=aim),
                       crop(frame, spec.crop_px, rng, around=True)]
        else:
            samples = [(frame.image_bgr, frame.boxes)]
        for k, (image, boxes) in enumerate(samples):
            write_sample(out, name, f"{prefix}_{i:05d}_{k}", image, boxes)
        if progress:
            progress(name, i + 1, spec.images)
    return spec.images


def crop(frame: RenderedFrame, size_px: int, rng: np.random.Generator, around: bool,
         min_visible: float = 0.5, centre_px: tuple[float, float] | None = None
         ) -> tuple[np.ndarray, list[TrueBox]]:
    """A square crop of the frame and its boxes: around ``centre_px`` when given, else around a
    random true box when ``around``, else anywhere; the point lies within 35 % of the side from
    the crop's centre."""
    h, w = frame.image_bgr.shape[:2]
    if centre_px is not None:
        cx = centre_px[0] + rng.uniform(-0.35, 0.35) * size_px
        cy = centre_px[1] + rng.uniform(-0.35, 0.35) * size_px
    elif around and frame.boxes:
        x0, y0, x1, y1 = frame.boxes[int(rng.integers(len(frame.boxes)))].xyxy
        cx = (x0 + x1) / 2 + rng.uniform(-0.35, 0.35) * size_px
        cy = (y0 + y1) / 2 + rng.uniform(-0.35, 0.35) * size_px
    else:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    left = int(np.clip(cx - size_px / 2, 0, w - size_px))
    top = int(np.clip(cy - size_px / 2, 0, h - size_px))
    boxes = []
    for b in frame.boxes:
        x0, y0, x1, y1 = b.xyxy
        c = (max(x0 - left, 0), max(y0 - top, 0), min(x1 - left, size_px), min(y1 - top, size_px))
        if c[2] - c[0] < 3 or c[3] - c[1] < 3:
            continue
        if (c[2] - c[0]) * (c[3] - c[1]) < min_visible * (x1 - x0) * (y1 - y0):
            continue
        boxes.append(TrueBox(b.object_id, b.label, b.class_id, c, b.east_m, b.north_m))
    return frame.image_bgr[top:top + size_px, left:left + size_px].copy(), boxes


def write_data_yaml(out: Path, split_names: Sequence[str]) -> Path:
    """The data.yaml ultralytics reads: the root, the split folders, the class names."""
    lines = [f"path: {out.resolve()}"]
    lines += [f"{s}: images/{s}" for s in split_names]
    lines.append("names:")
    lines += [f"  {i}: {n}" for i, n in enumerate(VIOLATION_CLASSES)]
    path = out / "data.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path
