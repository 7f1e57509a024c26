"""The frame a drone camera sees of the town, with the true box of every violation in it."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from simulators.camera.geometry import (
    CameraPose,
    Intrinsics,
    ground_to_image,
    image_to_ground,
    project,
)
from simulators.camera.randomise import Look, apply_look
from simulators.town import VIOLATION_CLASSES, Town, render_ortho

_MAX_ORTHO_PX = 2600  # the ortho window is capped; beyond it far ground is drawn coarser
#: The gimbal's pitch range, degrees: nadir to oblique (steeper than -40 the view reaches the horizon).
PITCH_RANGE_DEG = (-90.0, -40.0)
_MIN_VISIBLE = 0.5  # a box cut by the frame edge keeps its label if this much of it is inside


@dataclass(frozen=True)
class TrueBox:
    """A violation in a frame: its class and its pixel box (x0, y0, x1, y1)."""

    object_id: int
    label: str
    class_id: int
    xyxy: tuple[float, float, float, float]
    east_m: float
    north_m: float


@dataclass(frozen=True)
class RenderedFrame:
    """An image (BGR, uint8) with the pose it was taken from and its true boxes."""

    image_bgr: np.ndarray
    pose: CameraPose
    boxes: list[TrueBox]
    look: Look


class DroneCamera:
    """Renders a town through a pinhole camera by warping the ground plane (OpenCV homography)."""

    def __init__(self, town: Town, intrinsics: Intrinsics | None = None):
        self.town = town
        self.intrinsics = intrinsics or Intrinsics()

    def pose_at(self, lat: float, lon: float, alt_rel_m: float, heading_deg: float,
                gimbal_pitch_deg: float = -90.0) -> CameraPose:
        """A camera pose from WGS84 position (needs a town with a frame)."""
        if self.town.frame is None:
            raise ValueError("this town has no geographic frame; give poses in local metres")
        e, n = self.town.frame.to_local(lat, lon)
        return CameraPose(float(e), float(n), alt_rel_m, heading_deg, gimbal_pitch_deg)

    def render(self, pose: CameraPose, look: Look | None = None,
               rng: np.random.Generator | None = None) -> RenderedFrame:
        """The frame seen from ``pose`` under ``look`` (clear conditions when None)."""
        lo, hi = PITCH_RANGE_DEG
        if not (lo <= pose.gimbal_pitch_deg <= hi):
            raise ValueError(f"gimbal pitch {pose.gimbal_pitch_deg} deg is outside {lo:g} (nadir) "
                             f"to {hi:g} (oblique); the view would reach the horizon")
        if not (1.0 <= pose.alt_rel_m <= 500.0):
            raise ValueError(f"altitude {pose.alt_rel_m} m is outside 1..500 m")
        look = look or Look.clear()
        rng = rng or np.random.default_rng(0)
        intr = self.intrinsics
        w, h = intr.width_px, intr.height_px
        H = ground_to_image(intr, pose)
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
        footprint = image_to_ground(intr, pose, corners)
        e0, n0 = footprint.min(axis=0) - 2.0
        e1, n1 = footprint.max(axis=0) + 2.0
        # resolve the nearest ground (bottom centre) at one ortho pixel per image pixel
        near = image_to_ground(intr, pose, np.array([[w / 2, h - 1], [w / 2 + 1, h - 1]]))
        px_per_m = 1.0 / max(float(np.linalg.norm(near[1] - near[0])), 1e-3)
        px_per_m = min(px_per_m, _MAX_ORTHO_PX / max(e1 - e0, n1 - n0), 30.0)
        ortho = render_ortho(self.town, (e0, n0, e1, n1), px_per_m, look.sun)
        ortho_to_ground = np.array([[1 / px_per_m, 0, e0], [0, -1 / px_per_m, n1], [0, 0, 1]])
        image = cv2.warpPerspective(ortho, H @ ortho_to_ground, (w, h), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
        depth = None
        if look.haze > 0:
            rows = np.linspace(0, h - 1, 9)
            dist = np.linalg.norm(image_to_ground(intr, pose, np.column_stack(
                [np.full_like(rows, w / 2), rows])) - [pose.east_m, pose.north_m], axis=1)
            slant = np.hypot(dist, pose.alt_rel_m)
            rel = np.clip(slant / 400.0, 0, 1)
            depth = np.repeat(np.interp(np.arange(h), rows, rel)[:, None], w, axis=1)
        image = apply_look(image, look, rng, depth)
        return RenderedFrame(image, pose, self._boxes(H, (e0, n0, e1, n1)), look)

    def _boxes(self, H: np.ndarray, bounds) -> list[TrueBox]:
        w, h = self.intrinsics.width_px, self.intrinsics.height_px
        out = []
        for o in self.town.objects_in(*bounds):
            if o.label is None:
                continue
            px = project(H, o.footprint_en())
            if np.isnan(px).any():
                continue
            x0, y0 = px.min(axis=0)
            x1, y1 = px.max(axis=0)
            cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if cx1 - cx0 < 3 or cy1 - cy0 < 3:
                continue
            if (cx1 - cx0) * (cy1 - cy0) < _MIN_VISIBLE * (x1 - x0) * (y1 - y0):
                continue
            out.append(TrueBox(o.object_id, o.label, VIOLATION_CLASSES.index(o.label),
                               (float(cx0), float(cy0), float(cx1), float(cy1)), o.east_m,
                               o.north_m))
        return out


def ground_sample_distance_m(intr: Intrinsics, alt_rel_m: float) -> float:
    """Metres per pixel straight below a nadir camera at ``alt_rel_m``."""
    return alt_rel_m / intr.focal_px


__all__ = ["DroneCamera", "RenderedFrame", "TrueBox", "ground_sample_distance_m"]
