"""Drawing a bazaar scene straight into the camera's image: surfaces as functions of the ground
point under each pixel, things as projected polygons, sun shadows, and a sensor of its own."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.bazaar.scene import Scene, build_scene
from simulators.camera.geometry import CameraPose, Intrinsics, ground_to_image, project
from simulators.styles import DrawnItem, StyleFrame, aim_at, true_boxes
from simulators.town.objects import VIOLATION_CLASSES

_SHIFT = 4
LOOKALIKE_KINDS = ("empty_pickup", "parcel_tricycle", "cafe_umbrellas", "permitted_market")
ALT_RANGE_M = (40.0, 90.0)


def render_seed(seed: int, intrinsics: Intrinsics | None = None, with_ids: bool = False
                ) -> StyleFrame:
    """Frame ``seed``: a nadir view at 40-90 m over a street laid out for it."""
    intr = intrinsics or Intrinsics()
    rng = np.random.default_rng([seed, 0xBA2])
    alt = float(rng.uniform(*ALT_RANGE_M))
    pose = CameraPose(0.0, 0.0, alt, float(rng.uniform(0, 360)), -90.0)
    gsd = alt / intr.focal_px
    radius = 0.5 * math.hypot(intr.width_px, intr.height_px) * gsd + 4.0
    scene = build_scene(rng, (0.0, 0.0), radius)
    return render(scene, pose, intr, rng, with_ids=with_ids)


def render(scene: Scene, pose: CameraPose, intr: Intrinsics, rng: np.random.Generator,
           with_ids: bool = False, sensor: bool = True) -> StyleFrame:
    """The image of ``scene`` from ``pose`` (nadir or near it), its labels and what was drawn."""
    w, h = intr.width_px, intr.height_px
    H = ground_to_image(intr, pose)
    gsd = pose.alt_rel_m / intr.focal_px
    img = _surfaces(scene, H, w, h, gsd, rng)
    # shadows: each part's outline moved away from the sun by height / tan(elevation)
    az, el = math.radians(scene.sun_azimuth_deg), math.radians(scene.sun_elevation_deg)
    away = -np.array([math.sin(az), math.cos(az)]) / math.tan(el)
    shade = np.zeros((h, w), np.uint8)
    for t in scene.things:
        polys = [_px(H, t.world(p.pts) + away * p.height_m) for p in t.parts
                 if p.height_m > 0.3 and not p.line_m]
        if polys:
            cv2.fillPoly(shade, polys, 255, cv2.LINE_AA, _SHIFT)
    img = (img * (1.0 - 0.5 * shade[..., None].astype(np.float32) / 255.0)).astype(np.uint8)
    ids = np.zeros((h, w), np.uint16) if with_ids else None
    drawn = []
    order = sorted(range(len(scene.things)), key=lambda i: scene.things[i].layer)
    for i in order:
        t = scene.things[i]
        pts_all = []
        for p in t.parts:
            q = _px(H, t.world(p.pts))
            pts_all.append(q)
            if p.line_m:
                th = max(1, round(p.line_m / gsd))
                cv2.polylines(img, [q], False, p.bgr, th, cv2.LINE_AA, _SHIFT)
                if ids is not None:
                    cv2.polylines(ids, [q], False, i + 1, th, cv2.LINE_8, _SHIFT)
            else:
                cv2.fillPoly(img, [q], p.bgr, cv2.LINE_AA, _SHIFT)
                if ids is not None:
                    cv2.fillPoly(ids, [q], i + 1, cv2.LINE_8, _SHIFT)
        allpx = np.concatenate(pts_all).astype(np.float64) / (1 << _SHIFT)
        # a line as thick as drawn: widen by half its width
        pad = max((p.line_m / gsd / 2 for p in t.parts if p.line_m), default=0.0)
        x0, y0 = allpx.min(axis=0) - pad
        x1, y1 = allpx.max(axis=0) + pad
        drawn.append(DrawnItem(i, t.kind, t.label, (float(x0), float(y0), float(x1), float(y1))))
    drawn.sort(key=lambda d: d.item_id)
    if sensor:
        img = _sensor(img, rng)
    boxes = true_boxes(drawn, w, h, VIOLATION_CLASSES)
    return StyleFrame(img, pose, boxes, drawn, aim_at(drawn, w, h, rng, LOOKALIKE_KINDS), ids)


def _px(H: np.ndarray, en: np.ndarray) -> np.ndarray:
    return np.round(project(H, en) * (1 << _SHIFT)).astype(np.int32)


def _lowfreq(rng, h: int, w: int, cells: int) -> np.ndarray:
    small = rng.normal(0, 1, (max(2, h // cells), max(2, w // cells))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _surfaces(scene: Scene, H: np.ndarray, w: int, h: int, gsd: float, rng) -> np.ndarray:
    """The ground: road, walks and blocks, each texture a function of the metres under a pixel."""
    Hinv = np.linalg.inv(H)
    u, v = np.meshgrid(np.arange(w, dtype=np.float32) + 0.5, np.arange(h, dtype=np.float32) + 0.5)
    q = Hinv.astype(np.float32)
    z = q[2, 0] * u + q[2, 1] * v + q[2, 2]
    e = (q[0, 0] * u + q[0, 1] * v + q[0, 2]) / z - scene.centre_en[0]
    n = (q[1, 0] * u + q[1, 1] * v + q[1, 2]) / z - scene.centre_en[1]
    sh, ch = math.sin(math.radians(scene.street_deg)), math.cos(math.radians(scene.street_deg))
    a = e * sh + n * ch  # metres along the street
    c = e * ch - n * sh  # metres across it
    half, walk = scene.road_w_m / 2, scene.walk_w_m
    dist = np.abs(c)
    if scene.cross_at_m is not None:  # a cross street: distance to the nearer road axis
        dist = np.minimum(dist, np.abs(a - scene.cross_at_m))
    road = dist < half
    walk_m = (~road) & (dist < half + walk)
    img = np.empty((h, w, 3), np.float32)
    tex = {}
    for zone, mask in (("road", road), ("walk", walk_m), ("block", ~(road | walk_m))):
        name = scene.surfaces[zone]
        if name not in tex:
            tex[name] = _texture(name, scene.palette[name], a, c, gsd, rng, h, w)
        img[mask] = tex[name][mask]
    # markings: kerbs, a dashed centre line, edge lines
    kerb = np.abs(dist - half) < 0.12
    img[kerb] = (200, 200, 200)
    if scene.surfaces["road"] != "dirt":
        centre = (np.abs(c) < 0.08) & (np.mod(a, 6.0) < 3.0) & (dist >= 0) & road
        img[centre] = (40, 200, 230) if rng.random() < 0.5 else (235, 235, 235)
        edge = (np.abs(np.abs(c) - (half - 0.5)) < 0.07) & road
        img[edge] = (225, 225, 225)
    img += rng.normal(0, 4.0, (h, w, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _texture(name: str, base, a, c, gsd: float, rng, h: int, w: int) -> np.ndarray:
    base = np.array(base, np.float32)
    lf = _lowfreq(rng, h, w, 48)[..., None]
    out = np.broadcast_to(base, (h, w, 3)).copy()
    if name == "asphalt":
        out += 8 * lf + rng.normal(0, 7, (h, w, 1)).astype(np.float32)
        cracks = np.abs(np.sin(a * 0.7 + 3 * np.sin(c * 0.4)) ) < 0.015
        out[cracks] *= 0.6
    elif name == "concrete":
        out += 6 * lf
        joints = (np.mod(a, 4.5) < 0.06) | (np.abs(np.mod(c, 3.5)) < 0.06)
        out[joints] *= 0.7
    elif name == "dirt":
        out += 22 * lf + 10 * _lowfreq(rng, h, w, 8)[..., None]
        out += rng.normal(0, 9, (h, w, 1)).astype(np.float32)
    elif name in ("pavers", "slabs"):
        size = 0.45 if name == "pavers" else 1.2
        row = np.floor(c / size)
        shift = np.where(np.mod(row, 2) == 0, 0.0, size / 2)
        joint = (np.mod(a + shift, size * 1.5) < 0.05) | (np.mod(c, size) < 0.05)
        tile = np.floor((a + shift) / (size * 1.5)) * 7 + row * 13
        out *= (0.93 + 0.07 * np.sin(tile)[..., None])
        out += 5 * lf
        out[joint] *= 0.72
    elif name == "grass":
        out += 18 * lf + rng.normal(0, 10, (h, w, 1)).astype(np.float32) * \
            np.array([0.6, 1.0, 0.6], np.float32)
    elif name == "roofs":  # buildings along the block: one roof colour each, a ridge down it
        depth = np.abs(c)
        idx = np.floor(a / 11.0)
        tint = np.stack([np.sin(idx * 1.7), np.sin(idx * 2.3 + 1), np.sin(idx * 3.1 + 2)], -1)
        out += 35 * tint.astype(np.float32)
        ridge = np.abs(np.mod(depth, 14.0) - 7.0) < 0.12
        out[ridge] *= 0.65
        gap = np.mod(a, 11.0) < 0.35
        out[gap] = (40, 40, 40)
    return out


def _sensor(img: np.ndarray, rng) -> np.ndarray:
    """Exposure, white balance, softness, noise and JPEG: this style's own camera."""
    f = img.astype(np.float32) / 255.0
    f = np.power(np.clip(f * rng.uniform(0.75, 1.25), 0, 1), rng.uniform(0.8, 1.25))
    f *= rng.uniform(0.88, 1.12, 3).astype(np.float32)
    f = f * 255.0
    sigma = rng.uniform(0.0, 1.2)
    if sigma > 0.3:
        f = cv2.GaussianBlur(f, (0, 0), sigma)
    f += rng.normal(0, rng.uniform(0, 6), f.shape).astype(np.float32)
    out = np.clip(f, 0, 255).astype(np.uint8)
    _ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)
