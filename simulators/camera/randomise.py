"""Domain randomisation: the light, the air and the sensor that stand between town and frame."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from simulators.town import Sun


@dataclass(frozen=True)
class Look:
    """One draw of the conditions a frame is seen under."""

    sun: Sun
    gain: float  # overall exposure
    gamma: float
    channel_gain_bgr: tuple[float, float, float]  # white balance / colour cast
    haze: float  # 0 clear .. 1 white-out, at the far edge of an oblique view
    blur_px: float  # motion blur length
    blur_angle_deg: float
    noise_sigma: float  # sensor noise, grey levels
    jpeg_quality: int  # 100 = no artefacts

    @classmethod
    def clear(cls) -> Look:
        """Noon, no haze, a perfect sensor: for tests that check geometry."""
        return cls(Sun(135.0, 60.0), 1.0, 1.0, (1.0, 1.0, 1.0), 0.0, 0.0, 0.0, 0.0, 100)

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Look:
        """A random, heavy but plausible, set of conditions."""
        return cls(
            Sun(float(rng.uniform(0, 360)), float(rng.uniform(20, 80))),
            float(rng.uniform(0.6, 1.3)),
            float(rng.uniform(0.75, 1.3)),
            tuple(float(g) for g in rng.uniform(0.85, 1.15, 3)),
            float(rng.uniform(0.0, 0.35) if rng.random() < 0.6 else 0.0),
            float(rng.uniform(0, 6) if rng.random() < 0.5 else 0.0),
            float(rng.uniform(0, 180)),
            float(rng.uniform(0, 9)),
            int(rng.integers(35, 96)),
        )


def apply_look(image_bgr: np.ndarray, look: Look, rng: np.random.Generator,
               depth_rel: np.ndarray | None = None) -> np.ndarray:
    """The image as the sensor records it. ``depth_rel`` (H, W), 0 near .. 1 far, shapes the haze."""
    img = image_bgr.astype(np.float32) / 255.0
    img = np.power(np.clip(img * look.gain, 0, 1), look.gamma)
    img *= np.array(look.channel_gain_bgr, np.float32)
    if look.haze > 0:
        h = look.haze * (0.4 + 0.6 * depth_rel if depth_rel is not None else 1.0)
        h = np.asarray(h, np.float32)
        if h.ndim == 2:
            h = h[..., None]
        img = img * (1 - h) + np.array([0.85, 0.83, 0.80], np.float32) * h
    img = np.clip(img * 255.0, 0, 255)
    if look.blur_px >= 1.0:
        k = math.ceil(look.blur_px) | 1
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), look.blur_angle_deg, 1.0)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        kernel /= max(kernel.sum(), 1e-6)
        img = cv2.filter2D(img, -1, kernel)
    if look.noise_sigma > 0:
        img = img + rng.normal(0.0, look.noise_sigma, img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if look.jpeg_quality < 100:
        _ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, look.jpeg_quality])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out
