"""The pinhole camera of a drone: intrinsics from the field of view, and the ground homography.

World axes are local east, north, up (metres); the camera's are x right, y down, z forward.
The gimbal pitch is measured from the horizon: -90 looks straight down (nadir), -45 is oblique.
At nadir the top of the image points along the heading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """A distortion-free camera of ``diag_fov_deg`` across its diagonal (84 deg: common DJI).

    1280x960 by default: the 4:3 frame of an 84 deg survey camera at the low end of what such a
    drone streams (DJI's stream 1080p to 4K). At 640x480 a 2 m stall seen from 120 m is 7 px,
    below what any detector finds reliably; at 1280x960 it is 15 px (see the model card).
    """

    width_px: int = 1280
    height_px: int = 960
    diag_fov_deg: float = 84.0

    @property
    def focal_px(self) -> float:
        """Focal length in pixels."""
        diag = math.hypot(self.width_px, self.height_px)
        return 0.5 * diag / math.tan(math.radians(self.diag_fov_deg) / 2)

    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        f = self.focal_px
        return np.array([[f, 0, self.width_px / 2], [0, f, self.height_px / 2], [0, 0, 1.0]])


@dataclass(frozen=True)
class CameraPose:
    """Where the camera is (local metres, altitude above the ground plane) and where it looks."""

    east_m: float
    north_m: float
    alt_rel_m: float
    heading_deg: float
    gimbal_pitch_deg: float = -90.0


def world_to_camera(heading_deg: float, gimbal_pitch_deg: float) -> np.ndarray:
    """Rotation R (3x3) with camera = R @ (world - position), world axes east, north, up."""
    h, p = math.radians(heading_deg), math.radians(gimbal_pitch_deg)
    fwd = np.array([math.sin(h), math.cos(h), 0.0])
    right = np.array([math.cos(h), -math.sin(h), 0.0])
    up = np.array([0.0, 0.0, 1.0])
    z = math.cos(p) * fwd + math.sin(p) * up
    y = math.sin(p) * fwd - math.cos(p) * up
    return np.stack([right, y, z])


def ground_to_image(intr: Intrinsics, pose: CameraPose) -> np.ndarray:
    """Homography (3x3) taking ground (east_m, north_m, 1) to image (u, v, w) pixels."""
    R = world_to_camera(pose.heading_deg, pose.gimbal_pitch_deg)
    c = np.array([pose.east_m, pose.north_m, pose.alt_rel_m])
    return intr.matrix() @ np.column_stack([R[:, 0], R[:, 1], -R @ c])


def project(h: np.ndarray, en: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) of ground points (N, 2); NaN where a point lies behind the camera."""
    en = np.asarray(en, dtype=np.float64).reshape(-1, 2)
    q = np.column_stack([en, np.ones(len(en))]) @ h.T
    out = q[:, :2] / q[:, 2:3]
    out[q[:, 2] <= 1e-9] = np.nan
    return out


def image_to_ground(intr: Intrinsics, pose: CameraPose, uv: np.ndarray) -> np.ndarray:
    """Ground points (N, 2) seen at pixels (N, 2); NaN for rays at or above the horizon."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    R = world_to_camera(pose.heading_deg, pose.gimbal_pitch_deg)
    rays = np.column_stack([uv, np.ones(len(uv))]) @ np.linalg.inv(intr.matrix()).T @ R
    dz = rays[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(dz < -1e-9, -pose.alt_rel_m / dz, np.nan)
    return np.column_stack([pose.east_m + t * rays[:, 0], pose.north_m + t * rays[:, 1]])
