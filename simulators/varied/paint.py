"""The varied style's scenes, drawn straight to pixels: a random look per scene (``Look``),
forms of stall, fuel sale and look-alike built from it in metres (``Item``), laid out around an
optional street, shadows, a random oblique warp, solids in 3-D as the warp's camera sees them
(``view_camera``, ``draw_items``) and a random sensor."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from simulators.camera.geometry import CameraPose, Intrinsics
from simulators.styles import DrawnItem, StyleFrame, aim_at, true_boxes
from simulators.town.objects import VIOLATION_CLASSES

ALT_RANGE_M = (30.0, 95.0)
DRUM_R_M = 0.29  # a 200 l drum is 0.58 m across
DRUM_H_M = 0.88  # and 0.88 m tall
STALL_FORMS = ("canopy", "tables", "mat", "cart", "rack")
FUEL_FORMS = ("truck_drums", "tricycle_drums", "truck_tank", "van_tank")
#: look-alikes that stand on the street or walk; a manhole is set into the road on its own
STANDING_LOOKALIKES = ("empty_truck", "cargo_truck", "cargo_tricycle", "loose_drums", "parasols",
                       "permitted_market")
LOOKALIKE_KINDS = (*STANDING_LOOKALIKES, "manhole")
_SHIFT = 4
BGR = tuple[int, int, int]


@dataclass
class Shape:
    """A filled polygon, or with ``line_m`` a polyline that wide, in the item's frame (metres:
    x along the item, y across it), at ``height_m`` above the ground (its top: it casts the
    shadow and leans away from the camera's nadir by its height). With ``depth_m`` it is a solid
    that reaches that far down from its top, and the sides that face the camera are drawn."""

    pts: np.ndarray
    bgr: BGR
    height_m: float = 0.0
    line_m: float = 0.0
    depth_m: float = 0.0


@dataclass
class Item:
    kind: str
    label: str | None
    shapes: list[Shape]
    layer: int = 1
    x_m: float = 0.0
    y_m: float = 0.0
    turn_rad: float = 0.0

    def place(self, pts: np.ndarray) -> np.ndarray:
        """Item-frame points as scene metres (x right, y down)."""
        c, s = math.cos(self.turn_rad), math.sin(self.turn_rad)
        p = np.asarray(pts, float).reshape(-1, 2)
        return np.stack([self.x_m + p[:, 0] * c - p[:, 1] * s,
                         self.y_m + p[:, 0] * s + p[:, 1] * c], axis=1)

    def radius_m(self) -> float:
        return float(max(np.abs(sh.pts).max() for sh in self.shapes)) * 1.2


# ---- the look of one scene ------------------------------------------------------------------

def _hsv(rng, s=(0.0, 1.0), v=(0.1, 0.95), h=None) -> BGR:
    hue = rng.uniform(0, 180) if h is None else h
    px = np.uint8([[[hue, rng.uniform(*s) * 255, rng.uniform(*v) * 255]]])
    return tuple(int(x) for x in cv2.cvtColor(px, cv2.COLOR_HSV2BGR)[0, 0])


def _jitter(rng, bgr: BGR, amount: int = 18) -> BGR:
    return tuple(int(np.clip(v + rng.integers(-amount, amount + 1), 0, 255)) for v in bgr)


def _shade(bgr: BGR, k: float) -> BGR:
    return tuple(int(np.clip(v * k, 0, 255)) for v in bgr)


@dataclass
class Look:
    """What is random per scene: colours, outlines, drum and tank drawing, proportions."""

    drum_colours: list[BGR]
    drum_top: str  # plain, ring, bungs, ring_bungs
    drum_lying: float  # share of drums lying on their side
    tank_colour: BGR
    cage_colour: BGR
    cage_bars: int
    vehicle_colours: list[BGR]
    bright: list[BGR]
    outline: BGR | None
    shadow_dir: np.ndarray  # scene metres of shadow per metre of height
    shadow_k: float
    side_k: float  # the sides of solids against their tops: darker, or now and then lighter


def make_look(rng) -> Look:
    drum_base = [_hsv(rng) for _ in range(int(rng.integers(1, 3)))]
    if rng.random() < 0.5:  # the common ones: blue, red, black, grey steel
        drum_base.append(_jitter(rng, [(150, 60, 20), (30, 30, 170), (30, 30, 30),
                                       (150, 150, 150)][int(rng.integers(4))]))
    az = rng.uniform(0, 2 * math.pi)
    length = rng.uniform(0.0, 1.6)
    return Look(
        drum_colours=drum_base,
        drum_top=str(rng.choice(["plain", "ring", "bungs", "ring_bungs"])),
        drum_lying=float(rng.choice([0.0, 0.0, 0.2, 0.5])),
        tank_colour=_hsv(rng, s=(0.0, 0.25), v=(0.7, 1.0)) if rng.random() < 0.8 else _hsv(rng),
        cage_colour=_hsv(rng, s=(0.0, 0.2), v=(0.3, 0.8)),
        cage_bars=int(rng.integers(2, 6)),
        vehicle_colours=[_hsv(rng, s=(0.0, 0.8)) for _ in range(6)],
        bright=[_hsv(rng, s=(0.4, 1.0), v=(0.5, 1.0)) for _ in range(8)],
        outline=_hsv(rng, s=(0, 0.3), v=(0.0, 0.25)) if rng.random() < 0.35 else None,
        shadow_dir=np.array([math.cos(az), math.sin(az)]) * length,
        shadow_k=float(rng.uniform(0.2, 0.65)),
        side_k=float(rng.uniform(0.4, 0.9) if rng.random() < 0.85 else rng.uniform(1.05, 1.3)),
    )


# ---- primitives (item frame, metres) -------------------------------------------------------

def rect(length: float, width: float, x: float = 0.0, y: float = 0.0) -> np.ndarray:
    hl, hw = length / 2, width / 2
    return np.array([[x - hl, y - hw], [x + hl, y - hw], [x + hl, y + hw], [x - hl, y + hw]])


def ngon(r: float, n: int, x: float = 0.0, y: float = 0.0, rot: float = 0.0) -> np.ndarray:
    t = rot + np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([x + r * np.cos(t), y + r * np.sin(t)], axis=1)


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def goods(rng, look: Look, x0, x1, y0, y1, n: int, height: float) -> list[Shape]:
    """``n`` small things for sale (fruit, packets, bottles, clothes) scattered in a box."""
    cols = [_pick(rng, look.bright) for _ in range(int(rng.integers(2, 6)))]
    round_share = rng.random()
    out = []
    for _ in range(n):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        size = rng.uniform(0.08, 0.3)
        col = _jitter(rng, _pick(rng, cols), 25)
        pts = ngon(size / 2, 8, x, y) if rng.random() < round_share else \
            rect(size, size * rng.uniform(0.5, 1.5), x, y)
        out.append(Shape(pts, col, height))
    return out


def drum(rng, look: Look, x: float, y: float, height: float) -> list[Shape]:
    col = _jitter(rng, _pick(rng, look.drum_colours), 12)
    if rng.random() < look.drum_lying:  # on its side: a 0.88 m long rounded body
        ang = rng.uniform(0, math.pi)
        body = np.concatenate([ngon(DRUM_R_M, 10, 0.3, 0)[[7, 8, 9, 0, 1, 2, 3]],
                               ngon(DRUM_R_M, 10, -0.3, 0)[[2, 3, 4, 5, 6, 7, 8]]])
        c, s = math.cos(ang), math.sin(ang)
        body = body @ np.array([[c, s], [-s, c]]) + [x, y]
        out = [Shape(body, col, height - 0.3, depth_m=2 * DRUM_R_M)]
        hoops = [np.array([[d, -DRUM_R_M], [d, DRUM_R_M]]) @ np.array([[c, s], [-s, c]]) + [x, y]
                 for d in (-0.15, 0.15)]
        out += [Shape(h, _shade(col, 0.6), height - 0.29, 0.04) for h in hoops]
        return out
    out = [Shape(ngon(DRUM_R_M, 16, x, y), col, height, depth_m=DRUM_H_M)]
    if "ring" in look.drum_top:
        out.append(Shape(np.vstack([ngon(DRUM_R_M * 0.86, 16, x, y), ngon(DRUM_R_M * 0.86, 16, x,
                                                                           y)[:1]]),
                         _shade(col, rng.choice([0.6, 1.4])), height + 0.01, 0.035))
    if "bungs" in look.drum_top:
        a = rng.uniform(0, 2 * math.pi)
        for d in (1, -0.6):
            out.append(Shape(ngon(0.045, 6, x + d * 0.17 * math.cos(a), y + d * 0.17 * math.sin(a)),
                             _shade(col, 0.5) if rng.random() < 0.5 else (200, 200, 200),
                             height + 0.02))
    return out


def tank(rng, look: Look, x: float, y: float, height: float) -> list[Shape]:
    """An IBC tote: a pale cube in a steel cage, a cap on top."""
    s = rng.uniform(1.0, 1.2)
    out = [Shape(rect(s, s * rng.uniform(0.83, 1.0), x, y), _jitter(rng, look.tank_colour, 10),
                 height, depth_m=s)]
    for k in np.linspace(-s / 2, s / 2, look.cage_bars + 2)[1:-1]:
        out.append(Shape(np.array([[x + k, y - s / 2], [x + k, y + s / 2]]), look.cage_colour,
                         height + 0.01, 0.04))
        out.append(Shape(np.array([[x - s / 2, y + k], [x + s / 2, y + k]]), look.cage_colour,
                         height + 0.01, 0.04))
    out.append(Shape(ngon(0.11, 8, x + rng.uniform(-0.2, 0.2), y + rng.uniform(-0.2, 0.2)),
                     _hsv(rng, v=(0.05, 0.6)), height + 0.02))
    return out


# ---- vehicles -------------------------------------------------------------------------------

def truck_body(rng, look: Look, length: float, width: float) -> tuple[list[Shape], float, float]:
    """A pickup or flatbed: cab at +x; returns its shapes and the bed's x span."""
    body = _pick(rng, look.vehicle_colours)
    cab = rng.uniform(1.3, 2.0)
    front = length / 2
    shapes = [Shape(rect(cab, width, front - cab / 2), body, 1.8, depth_m=1.35),
              Shape(rect(cab * rng.uniform(0.25, 0.4), width * 0.85, front - cab * 0.2),
                    _hsv(rng, s=(0, 0.4), v=(0.05, 0.35)), 1.8)]  # windscreen
    bed = length - cab - 0.1
    floor = _jitter(rng, _shade(body, rng.uniform(0.5, 1.0)) if rng.random() < 0.6
                    else _hsv(rng, s=(0, 0.3)))
    shapes.insert(0, Shape(rect(bed, width, -length / 2 + bed / 2), _shade(body, 0.85), 1.0,
                           depth_m=0.55))
    shapes.insert(1, Shape(rect(bed - 0.12, width - 0.12, -length / 2 + bed / 2), floor, 1.0))
    return shapes, -length / 2 + 0.1, -length / 2 + bed - 0.05


def tricycle_body(rng, look: Look) -> tuple[list[Shape], float, float, float]:
    body = _pick(rng, look.vehicle_colours)
    bed_l, width = rng.uniform(1.3, 2.1), rng.uniform(1.0, 1.45)
    shapes = [Shape(rect(bed_l, width, -bed_l / 2), body, 0.8, depth_m=0.4),
              Shape(rect(bed_l - 0.1, width - 0.1, -bed_l / 2),
                    _jitter(rng, _shade(body, 0.7)), 0.8)]
    if rng.random() < 0.5:  # an enclosed cab
        shapes.append(Shape(rect(0.9, 0.9, 0.5), _shade(body, 1.1), 1.6, depth_m=1.0))
    else:  # open: a seat, the rider, handlebars
        shapes += [Shape(np.array([[0.0, -0.3], [0.9, 0.0], [0.0, 0.3]]), body, 0.8),
                   Shape(ngon(0.22, 8, 0.35, 0), _hsv(rng, v=(0.05, 0.6)), 1.4, depth_m=0.6),
                   Shape(np.array([[0.7, -0.35], [0.7, 0.35]]), (40, 40, 40), 1.0, 0.05)]
    return shapes, -bed_l + 0.05, -0.05, width


def van_body(rng, look: Look, length: float, width: float) -> list[Shape]:
    body = _pick(rng, look.vehicle_colours)
    shapes = [Shape(rect(length, width), body, 2.0, depth_m=1.7),
              Shape(rect(0.45, width * 0.85, length / 2 - 0.4), _hsv(rng, v=(0.05, 0.35)), 2.0)]
    for k in range(int(rng.integers(0, 4))):  # roof panels or rails
        shapes.append(Shape(np.array([[-length / 2 + 0.6 + k * 0.9, -width * 0.4],
                                      [-length / 2 + 0.6 + k * 0.9, width * 0.4]]),
                            _shade(body, 0.8), 2.01, 0.05))
    return shapes


def car(rng, look: Look) -> list[Shape]:
    length, width = rng.uniform(3.8, 4.9), rng.uniform(1.65, 1.9)
    body = _pick(rng, look.vehicle_colours)
    glass = _hsv(rng, s=(0, 0.3), v=(0.05, 0.35))
    return [Shape(rect(length, width), body, 0.95, depth_m=0.65),
            Shape(rect(length * 0.5, width * 0.82, length * 0.02), _shade(body, 1.1), 1.45,
                  depth_m=0.5),
            Shape(rect(length * 0.12, width * 0.8, length * 0.3), glass, 1.46),
            Shape(rect(length * 0.1, width * 0.8, -length * 0.25), glass, 1.46)]


def motorbike(rng, look: Look) -> list[Shape]:
    body = _pick(rng, look.vehicle_colours)
    return [Shape(rect(1.9, 0.32), (35, 35, 35), 0.8), Shape(rect(0.9, 0.5, 0.1), body, 1.0),
            Shape(ngon(0.2, 8, -0.05, 0), _hsv(rng, v=(0.05, 0.7)), 1.5, depth_m=0.6)]


# ---- the violations -------------------------------------------------------------------------

def fuel_sale(rng, look: Look, form: str) -> list[Shape]:
    if form in ("truck_drums", "truck_tank"):
        length, width = rng.uniform(4.3, 7.0), rng.uniform(1.6, 2.3)
        shapes, b0, b1 = truck_body(rng, look, length, width)
        if form == "truck_tank":
            n = 1 if b1 - b0 < 2.5 or rng.random() < 0.5 else 2
            for k in range(n):
                shapes += tank(rng, look, b1 - 0.65 - k * 1.25, rng.uniform(-0.1, 0.1), 2.1)
            return shapes
        return shapes + _drum_load(rng, look, b0, b1, width, 1.95)
    if form == "tricycle_drums":
        shapes, b0, b1, width = tricycle_body(rng, look)
        if rng.random() < 0.2:
            return shapes + tank(rng, look, (b0 + b1) / 2, 0.0, 1.9)
        return shapes + _drum_load(rng, look, b0, b1, width, 1.75)
    length, width = rng.uniform(4.4, 5.6), rng.uniform(1.8, 2.05)
    shapes = van_body(rng, look, length, width)
    for side in (-1, 1):  # rear doors open
        shapes.append(Shape(rect(0.15, 0.85, -length / 2 - 0.1, side * (width / 2 - 0.3)),
                            _shade(shapes[0].bgr, 0.9), 2.0, depth_m=1.7))
    return shapes + tank(rng, look, -length / 2 - 0.75, rng.uniform(-0.15, 0.15), 1.2)


def _drum_load(rng, look: Look, b0: float, b1: float, width: float, height: float) -> list[Shape]:
    rows = max(1, int((width - 0.1) // (2 * DRUM_R_M + 0.02)))
    cols = max(1, int((b1 - b0) // (2 * DRUM_R_M + 0.02)))
    slots = [(b1 - DRUM_R_M - 0.02 - i * (2 * DRUM_R_M + 0.03),
              (j - (rows - 1) / 2) * (2 * DRUM_R_M + 0.03)) for i in range(cols) for j in range(rows)]
    n = int(rng.integers(2, len(slots) + 1)) if len(slots) >= 2 else 1
    keep = sorted(rng.choice(len(slots), n, replace=False)) if rng.random() < 0.4 else range(n)
    out = []
    for k in keep:
        x, y = slots[k]
        out += drum(rng, look, x + rng.normal(0, 0.02), y + rng.normal(0, 0.02), height)
    return out


def stall(rng, look: Look, form: str) -> tuple[list[Shape], int]:
    """A stall's shapes and its layer (canopies over everything beside them)."""
    if form == "canopy":
        size = rng.uniform(1.8, 3.5)
        kind = rng.choice(["square", "poly", "tarp"])
        c1, c2 = _pick(rng, look.bright), _pick(rng, look.bright)
        under = goods(rng, look, size * 0.35, size * 0.5 + 0.5, -size * 0.45, size * 0.45,
                      int(rng.integers(5, 16)), 0.7)
        under.insert(0, Shape(rect(0.7, size * 0.9, size * 0.5 + 0.15), _hsv(rng), 0.7))
        top = []
        if kind == "tarp":
            w = size * rng.uniform(0.6, 0.9)
            n = int(rng.integers(1, 7))
            for k in range(n):
                top.append(Shape(rect(size, w / n, 0, -w / 2 + (k + 0.5) * w / n),
                                 c1 if k % 2 == 0 else c2, 2.3))
        else:
            n = 4 if kind == "square" else int(rng.choice([5, 6, 8, 10, 12, 16]))
            r = size / 2 * (1.41 if kind == "square" else 1.0)
            ring = ngon(r, n, rot=math.pi / 4 if kind == "square" else rng.uniform(0, 1))
            for k in range(n):
                top.append(Shape(np.array([ring[k], ring[(k + 1) % n], [0, 0]]),
                                 c1 if k % 2 == 0 else (c2 if rng.random() < 0.6 else _shade(c1, 0.75)),
                                 2.3))
        return under + top, 2
    if form == "tables":
        out = []
        n = int(rng.integers(1, 4))
        tl, tw = rng.uniform(1.0, 2.0), rng.uniform(0.6, 0.9)
        top = _hsv(rng, s=(0, 0.5))
        for k in range(n):
            x = (k - (n - 1) / 2) * (tl + 0.1)
            out.append(Shape(rect(tl, tw, x), top, 0.8))
            out += goods(rng, look, x - tl / 2 + 0.1, x + tl / 2 - 0.1, -tw / 2 + 0.08,
                         tw / 2 - 0.08, int(rng.integers(6, 25)), 0.85)
        out.append(Shape(ngon(0.22, 8, 0, tw / 2 + 0.45), _hsv(rng, v=(0.05, 0.6)), 1.6))  # vendor
        return out, 1
    if form == "mat":
        ml, mw = rng.uniform(1.2, 3.0), rng.uniform(0.9, 2.0)
        base = _hsv(rng)
        out = [Shape(rect(ml, mw) if rng.random() < 0.8 else ngon(ml / 2, 12) * [1, mw / ml],
                     base, 0.02)]
        if rng.random() < 0.5:  # stripes on the cloth
            for k in range(int(rng.integers(2, 6))):
                y = rng.uniform(-mw / 2 + 0.1, mw / 2 - 0.1)
                out.append(Shape(np.array([[-ml / 2 + 0.05, y], [ml / 2 - 0.05, y]]),
                                 _shade(base, 1.5), 0.02, 0.06))
        for _ in range(int(rng.integers(2, 7))):  # heaps of produce
            x, y = rng.uniform(-ml / 2 + 0.3, ml / 2 - 0.3), rng.uniform(-mw / 2 + 0.3, mw / 2 - 0.3)
            col = _pick(rng, look.bright)
            for _ in range(int(rng.integers(4, 14))):
                out.append(Shape(ngon(rng.uniform(0.05, 0.12), 7, x + rng.normal(0, 0.15),
                                      y + rng.normal(0, 0.15)), _jitter(rng, col, 20), 0.2))
        return out, 0
    if form == "cart":
        cl, cw = rng.uniform(1.2, 2.0), rng.uniform(0.7, 1.1)
        body = _hsv(rng)
        out = [Shape(rect(0.3, 0.15, x, s * (cw / 2 + 0.05)), (30, 30, 30), 0.5)
               for x in (-cl / 3, cl / 3) for s in (-1, 1)]  # wheels
        out.append(Shape(rect(cl, cw), body, 0.9))
        out += [Shape(np.array([[-cl / 2, s * cw / 3], [-cl / 2 - 0.7, s * cw / 3]]), body, 0.9, 0.04)
                for s in (-1, 1)]  # handles
        out += goods(rng, look, -cl / 2 + 0.1, cl / 2 - 0.1, -cw / 2 + 0.08, cw / 2 - 0.08,
                     int(rng.integers(8, 30)), 1.0)
        if rng.random() < 0.4:  # a parasol over it
            out += [Shape(np.array([ring, nxt, [0, 0]]), c, 2.2) for ring, nxt, c in
                    _sectors(rng, look, rng.uniform(0.8, 1.2), int(rng.choice([6, 8])))]
            return out, 2
        return out, 1
    # a rack of clothes: a rail hung with garments
    rl = rng.uniform(1.5, 3.0)
    out = [Shape(np.array([[-rl / 2, 0], [rl / 2, 0]]), (80, 80, 80), 1.6, 0.05)]
    for x in np.arange(-rl / 2 + 0.1, rl / 2 - 0.05, rng.uniform(0.1, 0.2)):
        out.append(Shape(rect(0.08, rng.uniform(0.4, 0.6), x, 0), _pick(rng, look.bright), 1.5))
    out.append(Shape(ngon(0.22, 8, 0, rng.choice([-1, 1]) * 0.7), _hsv(rng, v=(0.05, 0.6)), 1.6))
    return out, 1


def _sectors(rng, look: Look, r: float, n: int):
    ring = ngon(r, n, rot=rng.uniform(0, 1))
    c1, c2 = _pick(rng, look.bright), _pick(rng, look.bright)
    return [(ring[k], ring[(k + 1) % n], c1 if k % 2 == 0 else c2) for k in range(n)]


# ---- look-alikes ----------------------------------------------------------------------------

def lookalike(rng, look: Look, kind: str) -> tuple[list[Shape], int]:
    if kind in ("empty_truck", "cargo_truck"):
        length, width = rng.uniform(4.3, 7.0), rng.uniform(1.6, 2.3)
        shapes, b0, b1 = truck_body(rng, look, length, width)
        if kind == "cargo_truck":
            shapes += _cargo(rng, look, b0, b1, width, 1.5)
        return shapes, 1
    if kind == "cargo_tricycle":
        shapes, b0, b1, width = tricycle_body(rng, look)
        return shapes + _cargo(rng, look, b0, b1, width, 1.3), 1
    if kind == "loose_drums":  # drums standing on the ground, no vehicle: a yard, not a sale
        out = []
        for k in range(int(rng.integers(1, 6))):
            out += drum(rng, look, (k % 3) * 0.62, (k // 3) * 0.62, 0.9)
        return out, 1
    if kind == "parasols":  # a café terrace: identical parasols in a row, chairs under
        n, r = int(rng.integers(2, 6)), rng.uniform(1.0, 1.5)
        secs = _sectors(rng, look, r, int(rng.choice([6, 8, 12])))
        chair = _hsv(rng)
        out = []
        for k in range(n):
            x = k * (2 * r + 0.6)
            out += [Shape(rect(0.4, 0.4, x + dx, dy), chair, 0.8)
                    for dx, dy in ((r, 0), (-r, 0), (0, r), (0, -r))]
            out += [Shape(np.array([a + [x, 0], b + [x, 0], [x, 0]]), c, 2.4) for a, b, c in secs]
        return out, 2
    if kind == "permitted_market":  # identical stands in rows inside painted lines
        nx, ny, s = int(rng.integers(2, 5)), int(rng.integers(1, 3)), rng.uniform(2.0, 2.8)
        col = _pick(rng, look.bright)
        w, h = nx * (s + 0.6) + 1.0, ny * (s + 2.0) + 1.0
        line = (230, 230, 230) if rng.random() < 0.6 else (40, 200, 230)
        corners = rect(w, h)
        out = [Shape(np.vstack([corners, corners[:1]]), line, 0.0, 0.12)]
        for i in range(nx):
            for j in range(ny):
                x, y = -w / 2 + 0.8 + s / 2 + i * (s + 0.6), -h / 2 + 1.0 + s / 2 + j * (s + 2.0)
                out.append(Shape(rect(s, s, x, y), col, 2.3, depth_m=2.0))
                out.append(Shape(np.array([[x - s / 2, y - s / 2], [x + s / 2, y + s / 2]]),
                                 _shade(col, 0.75), 2.31, 0.05))
        return out, 1
    # a manhole cover or drain: round, on the road, the size of a drum
    return [Shape(ngon(rng.uniform(0.3, 0.4), 16), _hsv(rng, s=(0, 0.2), v=(0.1, 0.5)), 0.0)], 0


def _cargo(rng, look: Look, b0: float, b1: float, width: float, height: float) -> list[Shape]:
    """What a bed carries that is not fuel: boxes, sacks, crates or a tarp over it all."""
    kind = rng.choice(["boxes", "sacks", "crates", "tarp"])
    col = _hsv(rng, s=(0.1, 0.6), v=(0.4, 0.95))
    if kind == "tarp":
        return [Shape(rect(b1 - b0, width - 0.1, (b0 + b1) / 2), col, height, depth_m=0.5)]
    out = []
    step = 0.5 if kind != "crates" else 0.6
    for x in np.arange(b0 + step / 2, b1 - step / 2 + 1e-6, step):
        for y in np.arange(-width / 2 + step / 2 + 0.05, width / 2 - step / 2 + 1e-6, step):
            if rng.random() < 0.8:
                c = _jitter(rng, col, 15)
                if kind == "sacks":
                    out.append(Shape(ngon(0.25, 10, x, y) * [1, 0.7] + [0, y * 0.3], c, height,
                                     depth_m=0.3))
                else:
                    out.append(Shape(rect(step * 0.92, step * 0.92, x, y), c, height,
                                     depth_m=0.45))
                    if kind == "crates":
                        out.append(Shape(np.array([[x - 0.25, y], [x + 0.25, y]]),
                                         _shade(c, 0.6), height + 0.01, 0.03))
    return out


# ---- the scene ------------------------------------------------------------------------------

@dataclass
class Ground:
    img: np.ndarray  # canvas BGR float32
    road: tuple[np.ndarray, np.ndarray, float, float] | None  # centre, along, half-width, walk


def _noise(rng, h: int, w: int, cell_px: float) -> np.ndarray:
    gh, gw = max(2, int(h / cell_px)), max(2, int(w / cell_px))
    return cv2.resize(rng.normal(0, 1, (gh, gw)).astype(np.float32), (w, h),
                      interpolation=cv2.INTER_CUBIC)


def _surface(rng, h: int, w: int, ppm: float, base: BGR) -> np.ndarray:
    img = np.broadcast_to(np.array(base, np.float32), (h, w, 3)).copy()
    img += rng.uniform(4, 30) * _noise(rng, h, w, ppm * rng.uniform(2, 20))[..., None]
    img += rng.uniform(0, 10) * rng.normal(0, 1, (h, w, 1)).astype(np.float32)
    if rng.random() < 0.35:  # tiles or slabs
        size = rng.uniform(0.3, 1.5) * ppm
        yy, xx = np.mgrid[0:h, 0:w]
        joint = (np.mod(xx, size) < 1.2) | (np.mod(yy, size * rng.uniform(0.5, 2)) < 1.2)
        img[joint] *= rng.uniform(0.6, 0.9)
    return img


def make_ground(rng, h: int, w: int, ppm: float) -> Ground:
    img = _surface(rng, h, w, ppm, _hsv(rng, s=(0, 0.45), v=(0.2, 0.75)))
    if rng.random() < 0.25:
        return Ground(img, None)
    centre = np.array([w / 2, h / 2]) / ppm + rng.normal(0, 8, 2)  # near the canvas centre
    a = rng.uniform(0, math.pi)
    along = np.array([math.cos(a), math.sin(a)])
    half, walk = rng.uniform(3.0, 8.0), rng.uniform(2.0, 6.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / ppm
    across = (xx - centre[0]) * -along[1] + (yy - centre[1]) * along[0]
    along_m = (xx - centre[0]) * along[0] + (yy - centre[1]) * along[1]
    road = np.abs(across) < half
    walk_m = (~road) & (np.abs(across) < half + walk)
    img[road] = _surface(rng, h, w, ppm, _hsv(rng, s=(0, 0.2), v=(0.15, 0.6)))[road]
    img[walk_m] = _surface(rng, h, w, ppm, _hsv(rng, s=(0, 0.5), v=(0.3, 0.85)))[walk_m]
    if rng.random() < 0.8:  # markings: a dashed centre line, kerbs
        dash = rng.uniform(1.5, 4.0)
        centre_line = (np.abs(across) < 0.07) & (np.mod(along_m, 2 * dash) < dash)
        img[centre_line] = (230, 230, 230) if rng.random() < 0.6 else (30, 190, 230)
        img[np.abs(np.abs(across) - half) < 0.1] = _hsv(rng, s=(0, 0.2), v=(0.5, 0.95))
    return Ground(img, (centre, along, half, walk))


def build_items(rng, look: Look, ground: Ground, side_m: float, view_r_m: float,
                frame_m2: float) -> list[Item]:
    """The things of a scene on a canvas ``side_m`` square, all within ``view_r_m`` of its
    centre (what any view of the frame can take in); as many as suit a frame of ``frame_m2``."""
    items: list[Item] = []
    mid = side_m / 2
    taken: list[tuple[float, float, float]] = []

    def spot(kind: str) -> tuple[float, float, float]:
        """Where a thing of ``kind`` goes: by the street when there is one, else anywhere."""
        if ground.road is None or rng.random() < 0.15:
            r, a = view_r_m * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            return mid + r * math.cos(a), mid + r * math.sin(a), rng.uniform(0, 2 * math.pi)
        centre, along, half, walk = ground.road
        t = rng.uniform(-1.0, 1.0) * view_r_m
        side = rng.choice([-1, 1])
        if kind in FUEL_FORMS or kind in ("empty_truck", "cargo_truck", "cargo_tricycle", "car"):
            c = side * (half - rng.uniform(1.0, 1.6))
            heading = math.atan2(along[1], along[0]) + rng.choice([0, math.pi]) + rng.normal(0, 0.1)
        elif kind == "manhole":
            c = rng.uniform(-half + 0.5, half - 0.5)
            heading = 0.0
        else:
            c = side * (half + rng.uniform(-1.0, walk))
            heading = math.atan2(along[1], along[0]) + rng.choice([0, math.pi / 2, math.pi]) \
                + rng.normal(0, 0.2)
        p = centre + t * along + c * np.array([-along[1], along[0]])
        return p[0], p[1], heading

    def put(kind: str, label: str | None, shapes: list[Shape], layer: int) -> Item | None:
        for _ in range(6):
            x, y, turn = spot(kind)
            item = Item(kind, label, shapes, layer, x, y, turn)
            r = item.radius_m()
            if math.hypot(x - mid, y - mid) > view_r_m + r:
                continue
            if all(math.hypot(x - x2, y - y2) > 0.8 * (r + r2) for x2, y2, r2 in taken):
                taken.append((x, y, r))
                items.append(item)
                return item
        return None

    # counts per frame of 50 x 50 m (a frame from 35 m); the disc holds about twice a frame
    area = frame_m2 / 2500.0
    if rng.random() < 0.3:
        put("permitted_market", None, *lookalike(rng, look, "permitted_market"))
    for _ in range(int(rng.integers(1, max(3, int(5 * area))))):
        form = str(rng.choice(STALL_FORMS))
        put(form, "street_stall", *stall(rng, look, form))
    for _ in range(int(rng.integers(0, max(2, int(3 * area))))):
        form = str(rng.choice(FUEL_FORMS))
        sale = put(form, "mobile_fuel_sale", fuel_sale(rng, look, form), 1)
        if sale is not None and rng.random() < 0.7:
            _customer(rng, look, sale, items)
    for _ in range(int(rng.integers(1, max(3, int(5 * area))))):
        kind = str(rng.choice(STANDING_LOOKALIKES))
        put(kind, None, *lookalike(rng, look, kind))
    for _ in range(int(rng.integers(0, 4))):
        put("manhole", None, *lookalike(rng, look, "manhole"))
    for _ in range(int(rng.integers(2, max(4, int(8 * area))))):
        kind = "car" if rng.random() < 0.7 else "motorbike"
        put(kind, None, car(rng, look) if kind == "car" else motorbike(rng, look), 1)
    for _ in range(int(rng.integers(0, 15))):
        put("pedestrian", None, [Shape(ngon(rng.uniform(0.18, 0.26), 8), _hsv(rng), 1.7,
                                       depth_m=1.6)], 1)
    for _ in range(int(rng.integers(0, 10))):
        r = rng.uniform(1.2, 3.5)
        blob = ngon(r, 14) * rng.uniform(0.8, 1.2, (14, 1))
        put("tree", None, [Shape(blob, _hsv(rng, h=rng.uniform(35, 85), s=(0.3, 0.8),
                                              v=(0.15, 0.55)), 5.0)], 3)
    return items


def _customer(rng, look: Look, sale: Item, items: list[Item]) -> None:
    """The customer's car or motorbike beside the sale, and the hose to it (unlabelled)."""
    side = rng.choice([-1, 1])
    kind = "motorbike" if rng.random() < 0.6 else "car"
    off = np.array([rng.uniform(-2.0, 2.0), side * (2.4 if kind == "motorbike" else 3.0)])
    pos = sale.place(off)[0]
    cust = Item(kind, None, motorbike(rng, look) if kind == "motorbike" else car(rng, look), 1,
                float(pos[0]), float(pos[1]), sale.turn_rad + rng.normal(0, 0.2))
    src = sale.place(sale.shapes[-1].pts.mean(axis=0))[0]
    mid = (src + pos) / 2 + rng.normal(0, 0.4, 2)
    hose = Item("hose", None, [Shape(np.stack([src, mid, pos]), _hsv(rng, v=(0.0, 0.4)), 0.0,
                                     rng.uniform(0.04, 0.08))], 4)
    items += [cust, hose]


# ---- drawing --------------------------------------------------------------------------------

def render_seed(seed: int, intrinsics: Intrinsics | None = None, with_ids: bool = False
                ) -> StyleFrame:
    """Frame ``seed``: a random look, 27-95 m up (30-95 m before the view's zoom of up to
    1 / 0.9), nadir or up to about 16 deg oblique, every solid drawn in 3-D as that camera sees
    it (its top leaning away from the nadir, the sides that face the camera shaded)."""
    intr = intrinsics or Intrinsics()
    rng = np.random.default_rng([seed, 0x7A2])
    alt = float(rng.uniform(*ALT_RANGE_M))
    w, h = intr.width_px, intr.height_px
    ppm = intr.focal_px / alt  # pixels per metre at nadir
    side = _canvas_px(w, h)
    look = make_look(rng)
    # the ground at half resolution, scaled up (four fifths of the time otherwise), then grain
    ground = make_ground(rng, side // 2, side // 2, ppm / 2)
    ground.img = cv2.resize(ground.img, (side, side), interpolation=cv2.INTER_LINEAR)
    view_r_m = 0.5 * math.hypot(w * (1 + 2 * TILT_MAX * 0.6), h * (1 + TILT_MAX * 0.3)) / ppm
    items = build_items(rng, look, ground, side / ppm, view_r_m, w * h / ppm ** 2)
    # every shape's canvas pixels, once: for its shadow, its drawing and its item's box
    placed = [[it.place(sh.pts) * ppm for sh in it.shapes] for it in items]
    shade = np.zeros((side, side), np.uint8)
    for it, qs in zip(items, placed, strict=True):
        for sh, q in zip(it.shapes, qs, strict=True):
            if sh.height_m > 0.3 and not sh.line_m:
                cv2.fillPoly(shade, [_fix(q + look.shadow_dir * (sh.height_m * ppm))], 255,
                             cv2.LINE_AA, _SHIFT)
    light = 1.0 - look.shadow_k * shade[..., None].astype(np.float32) / 255.0
    canvas = np.clip(ground.img * light, 0, 255).astype(np.uint8)
    del ground, light, shade
    # the view: a quad of the canvas mapped onto the frame (nadir: the frame itself, centred;
    # oblique: the far edge wider), turned at random; and the camera that sees it so
    H = _view(rng, w, h, side)
    camera = view_camera(H, intr, ppm)
    ids = np.zeros((side, side), np.uint16) if with_ids else None
    outlines = draw_items(canvas, ids, items, placed, look, camera, ppm)
    image = cv2.warpPerspective(canvas, H, (w, h), flags=cv2.INTER_LINEAR)
    if ids is not None:
        ids = cv2.warpPerspective(ids, H, (w, h), flags=cv2.INTER_NEAREST)
    drawn = []
    for i, it in enumerate(items):
        pts = cv2.perspectiveTransform(np.concatenate(outlines[i])[None].astype(np.float64), H)[0]
        pad = max((sh.line_m * ppm / 2 for sh in it.shapes if sh.line_m), default=0.0)
        x0, y0 = pts.min(axis=0) - pad
        x1, y1 = pts.max(axis=0) + pad
        drawn.append(DrawnItem(i, it.kind, it.label, (float(x0), float(y0), float(x1), float(y1))))
    image = _sensor(image, rng)
    boxes = true_boxes(drawn, w, h, VIOLATION_CLASSES)
    pose = CameraPose(0.0, 0.0, camera.height_m, float(rng.uniform(0, 360)), camera.pitch_deg)
    aim = aim_at(drawn, w, h, rng, LOOKALIKE_KINDS, violation_share=0.55, lookalike_share=0.30)
    return StyleFrame(image, pose, boxes, drawn, aim, ids)


@dataclass
class ViewCamera:
    """The pinhole camera whose ground homography is a view's: where it stands over the canvas
    (``nadir_px``), how high (``height_m``), and its optical axis' pitch (-90: straight down)."""

    nadir_px: np.ndarray
    height_m: float
    pitch_deg: float

    def lift(self, pts_px: np.ndarray, height_m: float) -> np.ndarray:
        """Canvas points of the ground under ``height_m`` of a thing: where the camera's ray
        through that height meets the ground, so the homography draws it where the camera sees
        it (relief displacement: away from the nadir by r * h / (H - h))."""
        if height_m <= 0.0:
            return pts_px
        # nothing drawn stands within a fifth of the camera's height (trees: 5 m, views 27 m up)
        k = self.height_m / (self.height_m - min(height_m, 0.8 * self.height_m))
        return self.nadir_px + (pts_px - self.nadir_px) * k


def view_camera(H: np.ndarray, intr: Intrinsics, ppm: float) -> ViewCamera:
    """The camera of a canvas-to-frame homography ``H`` (canvas at ``ppm`` px a metre): with
    K the intrinsics, K^-1 H = s [r1 r2 t] (Zhang's decomposition of a plane's homography), the
    camera centre is -R^T t."""
    M = np.linalg.inv(intr.matrix()) @ np.asarray(H, float)
    s = math.sqrt(np.linalg.norm(M[:, 0]) * np.linalg.norm(M[:, 1]))
    if M[2, 2] < 0:  # the ground lies in front of the camera
        s = -s
    r1, r2 = M[:, 0] / np.linalg.norm(M[:, 0]), M[:, 1] / np.linalg.norm(M[:, 1])
    r3 = np.cross(r1, r2)
    r3 /= np.linalg.norm(r3)
    R = np.stack([r1, r2, r3], axis=1)
    centre = -R.T @ (M[:, 2] / s)
    # the optical axis in canvas coordinates is R^T e3; its angle off the ground's normal
    off_nadir = math.degrees(math.acos(min(1.0, abs(float(R[2, 2])))))
    return ViewCamera(centre[:2].copy(), abs(float(centre[2])) / ppm, -90.0 + off_nadir)


def draw_items(canvas: np.ndarray, ids: np.ndarray | None, items: list[Item],
               placed: list[list[np.ndarray]], look: Look, camera: ViewCamera, ppm: float
               ) -> list[list[np.ndarray]]:
    """Paint ``items`` (their shapes' canvas pixels in ``placed``) onto the canvas as
    ``camera`` sees them: each shape at its height, a solid's sides that face the camera (the
    hull of its top and its base, in the look's side shade) under its top; items by layer, and
    in a layer the farthest from the nadir first, since a nearer thing hides the foot of a
    farther one. With ``ids`` each item's pixels take its index + 1. Returns each item's drawn
    outlines (canvas px), for its box."""
    outlines: list[list[np.ndarray]] = [[] for _ in items]

    def far_first(i: int) -> tuple[int, float]:
        where_px = np.array([items[i].x_m, items[i].y_m]) * ppm
        return items[i].layer, -float(np.linalg.norm(where_px - camera.nadir_px))

    for i in sorted(range(len(items)), key=far_first):
        for sh, q in zip(items[i].shapes, placed[i], strict=True):
            top = camera.lift(q, sh.height_m)
            outlines[i].append(top)
            if sh.line_m:
                th = max(1, round(sh.line_m * ppm))
                cv2.polylines(canvas, [_fix(top)], False, sh.bgr, th, cv2.LINE_AA, _SHIFT)
                if ids is not None:
                    cv2.polylines(ids, [_fix(top)], False, i + 1, th, cv2.LINE_8, _SHIFT)
                continue
            polys = [(top, sh.bgr)]
            if sh.depth_m > 0:
                base = camera.lift(q, sh.height_m - sh.depth_m)
                hull = cv2.convexHull(np.vstack([base, top]).astype(np.float32))[:, 0]
                polys.insert(0, (hull, _shade(sh.bgr, look.side_k)))
                outlines[i].append(base)
            for poly, bgr in polys:
                pts = [_fix(poly)]
                cv2.fillPoly(canvas, pts, bgr, cv2.LINE_AA, _SHIFT)
                if look.outline is not None:
                    cv2.polylines(canvas, pts, True, look.outline, 1, cv2.LINE_AA, _SHIFT)
                if ids is not None:
                    cv2.fillPoly(ids, pts, i + 1, cv2.LINE_8, _SHIFT)
    return outlines


def _fix(pts_px: np.ndarray) -> np.ndarray:
    return np.round(pts_px * (1 << _SHIFT)).astype(np.int32)


#: the most an oblique view widens the far edge (a share of the width, each side) and lifts it
TILT_MAX = 0.3


def _canvas_px(w: int, h: int) -> int:
    """The side of the square canvas that holds any view of a w x h frame, turned any way."""
    return int(2.05 * math.hypot(w / 2 + TILT_MAX * 0.6 * w, h / 2 + TILT_MAX * 0.3 * h))


def _view(rng, w: int, h: int, side: int) -> np.ndarray:
    """The canvas-to-frame homography: a w x h quad at the centre of the canvas (nadir), or one
    with its far edge up to 1.36 times the near one's width (oblique: the camera of such a view,
    ``view_camera``, looks up to about 16 deg off nadir), turned."""
    tilt = 0.0 if rng.random() < 0.5 else rng.uniform(0.0, TILT_MAX)
    spread, lift = tilt * 0.6 * w, tilt * 0.3 * h
    src = np.float32([[-w / 2 - spread, -h / 2 - lift], [w / 2 + spread, -h / 2 - lift],
                      [w / 2, h / 2], [-w / 2, h / 2]]) * rng.uniform(0.9, 1.0)
    ang = rng.uniform(0, 2 * math.pi)
    rot = np.float32([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    src = src @ rot.T + side / 2
    dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    return cv2.getPerspectiveTransform(src.astype(np.float32), dst)


def _sensor(img: np.ndarray, rng) -> np.ndarray:
    """A random camera: exposure, gamma, colour cast, dusk, blur (focus or motion), noise, and
    JPEG or a lower resolution scaled back."""
    f = img.astype(np.float32) / 255.0
    f = np.power(np.clip(f * rng.uniform(0.6, 1.35), 0, 1), rng.uniform(0.7, 1.4))
    f *= rng.uniform(0.8, 1.2, 3).astype(np.float32)
    if rng.random() < 0.2:  # evening: dark, blue
        f = f * rng.uniform(0.3, 0.6) * np.array([1.25, 1.0, 0.8], np.float32)
    f *= 255.0
    u = rng.random()
    if u < 0.3:
        f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.4, 1.6))
    elif u < 0.45:
        n = int(rng.integers(3, 9))
        k = np.zeros((n, n), np.float32)
        k[n // 2, :] = 1.0 / n
        rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), rng.uniform(0, 180), 1.0)
        f = cv2.filter2D(f, -1, cv2.warpAffine(k, rot, (n, n)))
    f += rng.normal(0, rng.uniform(0, 8), f.shape).astype(np.float32)
    out = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.25:
        s = rng.uniform(0.5, 0.8)
        h, w = out.shape[:2]
        out = cv2.resize(cv2.resize(out, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA),
                         (w, h), interpolation=cv2.INTER_LINEAR)
    _ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)
