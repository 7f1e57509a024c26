"""A north-up raster over a window of local metres, with drawing in metres (OpenCV underneath)."""

from __future__ import annotations

import math

import cv2
import numpy as np

_SHIFT = 3  # OpenCV fixed-point bits: sub-pixel corners keep small objects their true shape
_SCALE = 1 << _SHIFT


class Canvas:
    """An image whose pixel (col, row) covers east ``e0 + col/ppm``, north ``n1 - row/ppm``."""

    def __init__(self, bounds_m: tuple[float, float, float, float], px_per_m: float,
                 fill_bgr: tuple[int, int, int] = (90, 120, 110)):
        e0, n0, e1, n1 = bounds_m
        self.bounds_m = bounds_m
        self.px_per_m = float(px_per_m)
        self.width_px = max(1, math.ceil((e1 - e0) * px_per_m))
        self.height_px = max(1, math.ceil((n1 - n0) * px_per_m))
        self.image = np.empty((self.height_px, self.width_px, 3), np.uint8)
        self.image[:] = fill_bgr

    def to_px(self, en: np.ndarray) -> np.ndarray:
        """Float pixel (col, row) of (..., 2) east/north metres."""
        e0, _, _, n1 = self.bounds_m
        en = np.asarray(en, dtype=np.float64)
        return np.stack([(en[..., 0] - e0) * self.px_per_m, (n1 - en[..., 1]) * self.px_per_m],
                        axis=-1)

    def _fixed(self, en: np.ndarray) -> np.ndarray:
        return np.round(self.to_px(en) * _SCALE).astype(np.int32)

    def poly(self, en: np.ndarray, bgr) -> None:
        """Fill a polygon given as (N, 2) east/north metres."""
        cv2.fillPoly(self.image, [self._fixed(en)], _c(bgr), cv2.LINE_AA, _SHIFT)

    def polys(self, ens: list[np.ndarray], bgr) -> None:
        """Fill several polygons with one colour."""
        if ens:
            cv2.fillPoly(self.image, [self._fixed(p) for p in ens], _c(bgr), cv2.LINE_AA, _SHIFT)

    def circle(self, e: float, n: float, radius_m: float, bgr) -> None:
        """Fill a disc."""
        c = self._fixed(np.array([e, n]))
        r = max(1, round(radius_m * self.px_per_m * _SCALE))
        cv2.circle(self.image, (int(c[0]), int(c[1])), r, _c(bgr), -1, cv2.LINE_AA, _SHIFT)

    def line(self, en: np.ndarray, width_m: float, bgr) -> None:
        """Draw a polyline through (N, 2) east/north metres."""
        pts = self._fixed(en)
        t = max(1, round(width_m * self.px_per_m))
        cv2.polylines(self.image, [pts], False, _c(bgr), t, cv2.LINE_AA, _SHIFT)

    def darken(self, ens: list[np.ndarray], factor: float) -> None:
        """Multiply the pixels under the polygons by ``factor`` (shadows), each pixel once."""
        if not ens:
            return
        mask = np.zeros(self.image.shape[:2], np.uint8)
        cv2.fillPoly(mask, [self._fixed(p) for p in ens], 255, cv2.LINE_AA, _SHIFT)
        m = (mask.astype(np.float32) / 255.0)[..., None]
        img = self.image.astype(np.float32)
        self.image = (img * (1.0 - m * (1.0 - factor))).astype(np.uint8)


def _c(bgr) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, v))) for v in bgr)
