"""Sliced (tiled) inference for small objects seen from high up: when to tile, which tiles, and
one box per object across the tiles' seams.

The 84 deg camera's 1280x960 frame puts 0.10 m in a pixel at 90 m and 0.17 m at 150 m, so a
1.5 m stall is 15 px, then 9 px across. The shipped weights learned from 320 px crops at the
camera's own scale over 30-120 m, so they have seen that stall at 11-44 px, never smaller.
Cutting the frame into overlapping tiles and running each tile enlarged brings a stall seen
from higher up back to a size the model knows, at about (tiles x enlargement squared) times the
cost of one frame.

When: the pose's ground sampling distance (metres per pixel at the image centre, from the
altitude, the gimbal pitch and the camera's focal length, the same model that georeferences)
tells how many model-input pixels ``SMALLEST_OBJECT_M`` covers; under ``MIN_OBJECT_PX`` (the
smallest the model saw) the frame is tiled, each tile enlarged to bring it to
``TARGET_OBJECT_PX``. Measured, enlarging frames the model already sees well costs recall and
precision, so "auto" leaves every frame under 111 m whole (see the constants and the model
card).

The library: sahi (Sliced Aided Hyper Inference) supplies the tile geometry
(``get_slice_bboxes``: overlapping tiles, the last one shifted back inside the frame) and the
seam merging (``batched_greedy_nmm``: greedy non-maximum *merging* per class, matched by
intersection over the smaller box). Its model wrappers are not used: sahi's
``UltralyticsDetectionModel`` loads its own copy of the weights, runs PyTorch only and would go
around ``detection.model.Detector``, which keeps ONNX Runtime, one batch for a frame's tiles and
the tracker. Plain IoU NMS (ultralytics' ``non_max_suppression``) is not enough at a seam: the
tile that cuts an object reports a part box whose IoU with the whole box from its neighbour can
be far under 0.5 although it lies inside it; its intersection over the smaller box is ~1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detection.detections import Detections
from detection.georef import CameraModel

#: The smallest object the tiling must bring into range: the narrow side of a small street stall
#: (a mat or a folding table), metres.
SMALLEST_OBJECT_M = 1.5
#: Model-input pixels under which that object is tiled for: the smallest it was in training (the
#: weights learned from the camera's own scale at 30-120 m, where 1.5 m spans 44 to 11.1 px).
#: Within that range enlarging only costs: on frames at 75-120 m, tiles enlarged to bring it to
#: 20 px lowered recall 0.979 -> 0.963 and precision 0.88 -> 0.84 (to 26 px: 0.85 / 0.73), while
#: at 135-180 m, enlarged to 14 px, recall of boxes under 20 px rose 0.82 -> 0.88 (model card).
#: With the default camera, tiling starts at 111 m (nadir).
MIN_OBJECT_PX = 12.0
#: The size a tile's enlargement brings that object to: 14 px did better than 20 px at
#: 135-180 m (recall 0.89 against 0.76); more enlargement gives blurrier objects than any the
#: model saw.
TARGET_OBJECT_PX = 14.0
#: The largest object that must lie whole inside one tile: a van with its drums and hose and a
#: customer's car beside it, metres. Tiles overlap by at least this much, so an object cut by one
#: tile's edge is whole in its neighbour.
LARGEST_OBJECT_M = 8.0
#: Most tiles a side: a 2x2 grid's tiles are run enlarged (1.2x at 111 m to 1.9x at 180 m), so
#: it costs about four times the enlargement squared frames' worth; finer grids cost more for an
#: image that is only interpolated larger.
MAX_GRID = 2
#: Two boxes of one class merge when their intersection covers this share of the smaller one.
MATCH_IOS = 0.5

TILING_MODES = ("auto", "on", "off")


def gsd_m_per_px(camera: CameraModel, alt_rel_m: float, gimbal_pitch_deg: float, width_px: int,
                 height_px: int) -> float:
    """Metres of ground per pixel at the image centre: the slant range along the optical axis
    (the altitude over the sine of the pitch below the horizon) over the focal length in px."""
    down = math.sin(math.radians(-gimbal_pitch_deg))
    if not (down > 0 and alt_rel_m > 0):
        raise ValueError(f"no ground at the image centre for altitude {alt_rel_m} m, "
                         f"gimbal pitch {gimbal_pitch_deg} deg")
    return alt_rel_m / down / camera.matrix(width_px, height_px)[0, 0]


@dataclass(frozen=True)
class TilePlan:
    """An n x n grid of overlapping tiles over a frame of ``frame_wh`` px: each tile
    ``tile_wh`` px, neighbours sharing at least ``overlap_px`` px, run at ``imgsz`` px on its
    long side."""

    frame_wh: tuple[int, int]
    grid: int
    tile_wh: tuple[int, int]
    overlap_px: int
    imgsz: int

    @property
    def scale(self) -> float:
        """How much larger a tile's objects reach the model than they are in the frame."""
        return self.imgsz / max(self.tile_wh)

    def boxes(self) -> np.ndarray:
        """(K, 4) int tile rectangles ``x0, y0, x1, y1`` in frame pixels, row by row."""
        from sahi.slicing import get_slice_bboxes

        (w, h), (tw, th) = self.frame_wh, self.tile_wh
        # sahi takes the overlap as a ratio and floors ratio * size; the half pixel keeps the
        # floor at overlap_px
        return np.array(get_slice_bboxes(h, w, th, tw, auto_slice_resolution=False,
                                         overlap_height_ratio=(self.overlap_px + 0.5) / th,
                                         overlap_width_ratio=(self.overlap_px + 0.5) / tw), int)

    def cut(self, image_bgr: np.ndarray) -> list[np.ndarray]:
        """The tiles of an image, in ``boxes()`` order (contiguous copies, as models want)."""
        return [np.ascontiguousarray(image_bgr[y0:y1, x0:x1]) for x0, y0, x1, y1 in self.boxes()]


def plan_tiles(gsd_m: float, frame_wh: tuple[int, int], imgsz: int, *, force: bool = False,
               smallest_m: float = SMALLEST_OBJECT_M, min_px: float = MIN_OBJECT_PX,
               target_px: float = TARGET_OBJECT_PX, largest_m: float = LARGEST_OBJECT_M,
               max_grid: int = MAX_GRID, stride: int = 32) -> TilePlan | None:
    """The tiles for a frame of ``frame_wh`` px at ``gsd_m`` metres a pixel whose frames run at
    ``imgsz`` on the long side; None when ``smallest_m`` already spans ``min_px`` model-input
    pixels (and not ``force``).

    Each tile runs at the size that brings ``smallest_m`` to ``target_px`` (rounded up to the
    stride; never below the frame's own scale), on a grid of as many tiles a side as that
    enlargement, at least 2 and at most ``max_grid``."""
    w, h = frame_wh
    object_px = smallest_m / gsd_m * imgsz / max(w, h)
    if object_px >= min_px and not force:
        return None
    scale = max(1.0, target_px / object_px)  # over the frame's own input scale
    grid = min(max(2, math.ceil(scale)), max(2, max_grid))
    # whole objects need the overlap; more than half a frame would leave nothing to tile
    overlap = min(math.ceil(largest_m / gsd_m), min(w, h) // 2)
    tile_wh = (math.ceil((w + (grid - 1) * overlap) / grid),
               math.ceil((h + (grid - 1) * overlap) / grid))
    tile_imgsz = math.ceil(max(tile_wh) * imgsz / max(w, h) * scale / stride) * stride
    return TilePlan((w, h), grid, tile_wh, overlap, tile_imgsz)


def merge_tiles(per_tile: list[Detections], tile_boxes: np.ndarray,
                match_ios: float = MATCH_IOS) -> Detections:
    """One frame's detections from its tiles': every box moved by its tile's origin, then boxes
    of one class that overlap by ``match_ios`` of the smaller merged into the most confident
    (the union of their boxes, its confidence), so an object cut by a seam is one box."""
    from sahi.postprocess.combine import batched_greedy_nmm

    if len(per_tile) != len(tile_boxes):
        raise ValueError(f"{len(per_tile)} tiles' detections for {len(tile_boxes)} tiles")
    parts = [(d.xyxy + np.tile(np.asarray(b[:2], float), 2), d.confidence, d.class_id)
             for d, b in zip(per_tile, tile_boxes, strict=True) if len(d)]
    if not parts:
        return Detections.empty()
    xyxy, conf, cls = (np.concatenate(p) for p in zip(*parts, strict=True))
    groups = batched_greedy_nmm(np.column_stack([xyxy, conf, cls]), "IOS", match_ios)
    keep = sorted(groups, key=lambda k: -conf[k])
    merged = np.array([np.concatenate([xyxy[[k, *groups[k]], :2].min(axis=0),
                                       xyxy[[k, *groups[k]], 2:].max(axis=0)]) for k in keep])
    return Detections(merged.reshape(-1, 4), conf[keep], cls[keep].astype(int),
                      np.full(len(keep), -1))
