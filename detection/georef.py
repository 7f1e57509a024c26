"""Where on the ground a pixel is: the camera model, the pose, the ground plane at home altitude.

World axes are local east, north, up; the camera looks along its heading, pitched down by the
gimbal (-90 = nadir; at nadir the top of the image points along the heading).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class CameraModel:
    """A distortion-free pinhole camera known by its diagonal field of view (84 deg by default).

    The focal length follows the frame's size, so a downscaled video keeps the same geometry.
    """

    diag_fov_deg: float = 84.0

    def matrix(self, width_px: int, height_px: int) -> np.ndarray:
        """The 3x3 camera matrix K for frames of this size."""
        f = 0.5 * math.hypot(width_px, height_px) / math.tan(math.radians(self.diag_fov_deg) / 2)
        return np.array([[f, 0, width_px / 2], [0, f, height_px / 2], [0, 0, 1.0]])


@dataclass(frozen=True)
class Pose:
    """The drone's camera pose at one instant: WGS84 position, metres above home, where it looks."""

    time: datetime | None
    lat: float
    lon: float
    alt_rel_m: float
    heading_deg: float
    gimbal_pitch_deg: float = -90.0


def _camera_axes(heading_deg: float, gimbal_pitch_deg: float) -> np.ndarray:
    h, p = math.radians(heading_deg), math.radians(gimbal_pitch_deg)
    fwd = np.array([math.sin(h), math.cos(h), 0.0])
    right = np.array([math.cos(h), -math.sin(h), 0.0])
    up = np.array([0.0, 0.0, 1.0])
    # rows: image x (right), image y (down), optical axis; world = rows.T @ camera
    return np.stack([right, math.sin(p) * fwd - math.cos(p) * up, math.cos(p) * fwd
                     + math.sin(p) * up])


def ground_offsets_m(camera: CameraModel, pose: Pose, uv: np.ndarray, width_px: int,
                     height_px: int) -> np.ndarray:
    """(N, 2) east/north metres from the drone to the ground seen at pixels ``uv`` (N, 2).

    The ground is the plane ``alt_rel_m`` below the camera (home altitude); rays at or above the
    horizon give NaN.
    """
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    rays_cam = np.column_stack([uv, np.ones(len(uv))]) @ np.linalg.inv(
        camera.matrix(width_px, height_px)).T
    rays = rays_cam @ _camera_axes(pose.heading_deg, pose.gimbal_pitch_deg)
    dz = rays[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(dz < -1e-6, -pose.alt_rel_m / dz, np.nan)
    return np.column_stack([t * rays[:, 0], t * rays[:, 1]])


def position_error_m(camera: CameraModel, pose: Pose, offsets_en: np.ndarray, width_px: int,
                     height_px: int, gnss_m: float = 1.5, heading_err_deg: float = 2.0,
                     alt_err_m: float = 1.0, pitch_err_deg: float = 1.0) -> np.ndarray:
    """(N,) 1-sigma horizontal error of georeferenced points, from the usual pose errors.

    Sums in quadrature: the GNSS fix, the heading error swung over the ground range, the altitude
    error and gimbal pitch error along the line of sight, and a quarter box of pixel error.
    """
    rng_m = np.hypot(offsets_en[:, 0], offsets_en[:, 1])
    off_nadir = np.arctan2(rng_m, pose.alt_rel_m)
    gsd = np.hypot(rng_m, pose.alt_rel_m) / camera.matrix(width_px, height_px)[0, 0]
    along = pose.alt_rel_m * (np.tan(off_nadir + math.radians(pitch_err_deg)) - np.tan(off_nadir))
    return np.sqrt(gnss_m**2 + (rng_m * math.radians(heading_err_deg))**2
                   + (alt_err_m * np.tan(off_nadir))**2 + along**2 + (4.0 * gsd)**2)
