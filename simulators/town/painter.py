"""The orthophoto of any window of the town, drawn on demand at any resolution."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from simulators.town import sprites
from simulators.town.canvas import Canvas
from simulators.town.layout import Town
from simulators.town.objects import Road

# Drawn bottom to top; violations last, so what is labelled is always what is seen.
_ORDER = {"building": 0, "car": 1, "van": 1, "pedestrian": 1, "delivery_tricycle": 1,
          "market_stall": 2, "tree": 3, "street_stall": 4, "mobile_fuel_sale": 4}
_BLOCK_FILL = {"buildings": (95, 135, 120), "park": (70, 140, 90), "parking": (88, 90, 92),
               "market": (170, 185, 195)}


@dataclass(frozen=True)
class Sun:
    """Where the light comes from: azimuth clockwise from north, elevation above the horizon."""

    azimuth_deg: float = 135.0
    elevation_deg: float = 50.0

    def shadow_offset_en(self) -> np.ndarray:
        """Ground offset (east, north) of the shadow of a point 1 m up."""
        el = math.radians(max(5.0, self.elevation_deg))
        az = math.radians(self.azimuth_deg)
        return -np.array([math.sin(az), math.cos(az)]) / math.tan(el)


def render_ortho(town: Town, bounds_m: tuple[float, float, float, float], px_per_m: float,
                 sun: Sun = Sun()) -> np.ndarray:
    """A north-up BGR orthophoto of ``bounds_m`` (east_min, north_min, east_max, north_max).

    Pixel (col, row) covers east ``east_min + col/px_per_m``, north ``north_max - row/px_per_m``.
    Only the objects that reach the window are drawn, so any window of a large town is cheap.
    """
    if px_per_m <= 0 or not all(math.isfinite(v) for v in bounds_m):
        raise ValueError(f"render_ortho needs finite bounds and px_per_m > 0, got "
                         f"{bounds_m}, {px_per_m}")
    cv = Canvas(bounds_m, px_per_m, fill_bgr=(95, 125, 115))
    _ground(cv, town)
    objs = sorted(town.objects_in(*bounds_m), key=lambda o: (_ORDER[o.kind], o.object_id))
    offset = sun.shadow_offset_en()
    shadows = [p for o in objs if (p := sprites.shadow_polygon(o, offset)) is not None]
    cv.darken(shadows, 0.55)
    for o in objs:
        sprites.draw(cv, o)
    return _textured(cv)


def _ground(cv: Canvas, town: Town) -> None:
    e0, n0, e1, n1 = cv.bounds_m
    for b in town.blocks:
        if b.east_max_m < e0 or b.east_min_m > e1 or b.north_max_m < n0 or b.north_min_m > n1:
            continue
        cv.poly(_rect(b.east_min_m, b.north_min_m, b.east_max_m, b.north_max_m),
                _BLOCK_FILL[b.kind])
        if b.kind == "parking":
            for e in np.arange(b.east_min_m + 4, b.east_max_m - 3 + 0.01, 2.6):
                for n in np.arange(b.north_min_m + 6, b.north_max_m - 5, 12.0):
                    cv.line(np.array([[e, n - 2.6], [e, n + 2.6]]), 0.12, (220, 220, 220))
        if b.kind == "market":  # painted bays: where the permit says a stall may stand
            for e in np.arange(b.east_min_m + 6, b.east_max_m - 5, 4.0):
                for n in np.arange(b.north_min_m + 6, b.north_max_m - 5, 9.0):
                    sq = _rect(e - 0.1, n - 1.9, e + 3.6, n + 1.9)
                    cv.line(np.vstack([sq, sq[:1]]), 0.12, (250, 250, 250))
    roads = [r for r in town.roads if _road_visible(r, cv.bounds_m)]
    for r in roads:  # sidewalks first, so crossing roads cut through them
        cv.poly(_road_rect(r, r.width_m / 2 + r.sidewalk_m, town), (160, 165, 168))
    for r in roads:
        cv.poly(_road_rect(r, r.width_m / 2, town), (72, 74, 76))
    for r in roads:
        _markings(cv, r, town)


def _markings(cv: Canvas, r: Road, town: Town) -> None:
    lo, hi = _span(r, town)
    gaps = sorted((c.center_m - c.width_m / 2, c.center_m + c.width_m / 2)
                  for c in town.roads if c.axis != r.axis)
    segments, start = [], lo
    for a, b in gaps:
        segments.append((start, a))
        start = b
    segments.append((start, hi))
    half = r.width_m / 2
    white, yellow = (225, 228, 230), (40, 190, 225)
    for a, b in segments:
        if b - a < 4:
            continue
        for off in (-half + 0.3, half - 0.3):  # edge lines
            cv.line(_pts(r, [(a, off), (b, off)]), 0.15, white)
        if r.lanes > 2:
            for off in (-0.2, 0.2):
                cv.line(_pts(r, [(a, off), (b, off)]), 0.15, yellow)
            for off in (-half / 2, half / 2):
                for s in np.arange(a + 1, b - 3, 9.0):
                    cv.line(_pts(r, [(s, off), (s + 3, off)]), 0.15, white)
        else:
            for s in np.arange(a + 1, b - 3, 7.0):
                cv.line(_pts(r, [(s, 0), (s + 3, 0)]), 0.15, white)
        for end in (a, b - 3.5):  # zebra crossings at both ends
            if end <= lo + 1 or end + 3.5 >= hi - 1:
                continue
            for c in np.arange(-half + 0.6, half - 0.3, 1.0):
                p = _pts(r, [(end + 0.3, c), (end + 3.2, c), (end + 3.2, c + 0.5),
                             (end + 0.3, c + 0.5)])
                cv.poly(p, white)


def _span(r: Road, town: Town) -> tuple[float, float]:
    e0, n0, e1, n1 = town.bounds_m
    return (n0, n1) if r.axis == "ns" else (e0, e1)


def _pts(r: Road, along_off: list[tuple[float, float]]) -> np.ndarray:
    """Points given as (along, offset) on a road, as east/north metres."""
    if r.axis == "ns":
        return np.array([(r.center_m + off, a) for a, off in along_off], dtype=np.float64)
    return np.array([(a, r.center_m + off) for a, off in along_off], dtype=np.float64)


def _road_rect(r: Road, half: float, town: Town) -> np.ndarray:
    lo, hi = _span(r, town)
    return _pts(r, [(lo, -half), (hi, -half), (hi, half), (lo, half)])


def _road_visible(r: Road, bounds_m) -> bool:
    e0, n0, e1, n1 = bounds_m
    reach = r.width_m / 2 + r.sidewalk_m
    lo, hi = (e0, e1) if r.axis == "ns" else (n0, n1)
    return r.center_m + reach >= lo and r.center_m - reach <= hi


def _rect(e0: float, n0: float, e1: float, n1: float) -> np.ndarray:
    return np.array([(e0, n0), (e1, n0), (e1, n1), (e0, n1)], dtype=np.float64)


@lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    """A seamless grain tile (periodic low-pass noise), 0.25 m per pixel, mean 1."""
    rng = np.random.default_rng(12345)
    white = rng.normal(size=(256, 256))
    f = np.fft.fft2(white)
    ky, kx = np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256), indexing="ij")
    f *= np.exp(-(kx**2 + ky**2) / (2 * 0.08**2))
    n = np.real(np.fft.ifft2(f))
    n = (n - n.mean()) / (n.std() + 1e-9)
    return (1.0 + 0.06 * n).astype(np.float32)


def _textured(cv: Canvas) -> np.ndarray:
    # grain fixed to the ground (not the frame), so the same place looks the same from every pose
    e0, _, _, n1 = cv.bounds_m
    cols = e0 + (np.arange(cv.width_px, dtype=np.float32) + 0.5) / cv.px_per_m
    rows = n1 - (np.arange(cv.height_px, dtype=np.float32) + 0.5) / cv.px_per_m
    mx = np.broadcast_to((cols * 4.0) % 256, (cv.height_px, cv.width_px)).astype(np.float32)
    my = np.broadcast_to(((-rows * 4.0) % 256)[:, None], (cv.height_px, cv.width_px)).astype(
        np.float32)
    grain = cv2.remap(_noise_tile(), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return np.clip(cv.image.astype(np.float32) * grain[..., None], 0, 255).astype(np.uint8)
