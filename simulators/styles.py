"""Scene styles: independent renderers of the same two violations, for training and for
leave-one-style-out evaluation.

    town    today's synthetic town (simulators.town + simulators.camera): an orthophoto warped
            through the camera
    bazaar  simulators.bazaar: nadir views drawn straight in image space, vector shapes over
            procedural surfaces, other forms of stall and fuel sale, look-alikes, hard sun
    dusk    simulators.dusk: 3-D boxes seen nadir to 35 deg oblique, ground of photographs
            (scikit-image's shipped images), dusk light, rain, motion blur, video compression
    varied  simulators.varied (training only): every colour, outline, proportion and count drawn
            at random per scene, over noise, with a random sensor and oblique warp; solids in
            3-D as the warp's camera sees them

The four share no drawing code; they share only the camera geometry (simulators.camera.geometry)
and the label types below. ``bazaar`` and ``dusk`` draw one scene per seed, laid out around the
camera, so any frame can be drawn again from its seed alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.camera.geometry import CameraPose
from simulators.camera.render import TrueBox

STYLES: tuple[str, ...] = ("town", "bazaar", "dusk")
#: styles that only train: ``varied`` (simulators.varied) randomises every look per scene, so a
#: leave-one-style-out model may add it to its training styles; it is never a left-out style
TRAINING_STYLES: tuple[str, ...] = ("varied",)
#: the share of a box that must stay inside the frame (or a crop) for it to keep its label
MIN_VISIBLE = 0.5


@dataclass(frozen=True)
class DrawnItem:
    """One thing drawn in a frame: its kind, its label (None for a look-alike or clutter), and
    the pixel box around every point of it, before clipping to the frame."""

    item_id: int
    kind: str
    label: str | None
    xyxy: tuple[float, float, float, float]


@dataclass(frozen=True)
class StyleFrame:
    """A frame of a style: the image (BGR), its pose, the labelled boxes, everything drawn, and
    where the view was aimed (pixel), if at something."""

    image_bgr: np.ndarray
    pose: CameraPose
    boxes: list[TrueBox]
    drawn: list[DrawnItem]
    aim_px: tuple[float, float] | None = None
    ids: np.ndarray | None = None  # (H, W) uint16 item_id + 1 of the pixel's top item; 0 none


def aim_at(drawn: list[DrawnItem], width_px: int, height_px: int, rng,
           lookalikes: tuple[str, ...], violation_share: float = 0.6,
           lookalike_share: float = 0.25) -> tuple[float, float] | None:
    """Where a training crop is cut (pixel): the centre of a violation in the frame
    (``violation_share`` of the time), of a look-alike (``lookalike_share``), or nowhere."""
    inside = [d for d in drawn if 0 <= (d.xyxy[0] + d.xyxy[2]) / 2 < width_px
              and 0 <= (d.xyxy[1] + d.xyxy[3]) / 2 < height_px]
    u = rng.random()
    pool = ([d for d in inside if d.label] if u < violation_share else
            [d for d in inside if d.kind in lookalikes]
            if u < violation_share + lookalike_share else [])
    if not pool:
        return None
    d = pool[int(rng.integers(len(pool)))]
    return ((d.xyxy[0] + d.xyxy[2]) / 2, (d.xyxy[1] + d.xyxy[3]) / 2)


def clip_box(xyxy, width_px: int, height_px: int, min_visible: float = MIN_VISIBLE
             ) -> tuple[float, float, float, float] | None:
    """The part of a box inside the frame, or None when under 3 px a side or when less than
    ``min_visible`` of it is inside (the rule of simulators.camera's own labels)."""
    x0, y0, x1, y1 = (float(v) for v in xyxy)
    cx0, cy0, cx1, cy1 = max(x0, 0.0), max(y0, 0.0), min(x1, width_px), min(y1, height_px)
    if cx1 - cx0 < 3 or cy1 - cy0 < 3:
        return None
    if (cx1 - cx0) * (cy1 - cy0) < min_visible * (x1 - x0) * (y1 - y0):
        return None
    return cx0, cy0, cx1, cy1


def true_boxes(drawn: list[DrawnItem], width_px: int, height_px: int,
               classes: tuple[str, ...]) -> list[TrueBox]:
    """The labels of a frame: every labelled item whose box survives ``clip_box``."""
    out = []
    for d in drawn:
        if d.label is None:
            continue
        c = clip_box(d.xyxy, width_px, height_px)
        if c is not None:
            out.append(TrueBox(d.item_id, d.label, classes.index(d.label), c, 0.0, 0.0))
    return out


def render_style(style: str, seed: int, intrinsics=None, with_ids: bool = False) -> StyleFrame:
    """Frame ``seed`` of ``bazaar``, ``dusk`` or ``varied`` (``town`` frames come from
    simulators.camera)."""
    if style == "bazaar":
        from simulators.bazaar import render_seed
    elif style == "dusk":
        from simulators.dusk import render_seed
    elif style == "varied":
        from simulators.varied import render_seed
    else:
        raise ValueError(f"no seeded renderer for style {style!r}: give one of bazaar, dusk, "
                         "varied")
    return render_seed(seed, intrinsics, with_ids=with_ids)


# ---- datasets -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StyleSplit:
    """One split of a seeded style: frames ``first_seed`` .. ``first_seed + images - 1``, cut
    into two ``crop_px`` crops each (None: whole frames)."""

    images: int
    first_seed: int
    crop_px: int | None = None


# Train, val and test never share a seed; like the town's, train and val are 320 px crops at
# full resolution and test is whole 1280x960 frames.
STYLE_SPLITS: dict[str, StyleSplit] = {
    "train": StyleSplit(700, 1_000_000, crop_px=320),
    "val": StyleSplit(60, 2_000_000, crop_px=320),
    "test": StyleSplit(150, 3_000_000),
}


def export_style_yolo(out_dir, style: str, splits: dict[str, StyleSplit] | None = None,
                      intrinsics=None, progress=None, workers: int = 1):
    """Render ``style`` (bazaar or dusk) into ``out_dir/{images,labels}/<split>/`` in the town
    dataset's layout and return its data.yaml; frames are rendered in up to ``workers``
    processes, and the files do not depend on how many."""
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    from simulators.camera.dataset import write_data_yaml

    out = Path(out_dir)
    splits = splits or STYLE_SPLITS
    for name, spec in splits.items():
        (out / "images" / name).mkdir(parents=True, exist_ok=True)
        (out / "labels" / name).mkdir(parents=True, exist_ok=True)
        step = max(1, -(-spec.images // max(1, workers * 4)))
        chunks = [(style, out, name, spec, s, min(s + step, spec.images), intrinsics)
                  for s in range(0, spec.images, step)]
        done = 0
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for n in pool.map(_export_chunk, *zip(*chunks, strict=True)):
                    done += n
                    if progress:
                        progress(name, done, spec.images)
        else:
            for chunk in chunks:
                done += _export_chunk(*chunk)
                if progress:
                    progress(name, done, spec.images)
    return write_data_yaml(out, list(splits))


def _export_chunk(style, out, name, spec: StyleSplit, start: int, stop: int, intrinsics) -> int:
    from simulators.camera.dataset import crop, write_sample

    for i in range(start, stop):
        seed = spec.first_seed + i
        frame = render_style(style, seed, intrinsics)
        if spec.crop_px:
            # the first crop around what the view was aimed at (a violation or a look-alike),
            # the second around a random violation, as the town's crops are cut
            rng = np.random.default_rng([seed, 17])
            samples = [crop(frame, spec.crop_px, rng, around=True, centre_px=frame.aim_px),
                       crop(frame, spec.crop_px, rng, around=True)]
        else:
            samples = [(frame.image_bgr, frame.boxes)]
        for k, (image, boxes) in enumerate(samples):
            write_sample(out, name, f"{style}_{name}_{i:05d}_{k}", image, boxes)
    return stop - start
