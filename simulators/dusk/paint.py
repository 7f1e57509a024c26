"""Drawing a dusk scene: photographed ground warped through the camera, solid prisms projected
in 3-D and painted far to near, long low-sun shadows, lamps, rain, motion blur and H.264."""

from __future__ import annotations

import functools
import io
import math

import cv2
import numpy as np

from simulators.camera.geometry import (
    CameraPose,
    Intrinsics,
    ground_to_image,
    image_to_ground,
    project,
    world_to_camera,
)
from simulators.dusk.scene import LOOKALIKE_FORMS, Street, lay_out
from simulators.styles import DrawnItem, StyleFrame, clip_box
from simulators.town.objects import VIOLATION_CLASSES

ALT_RANGE_M = (40.0, 90.0)
PITCH_RANGE_DEG = (-90.0, -55.0)  # nadir to 35 deg off it
MIN_SEEN = 0.4  # a violation hidden behind others for more than this share loses its label
_SHIFT = 4
_GROUND_M = {"grass": 3.0, "gravel": 2.5, "brick": 5.0}  # metres one photograph covers


@functools.cache
def _photo(name: str) -> np.ndarray:
    """A grey photograph shipped with scikit-image, as float 0..1."""
    import skimage.data

    return getattr(skimage.data, name)().astype(np.float32) / 255.0


def render_seed(seed: int, intrinsics: Intrinsics | None = None, with_ids: bool = False
                ) -> StyleFrame:
    """Frame ``seed``: 40-90 m, nadir to 35 deg oblique, at dusk, over a street laid out for it."""
    intr = intrinsics or Intrinsics()
    rng = np.random.default_rng([seed, 0xD05C])
    alt = float(rng.uniform(*ALT_RANGE_M))
    pitch = float(rng.uniform(-90, -80) if rng.random() < 0.5 else rng.uniform(*PITCH_RANGE_DEG))
    pose = CameraPose(0.0, 0.0, alt, float(rng.uniform(0, 360)), pitch)
    w, h = intr.width_px, intr.height_px
    centre = image_to_ground(intr, pose, np.array([[w / 2, h / 2]]))[0]
    corners = image_to_ground(intr, pose, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))
    reach = min(float(np.linalg.norm(corners - centre, axis=1).max()) + 3.0, 2.2 * alt)
    street = lay_out(rng, reach, (float(centre[0]), float(centre[1])))
    return render(street, pose, intr, rng, with_ids=with_ids)


def camera_points(intr: Intrinsics, pose: CameraPose, enz: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, 2) and depths (N,) of world points (east, north, up metres)."""
    R = world_to_camera(pose.heading_deg, pose.gimbal_pitch_deg)
    cam = (np.asarray(enz, float) - [pose.east_m, pose.north_m, pose.alt_rel_m]) @ R.T
    uvw = cam @ intr.matrix().T
    return uvw[:, :2] / np.maximum(uvw[:, 2:3], 1e-6), cam[:, 2]


def render(street: Street, pose: CameraPose, intr: Intrinsics, rng: np.random.Generator,
           with_ids: bool = False, weather: bool = True) -> StyleFrame:
    """The image of ``street`` from ``pose``, its labels, and everything drawn."""
    w, h = intr.width_px, intr.height_px
    light = float(rng.uniform(0.5, 1.05)) if weather else 1.0
    sun_az = math.radians(rng.uniform(0, 360))
    sun_el = math.radians(rng.uniform(6, 35) if weather else 60.0)
    tint = np.array([rng.uniform(0.95, 1.15), 1.0, rng.uniform(0.7, 0.95)]) if \
        rng.random() < 0.6 else np.array([0.85, 0.95, 1.15])  # low sun, or blue hour
    img = _ground(street, pose, intr)
    # long shadows: each prism's footprint swept along the sun, laid on the ground
    away = -np.array([math.sin(sun_az), math.cos(sun_az)]) / math.tan(sun_el)
    H = ground_to_image(intr, pose)
    shade = np.zeros((h, w), np.uint8)
    for b in street.bodies:
        for p in b.prisms:
            foot = b.to_world(p.foot)
            reach = min(p.z1_m, 6.0)
            hull = cv2.convexHull(np.concatenate([foot, foot + away * reach]).astype(np.float32))
            px = project(H, hull.reshape(-1, 2))
            if np.isfinite(px).all():
                cv2.fillPoly(shade, [np.round(px * (1 << _SHIFT)).astype(np.int32)], 255,
                             cv2.LINE_AA, _SHIFT)
    img *= (1.0 - 0.45 * shade[..., None].astype(np.float32) / 255.0)
    # every face of every prism, painted far to near. Things stand apart, so they go in order
    # of their ground distance from the camera; inside a thing, what rests on a lower part
    # (drums on a bed, goods on a table, a canopy over them) goes after it, in 0.3 m steps of
    # its base, side by side parts far to near; a prism's sides before its top.
    ldir = np.array([math.sin(sun_az) * math.cos(sun_el), math.cos(sun_az) * math.cos(sun_el),
                     math.sin(sun_el)])
    cam_c = np.array([pose.east_m, pose.north_m, pose.alt_rel_m])
    faces = []  # (order key, body index, polygon world (N,3), rgb, glow)
    for i, b in enumerate(street.bodies):
        body_d = math.hypot(b.east_m - pose.east_m, b.north_m - pose.north_m)
        for p in b.prisms:
            foot = b.to_world(p.foot)
            top = np.column_stack([foot, np.full(len(foot), p.z1_m)])
            bot = np.column_stack([foot, np.full(len(foot), p.z0_m)])
            mid = foot.mean(axis=0)
            prism_d = float(np.linalg.norm(mid - cam_c[:2]))
            level = int(p.z0_m / 0.3 + 1e-6)
            for k in range(len(foot)):
                k2 = (k + 1) % len(foot)
                quad = np.array([bot[k], bot[k2], top[k2], top[k]])
                centre3 = quad.mean(axis=0)
                normal = np.append((foot[k] + foot[k2]) / 2 - mid, 0.0)
                normal /= max(np.linalg.norm(normal), 1e-9)
                if normal @ (cam_c - centre3) <= 0:
                    continue  # facing away
                lit = 0.35 + 0.65 * max(float(normal @ ldir), 0.0)
                faces.append(((-body_d, level, -prism_d, 0, -float(np.linalg.norm(
                    centre3 - cam_c))), i, quad, np.array(p.rgb) * lit, 0.0))
            shade_top = 0.35 + 0.65 * max(ldir[2], 0)
            faces.append(((-body_d, level, -prism_d, 1, 0.0), i, top,
                          np.array(p.rgb) * shade_top, p.glow))
    faces.sort(key=lambda f: f[0])
    ids = np.zeros((h, w), np.uint16)
    pts_of: dict[int, list[np.ndarray]] = {}
    glows = []
    for _d, i, poly, rgb, glow in faces:
        px, depth = camera_points(intr, pose, poly)
        if (depth <= 0.5).any():
            continue
        pts_of.setdefault(i, []).append(px)
        q = np.round(px * (1 << _SHIFT)).astype(np.int32)
        bgr = tuple(float(v) for v in np.clip(rgb[::-1], 0, 1))
        cv2.fillPoly(img, [q], bgr, cv2.LINE_AA, _SHIFT)
        cv2.fillPoly(ids, [q], i + 1, cv2.LINE_8, _SHIFT)
        if glow:
            glows.append((px.mean(axis=0), glow))
    drawn, boxes = [], []
    from simulators.camera.render import TrueBox

    for i, b in enumerate(street.bodies):
        if i not in pts_of:
            continue
        allpx = np.concatenate(pts_of[i])
        x0, y0 = allpx.min(axis=0)
        x1, y1 = allpx.max(axis=0)
        drawn.append(DrawnItem(i, b.kind, b.label, (float(x0), float(y0), float(x1), float(y1))))
        if b.label is None:
            continue
        c = clip_box((x0, y0, x1, y1), w, h)
        if c is None:
            continue
        hull = cv2.convexHull(allpx.astype(np.float32))
        full = max(cv2.contourArea(hull), 1.0)
        seen = float((ids == i + 1).sum())
        if seen < MIN_SEEN * full:
            continue
        boxes.append(TrueBox(i, b.label, VIOLATION_CLASSES.index(b.label), c, b.east_m,
                             b.north_m))
    # light: the scene's level and colour, lamps glowing over it
    img = img * light * tint[::-1].astype(np.float32)
    if glows and weather:
        glow_img = np.zeros((h, w), np.float32)
        gsd = pose.alt_rel_m / intr.focal_px
        for (u, v), g in glows:
            if 0 <= u < w and 0 <= v < h:
                cv2.circle(glow_img, (int(u), int(v)), max(2, int(0.6 / gsd)), g, -1)
        glow_img = cv2.GaussianBlur(glow_img, (0, 0), max(1.5, 1.2 / gsd))
        img += (glow_img * (1.0 - light))[..., None] * np.array([0.55, 0.8, 1.0], np.float32)
    out = np.clip(img * 255.0, 0, 255).astype(np.uint8)
    if weather:
        out = _weather(out, rng, light)
    aim = _aim(drawn, boxes, w, h, rng)
    return StyleFrame(out, pose, boxes, drawn, aim, ids if with_ids else None)


def _aim(drawn, boxes, w, h, rng):
    u = rng.random()
    if u < 0.6 and boxes:
        x0, y0, x1, y1 = boxes[int(rng.integers(len(boxes)))].xyxy
        return ((x0 + x1) / 2, (y0 + y1) / 2)
    pool = [d for d in drawn if d.kind in LOOKALIKE_FORMS
            and 0 <= (d.xyxy[0] + d.xyxy[2]) / 2 < w and 0 <= (d.xyxy[1] + d.xyxy[3]) / 2 < h]
    if u < 0.85 and pool:
        d = pool[int(rng.integers(len(pool)))]
        return ((d.xyxy[0] + d.xyxy[2]) / 2, (d.xyxy[1] + d.xyxy[3]) / 2)
    return None


def _ground(street: Street, pose: CameraPose, intr: Intrinsics) -> np.ndarray:
    """The ground as float BGR 0..1: photographs tiled in metres on a north-up map of the
    footprint, painted strips and lines, warped through the camera."""
    w, h = intr.width_px, intr.height_px
    corners = image_to_ground(intr, pose, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))
    e0, n0 = corners.min(axis=0) - 3
    e1, n1 = corners.max(axis=0) + 3
    near = image_to_ground(intr, pose, np.array([[w / 2, h - 1.0], [w / 2 + 1, h - 1.0]]))
    ppm = min(1.0 / max(float(np.linalg.norm(near[1] - near[0])), 1e-3),
              1800.0 / max(e1 - e0, n1 - n0))
    gw, gh = math.ceil((e1 - e0) * ppm), math.ceil((n1 - n0) * ppm)

    def layer(name: str, tint) -> np.ndarray:
        photo = _photo(name)
        side = max(4, round(_GROUND_M[name] * ppm))
        tile = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
        grey = np.tile(tile, (gh // side + 1, gw // side + 1))[:gh, :gw]
        base = {"grass": (0.25, 0.55, 0.3), "gravel": (0.55, 0.55, 0.58),
                "brick": (0.75, 0.45, 0.35)}[name]
        rgb = np.stack([grey * 1.6 * base[k] * tint[k] for k in range(3)], -1)
        return rgb[..., ::-1].astype(np.float32)

    def to_px(en):
        en = np.asarray(en, float).reshape(-1, 2)
        return np.round(np.stack([(en[:, 0] - e0) * ppm, (n1 - en[:, 1]) * ppm], 1)
                        * (1 << _SHIFT)).astype(np.int32)

    canvas = layer(street.verge_tex, street.tints["verge"])
    h_rad = math.radians(street.angle_deg)
    along = np.array([math.sin(h_rad), math.cos(h_rad)])
    across = np.array([math.cos(h_rad), -math.sin(h_rad)])
    look = image_to_ground(intr, pose, np.array([[w / 2, h / 2]]))[0]
    span = float(np.hypot(e1 - e0, n1 - n0))

    def strip(width, rotate=False):
        a, c = (across, along) if rotate else (along, across)
        return np.array([look + a * span + c * width / 2, look + a * span - c * width / 2,
                         look - a * span - c * width / 2, look - a * span + c * width / 2])

    for zone, width in (("walk", street.road_w_m + 2 * street.walk_w_m),
                        ("road", street.road_w_m)):
        tex = layer(street.road_tex if zone == "road" else street.walk_tex, street.tints[zone])
        if zone == "road":
            tex *= 0.55  # asphalt is the gravel photograph, darkened
        mask = np.zeros((gh, gw), np.uint8)
        polys = [to_px(strip(width))] + ([to_px(strip(width, True))] if street.crossing else [])
        cv2.fillPoly(mask, polys, 255, cv2.LINE_AA, _SHIFT)
        m = mask[..., None].astype(np.float32) / 255.0
        canvas = canvas * (1 - m) + tex * m
    # a dashed centre line, then what is painted on the ground (market lines, hoses)
    for k in np.arange(-span, span, 6.0):
        seg = np.array([look + along * k, look + along * (k + 3.0)])
        cv2.polylines(canvas, [to_px(seg)], False, (0.8, 0.85, 0.85),
                      max(1, round(0.15 * ppm)), cv2.LINE_AA, _SHIFT)
    for line, width_m, rgb in street.painted:
        cv2.polylines(canvas, [to_px(line)], False, tuple(float(v) for v in rgb[::-1]),
                      max(1, round(width_m * ppm)), cv2.LINE_AA, _SHIFT)
    to_ground = np.array([[1 / ppm, 0, e0], [0, -1 / ppm, n1], [0, 0, 1]])
    return cv2.warpPerspective(canvas, ground_to_image(intr, pose) @ to_ground, (w, h),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _weather(img: np.ndarray, rng, light: float) -> np.ndarray:
    """Rain streaks, motion blur, sensor noise rising as the light falls, and H.264 (or JPEG)."""
    h, w = img.shape[:2]
    f = img.astype(np.float32)
    if rng.random() < 0.35:  # rain: short bright streaks at one slant, the scene a little dimmer
        streaks = np.zeros((h, w), np.float32)
        ang = math.radians(rng.uniform(60, 120))
        length = rng.uniform(8, 25)
        for _ in range(int(rng.integers(300, 1200))):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            cv2.line(streaks, (int(x), int(y)), (int(x + length * math.cos(ang)),
                                                 int(y + length * math.sin(ang))), 1.0, 1)
        f = f * 0.85 + streaks[..., None] * rng.uniform(40, 90)
    if rng.random() < 0.4:
        k = int(rng.integers(3, 10)) | 1
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        rot = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), float(rng.uniform(0, 180)), 1)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        f = cv2.filter2D(f, -1, kernel / max(kernel.sum(), 1e-6))
    f += rng.normal(0, 2.0 + 8.0 * (1.0 - light), f.shape).astype(np.float32)
    out = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        return h264(out, int(rng.integers(26, 38)))
    _ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 85))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def h264(img_bgr: np.ndarray, crf: int) -> np.ndarray:
    """The frame after one pass through H.264 (libx264, an intra frame at ``crf``)."""
    import av

    h, w = img_bgr.shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "ultrafast"}
        frame = av.VideoFrame.from_ndarray(img_bgr, format="bgr24")
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, "r", format="h264") as inp:
        for frame in inp.decode(video=0):
            return frame.to_ndarray(format="bgr24")
    raise RuntimeError("libx264 gave back no frame")
