"""The bazaar's scenes: a street at a random angle, its surfaces, and the things on it, in
metres, laid out from a seed around the point below the camera.

Every thing is a list of flat parts (polygons and lines in its own frame, metres along and
across it, with a height for the shadow). The forms are this module's own: stalls as pyramid
canopies, segmented umbrellas over goods, blankets of produce, hand carts and folding tables;
fuel sales as pickups and tricycles with drums in the bed and vans with an IBC tank at the open
back, a hose to the customer's vehicle; look-alikes as empty pickups, parcel tricycles, rows of
café umbrellas and the identical stands of a permitted market inside its painted lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

STALL_FORMS = ("canopy", "umbrella", "produce_mat", "cart", "folding_table")
FUEL_FORMS = ("pickup_drums", "tricycle_drums", "van_ibc")
LOOKALIKE_FORMS = ("empty_pickup", "parcel_tricycle", "cafe_umbrellas", "permitted_market")


@dataclass(frozen=True)
class Part:
    """A polygon (or, with ``line_m``, a polyline that wide) in the thing's own frame."""

    pts: np.ndarray  # (N, 2) metres: along, across
    bgr: tuple[int, int, int]
    height_m: float = 0.0
    line_m: float = 0.0


@dataclass
class Thing:
    """A thing on the ground: where it stands, which way, its parts; ``label`` if it is a
    violation."""

    kind: str
    east_m: float
    north_m: float
    heading_deg: float
    parts: list[Part]
    label: str | None = None
    layer: int = 1  # drawn in layer order: 0 ground marks, 1 things, 2 tall things over them

    def world(self, pts: np.ndarray) -> np.ndarray:
        """Points of the thing's frame as (east_m, north_m)."""
        h = math.radians(self.heading_deg)
        along = np.array([math.sin(h), math.cos(h)])
        across = np.array([math.cos(h), -math.sin(h)])
        pts = np.asarray(pts, float).reshape(-1, 2)
        return np.array([self.east_m, self.north_m]) + pts[:, :1] * along + pts[:, 1:] * across

    def radius_m(self) -> float:
        return float(max(np.linalg.norm(p.pts, axis=1).max() for p in self.parts))


@dataclass
class Scene:
    """A street scene: the street's frame, its surfaces' look, and the things on it."""

    centre_en: tuple[float, float]
    street_deg: float  # the street's axis, clockwise from north
    road_w_m: float
    walk_w_m: float
    cross_at_m: float | None  # a cross street this far along the main one, or none
    surfaces: dict[str, str]  # road, walk, block -> texture name
    palette: dict[str, tuple[int, int, int]]
    things: list[Thing] = field(default_factory=list)
    sun_azimuth_deg: float = 135.0
    sun_elevation_deg: float = 55.0


def rect(length: float, width: float, a: float = 0.0, c: float = 0.0) -> np.ndarray:
    """A rectangle centred (a, c) in the thing's frame."""
    hl, hw = length / 2, width / 2
    return np.array([[a + hl, c - hw], [a + hl, c + hw], [a - hl, c + hw], [a - hl, c - hw]])


def disc(r: float, a: float = 0.0, c: float = 0.0, n: int = 14) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([a + r * np.cos(t), c + r * np.sin(t)], axis=1)


def _col(rng, choices) -> tuple[int, int, int]:
    b = choices[int(rng.integers(len(choices)))]
    return tuple(int(np.clip(v + rng.integers(-20, 21), 0, 255)) for v in b)


BRIGHT = [(30, 30, 210), (200, 120, 20), (20, 170, 240), (40, 170, 60), (180, 60, 170),
          (30, 110, 240), (220, 200, 40), (60, 60, 160), (20, 200, 200), (250, 250, 250)]
VEHICLE = [(240, 240, 238), (185, 187, 190), (40, 40, 45), (60, 60, 150), (140, 90, 40),
           (90, 110, 70), (120, 122, 125)]
DRUM = [(170, 90, 20), (30, 30, 170), (35, 35, 35), (20, 120, 210), (60, 140, 60)]
PRODUCE = [(0, 120, 255), (30, 200, 60), (40, 40, 200), (20, 200, 230), (60, 20, 120),
           (90, 160, 200), (230, 230, 240)]


# ---- stalls ---------------------------------------------------------------------------------

def canopy(rng) -> list[Part]:
    s = rng.uniform(2.4, 3.4)
    base = _col(rng, BRIGHT)
    dark = tuple(int(v * 0.7) for v in base)
    hs = s / 2
    tris = [np.array([[hs, -hs], [hs, hs], [0, 0]]), np.array([[hs, hs], [-hs, hs], [0, 0]]),
            np.array([[-hs, hs], [-hs, -hs], [0, 0]]), np.array([[-hs, -hs], [hs, -hs], [0, 0]])]
    parts = [Part(rect(0.9, s * 0.8, a=hs + 0.35), _col(rng, [(60, 90, 130), (40, 70, 110)]),
                  0.5)]  # crates of goods in front
    for k in range(4):
        parts.append(Part(rect(0.35, 0.5, a=hs + 0.35, c=-s * 0.3 + k * s * 0.2),
                          _col(rng, PRODUCE), 0.6))
    parts += [Part(t, base if k % 2 == 0 else dark, 2.4) for k, t in enumerate(tris)]
    return parts


def umbrella(rng) -> list[Part]:
    r = rng.uniform(1.0, 1.5)
    c1, c2 = _col(rng, BRIGHT), _col(rng, BRIGHT)
    parts = [Part(rect(1.6, 1.2, a=r + 0.3), _col(rng, [(160, 160, 40), (70, 70, 160),
                                                        (100, 100, 100)]), 0.05)]
    for _ in range(int(rng.integers(6, 14))):  # goods spread out beside it
        parts.append(Part(disc(0.12, r + rng.uniform(-0.3, 0.9), rng.uniform(-0.5, 0.5), 6),
                          _col(rng, PRODUCE), 0.15))
    n = 8
    for k in range(n):
        t0, t1 = 2 * math.pi * k / n, 2 * math.pi * (k + 1) / n
        tri = np.array([[0, 0], [r * math.cos(t0), r * math.sin(t0)],
                        [r * math.cos(t1), r * math.sin(t1)]])
        parts.append(Part(tri, c1 if k % 2 else c2, 2.2))
    parts.append(Part(disc(0.08, n=6), (40, 40, 40), 2.3))
    return parts


def produce_mat(rng) -> list[Part]:
    L, W = rng.uniform(1.6, 2.6), rng.uniform(1.1, 1.7)
    parts = [Part(rect(L, W), _col(rng, [(150, 60, 40), (60, 60, 170), (200, 200, 200),
                                         (40, 120, 40), (130, 90, 160)]), 0.03)]
    for _ in range(int(rng.integers(3, 7))):  # heaps of one kind each
        a0, c0 = rng.uniform(-L / 2 + 0.3, L / 2 - 0.3), rng.uniform(-W / 2 + 0.25, W / 2 - 0.25)
        col = _col(rng, PRODUCE)
        for _ in range(int(rng.integers(5, 12))):
            parts.append(Part(disc(rng.uniform(0.06, 0.12), a0 + rng.normal(0, 0.14),
                                   c0 + rng.normal(0, 0.12), 6), col, 0.12))
    parts.append(Part(disc(0.28, a=0, c=W / 2 + 0.35, n=8), (50, 50, 60), 1.6))  # the seller
    return parts


def cart(rng) -> list[Part]:
    L, W = rng.uniform(1.5, 2.1), rng.uniform(0.9, 1.2)
    body = _col(rng, [(200, 200, 200), (40, 90, 170), (30, 140, 200), (120, 60, 40)])
    parts = [Part(rect(0.18, W + 0.35, a=-L * 0.2), (30, 30, 30), 0.5),  # axle and wheels
             Part(rect(L, W), body, 1.1),
             Part(rect(L * 0.8, W * 0.7), _col(rng, [(210, 220, 220), (170, 200, 210)]), 1.2),
             Part(np.array([[L / 2, -W / 3], [L / 2 + 0.7, -W / 4], [L / 2 + 0.7, W / 4],
                            [L / 2, W / 3]]), (60, 60, 60), 0.9, line_m=0.06)]
    for k in range(int(rng.integers(3, 7))):
        parts.append(Part(rect(0.25, 0.25, a=-L * 0.3 + k * 0.22, c=rng.uniform(-0.2, 0.2)),
                          _col(rng, PRODUCE), 1.25))
    if rng.random() < 0.5:  # a small sunshade over it
        parts.append(Part(rect(L * 0.9, W * 1.2), _col(rng, BRIGHT), 2.0))
    return parts


def folding_table(rng) -> list[Part]:
    L, W = rng.uniform(1.6, 2.2), rng.uniform(0.7, 0.9)
    parts = [Part(rect(L, W), _col(rng, [(235, 235, 235), (190, 160, 120), (200, 200, 170)]),
                  0.8)]
    for k in range(int(rng.integers(4, 9))):
        parts.append(Part(rect(rng.uniform(0.15, 0.3), rng.uniform(0.15, 0.3),
                               a=-L / 2 + 0.2 + k * (L - 0.4) / 8, c=rng.uniform(-0.2, 0.2)),
                          _col(rng, PRODUCE), 0.9))
    parts.append(Part(disc(0.2, a=0.2, c=W / 2 + 0.45, n=8), _col(rng, BRIGHT), 0.45))  # stool
    parts.append(Part(rect(0.6, 0.4, a=-0.3, c=W / 2 + 0.4), (60, 100, 150), 0.4))  # a crate
    return parts


# ---- vehicles and fuel sales ---------------------------------------------------------------

def _truck(rng, L, W, body) -> list[Part]:
    cab = L * 0.42
    return [Part(rect(L, W), body, 1.0),
            Part(rect(cab, W * 0.92, a=L / 2 - cab / 2), tuple(int(v * 0.9) for v in body), 1.8),
            Part(rect(cab * 0.3, W * 0.82, a=L / 2 - cab * 0.2), (50, 45, 40), 1.85),  # windscreen
            Part(rect(L - cab - 0.25, W * 0.84, a=-cab / 2 + 0.05), (70, 72, 75), 1.0)]  # bed floor


def _drums(rng, n_max, a0, a1, W, height) -> list[Part]:
    col = _col(rng, DRUM)
    out = []
    n_rows = 2 if W > 1.2 else 1
    per_row = max(1, int((a1 - a0) / 0.62))
    cs = [-0.31, 0.31] if n_rows == 2 else [0.0]
    count = 0
    for i in range(per_row):
        for c in cs:
            if count >= n_max:
                break
            a = a1 - 0.31 - i * 0.62
            out.append(Part(disc(0.29, a, c, 12), col, height))
            out.append(Part(disc(0.05, a + 0.12, c + 0.08, 6), (200, 200, 200), height + 0.01))
            count += 1
    return out


def pickup_drums(rng) -> list[Part]:
    L, W = rng.uniform(5.0, 5.5), 1.85
    parts = _truck(rng, L, W, _col(rng, VEHICLE))
    cab = L * 0.42
    parts += _drums(rng, int(rng.integers(2, 7)), -L / 2 + 0.1, L / 2 - cab - 0.1, W, 1.9)
    return parts


def tricycle_drums(rng) -> list[Part]:
    L, W = rng.uniform(2.7, 3.1), 1.25
    body = _col(rng, [(40, 110, 40), (160, 90, 30), (40, 40, 160), (130, 130, 130)])
    parts = [Part(np.array([[L / 2, 0], [L / 2 - 0.7, -0.35], [L / 2 - 0.7, 0.35]]), body, 1.0),
             Part(disc(0.22, a=L / 2 - 0.55, n=8), (30, 30, 30), 1.2),  # rider
             Part(rect(L - 0.8, W, a=-0.4), body, 0.7),
             Part(rect(L - 0.95, W - 0.15, a=-0.4), (80, 80, 80), 0.7)]
    parts += _drums(rng, int(rng.integers(2, 5)), -L / 2 + 0.05, L / 2 - 0.85, W, 1.6)
    return parts


def van_ibc(rng) -> list[Part]:
    L, W = rng.uniform(4.6, 5.1), 1.95
    body = _col(rng, VEHICLE)
    parts = [Part(rect(L, W), body, 2.1),
             Part(rect(0.5, W * 0.85, a=L / 2 - 0.45), (50, 45, 40), 2.0),
             Part(rect(0.2, 0.9, a=-L / 2 - 0.1, c=-W / 2 + 0.1), body, 2.0),  # open back doors
             Part(rect(0.2, 0.9, a=-L / 2 - 0.1, c=W / 2 - 0.1), body, 2.0)]
    s = 1.1  # the IBC tank at the back: white tote in a steel cage
    a = -L / 2 - 0.25 - s / 2
    parts.append(Part(rect(s, s * 0.9, a=a), (215, 225, 225), 1.15))
    for k in (-0.3, 0.0, 0.3):
        parts.append(Part(np.array([[a + k, -s * 0.45], [a + k, s * 0.45]]), (120, 120, 120),
                          1.16, line_m=0.05))
        parts.append(Part(np.array([[a - s / 2, k], [a + s / 2, k]]), (120, 120, 120), 1.16,
                          line_m=0.05))
    parts.append(Part(disc(0.12, a=a, n=8), (40, 40, 40), 1.17))
    return parts


def car(rng, L=None) -> list[Part]:
    L = L or rng.uniform(4.2, 4.8)
    W = 1.8
    body = _col(rng, VEHICLE)
    return [Part(rect(L, W), body, 1.5),
            Part(rect(L * 0.45, W * 0.85, a=-L * 0.05), tuple(int(v * 0.85) for v in body), 1.5),
            Part(rect(L * 0.14, W * 0.8, a=L * 0.22), (45, 45, 50), 1.5),
            Part(rect(L * 0.1, W * 0.8, a=-L * 0.32), (45, 45, 50), 1.5)]


def motorbike(rng) -> list[Part]:
    return [Part(rect(1.9, 0.35), (30, 30, 30), 0.9),
            Part(rect(0.7, 0.5, a=-0.1), _col(rng, VEHICLE), 1.0),
            Part(disc(0.22, a=0.05, n=8), (20, 20, 20), 1.5)]


def empty_pickup(rng) -> list[Part]:
    L = rng.uniform(5.0, 5.5)
    parts = _truck(rng, L, 1.85, _col(rng, VEHICLE))
    if rng.random() < 0.4:  # a folded tarp or a spare wheel, never drums
        parts.append(Part(rect(0.7, 1.2, a=-L / 2 + 0.6), (100, 130, 90), 1.1))
    return parts


def parcel_tricycle(rng) -> list[Part]:
    L, W = 2.8, 1.2
    body = _col(rng, [(40, 110, 40), (160, 90, 30), (130, 130, 130)])
    parts = [Part(np.array([[L / 2, 0], [L / 2 - 0.7, -0.35], [L / 2 - 0.7, 0.35]]), body, 1.0),
             Part(disc(0.22, a=L / 2 - 0.55, n=8), (30, 30, 30), 1.2)]
    if rng.random() < 0.5:  # a closed cargo box with a courier's colours
        parts.append(Part(rect(L - 0.8, W, a=-0.4), _col(rng, [(30, 90, 220), (200, 120, 20),
                                                                (40, 160, 60)]), 1.6))
        parts.append(Part(rect(0.5, 0.5, a=-0.4), (240, 240, 240), 1.61))
    else:  # cardboard parcels
        parts.append(Part(rect(L - 0.8, W, a=-0.4), (80, 80, 80), 0.7))
        for k in range(int(rng.integers(3, 7))):
            parts.append(Part(rect(rng.uniform(0.35, 0.6), rng.uniform(0.3, 0.5),
                                   a=-L / 2 + 0.35 + (k % 3) * 0.6, c=-0.3 + (k // 3) * 0.6),
                              _col(rng, [(90, 140, 190), (110, 160, 200)]), 1.1))
    return parts


def cafe_row(rng) -> tuple[list[Part], float]:
    """Identical café umbrellas in a row with their tables and chairs: (parts, length)."""
    n, gap, r = int(rng.integers(2, 6)), rng.uniform(2.8, 3.6), rng.uniform(1.0, 1.4)
    col = _col(rng, [(235, 240, 240), (180, 210, 220), (60, 110, 40), (40, 40, 130)])
    parts = []
    span = (n - 1) * gap
    for k in range(n):
        a = -span / 2 + k * gap
        for dc in (-1.0, 1.0):  # chairs peeking out on both sides
            parts.append(Part(rect(0.45, 0.45, a=a, c=dc * (r + 0.3)), (70, 70, 80), 0.9))
        parts.append(Part(disc(r, a=a, n=16), col, 2.4))
        parts.append(Part(disc(r * 0.12, a=a, n=8), tuple(int(v * 0.8) for v in col), 2.45))
    return parts, span + 2 * r


def market(rng) -> tuple[list[Part], float, float]:
    """A permitted market: painted boundary and a grid of identical stands: (parts, L, W)."""
    rows, cols = int(rng.integers(2, 4)), int(rng.integers(3, 6))
    s, gap = rng.uniform(2.4, 3.0), rng.uniform(1.0, 1.8)
    col = _col(rng, [(250, 250, 250), (60, 60, 170), (170, 110, 40), (40, 140, 40)])
    L, W = cols * s + (cols + 1) * gap, rows * s + (rows + 1) * gap
    line = (60, 220, 240) if rng.random() < 0.5 else (240, 240, 240)
    corners = rect(L, W)
    parts = [Part(np.vstack([corners, corners[:1]]), line, 0.0, line_m=0.18)]
    for i in range(cols):
        for j in range(rows):
            a = -L / 2 + gap + s / 2 + i * (s + gap)
            c = -W / 2 + gap + s / 2 + j * (s + gap)
            parts.append(Part(rect(s, s, a, c), col, 2.5))
            parts.append(Part(np.array([[a - s / 2, c], [a + s / 2, c]]),
                              tuple(int(v * 0.75) for v in col), 2.5, line_m=0.08))
    return parts, L, W


def tree(rng) -> list[Part]:
    r = rng.uniform(1.8, 3.2)
    g = _col(rng, [(40, 110, 50), (30, 90, 40), (50, 130, 80)])
    parts = [Part(disc(r, n=18), g, rng.uniform(5, 9))]
    for _ in range(6):
        parts.append(Part(disc(r * 0.35, rng.uniform(-r / 2, r / 2), rng.uniform(-r / 2, r / 2),
                               10), tuple(int(v * rng.uniform(0.75, 1.25)) for v in g), 0.0))
    return parts


def pedestrian(rng) -> list[Part]:
    return [Part(disc(0.25, n=8), _col(rng, BRIGHT + [(40, 40, 40)]), 1.7)]


FORMS = {"canopy": canopy, "umbrella": umbrella, "produce_mat": produce_mat, "cart": cart,
         "folding_table": folding_table, "pickup_drums": pickup_drums,
         "tricycle_drums": tricycle_drums, "van_ibc": van_ibc, "empty_pickup": empty_pickup,
         "parcel_tricycle": parcel_tricycle, "car": car, "motorbike": motorbike}


# ---- layout ---------------------------------------------------------------------------------

class _Layout:
    def __init__(self, rng, scene: Scene, radius_m: float):
        self.rng, self.s, self.R = rng, scene, radius_m
        h = math.radians(scene.street_deg)
        self.along = np.array([math.sin(h), math.cos(h)])
        self.across = np.array([math.cos(h), -math.sin(h)])
        self.taken: list[tuple[float, float, float]] = []

    def en(self, a: float, c: float) -> tuple[float, float]:
        p = np.array(self.s.centre_en) + a * self.along + c * self.across
        return float(p[0]), float(p[1])

    def free(self, e, n, r) -> bool:
        return all(math.hypot(e - e2, n - n2) > r + r2 for e2, n2, r2 in self.taken)

    def put(self, kind, parts, a, c, turn=0.0, label=None, layer=1, tries=1) -> Thing | None:
        e, n = self.en(a, c)
        t = Thing(kind, e, n, (self.s.street_deg + turn) % 360, parts, label, layer)
        r = t.radius_m()
        if not self.free(e, n, r * 0.9):
            return None
        self.taken.append((e, n, r))
        self.s.things.append(t)
        return t


def build_scene(rng: np.random.Generator, centre_en: tuple[float, float], radius_m: float
                ) -> Scene:
    """A street through ``centre_en`` and what stands on it, out to ``radius_m``."""
    road_w, walk_w = rng.uniform(6.5, 14.0), rng.uniform(3.0, 6.0)
    surfaces = {"road": str(rng.choice(["asphalt", "asphalt", "concrete", "dirt"])),
                "walk": str(rng.choice(["pavers", "slabs", "dirt", "concrete"])),
                "block": str(rng.choice(["grass", "dirt", "slabs", "roofs", "roofs"]))}
    palette = {"asphalt": _col(rng, [(70, 72, 75), (95, 95, 98), (55, 58, 60)]),
               "concrete": _col(rng, [(170, 172, 170), (150, 155, 160)]),
               "dirt": _col(rng, [(95, 130, 160), (80, 110, 140), (110, 140, 150)]),
               "pavers": _col(rng, [(90, 90, 160), (140, 140, 150), (100, 120, 170)]),
               "slabs": _col(rng, [(185, 185, 180), (160, 170, 175)]),
               "grass": _col(rng, [(60, 120, 80), (50, 140, 100), (70, 130, 120)]),
               "roofs": _col(rng, [(120, 120, 125), (70, 80, 150), (150, 140, 120)])}
    scene = Scene(centre_en, float(rng.uniform(0, 180)), road_w, walk_w,
                  float(rng.uniform(-0.6, 0.6) * radius_m) if rng.random() < 0.4 else None,
                  surfaces, palette, sun_azimuth_deg=float(rng.uniform(0, 360)),
                  sun_elevation_deg=float(rng.uniform(25, 75)))
    lay = _Layout(rng, scene, radius_m)
    R = radius_m
    edge = road_w / 2 + walk_w / 2

    def side() -> float:
        return float(rng.choice([-1.0, 1.0]))

    # permitted market and café terraces first: they need room
    if rng.random() < 0.45:
        parts, _length, W = market(rng)
        sd = side()
        lay.put("permitted_market", parts, rng.uniform(-R / 2, R / 2),
                sd * (road_w / 2 + walk_w + 1.5 + W / 2), layer=1)
    for _ in range(int(rng.integers(0, 3))):
        parts, _L = cafe_row(rng)
        lay.put("cafe_umbrellas", parts, rng.uniform(-R, R), side() * (edge + rng.uniform(0, 1)),
                layer=2)
    # the violations: stalls on the walk or spilling into the road, fuel sales at the kerb
    for _ in range(int(rng.integers(2, 8))):
        form = str(rng.choice(STALL_FORMS))
        c = side() * (edge + rng.uniform(-walk_w / 3, walk_w / 3) if rng.random() < 0.7
                      else road_w / 2 - rng.uniform(0.8, 1.6))
        lay.put(form, FORMS[form](rng), rng.uniform(-R, R), c, turn=float(rng.uniform(-20, 20))
                + (180 if rng.random() < 0.5 else 0), label="street_stall",
                layer=2 if form in ("canopy", "umbrella") else 1)
    for _ in range(int(rng.integers(0, 4))):
        form = str(rng.choice(FUEL_FORMS))
        sd = side()
        c = sd * (road_w / 2 - 1.3)
        a = float(rng.uniform(-R, R))
        flip = 180.0 if rng.random() < 0.5 else 0.0
        t = lay.put(form, FORMS[form](rng), a, c, turn=flip + rng.uniform(-8, 8),
                    label="mobile_fuel_sale")
        if t is not None and rng.random() < 0.8:  # the customer, with a hose from the tank
            who = "motorbike" if rng.random() < 0.6 else "car"
            ca = a + rng.uniform(-2.5, 2.5)
            cc = c - sd * (2.6 if who == "motorbike" else 3.2)
            cust = lay.put(who, FORMS[who](rng), ca, cc, turn=float(rng.uniform(-15, 15)))
            if cust is not None:
                tank = np.array(t.world(t.parts[-1].pts).mean(axis=0))
                mouth = np.array(lay.en(ca, cc))
                mid = (tank + mouth) / 2 + rng.normal(0, 0.3, 2)
                hose = np.stack([tank, mid, mouth])
                scene.things.append(Thing("hose", 0.0, 0.0, 0.0, [Part(
                    _to_frame(hose, 0.0), (20, 20, 20), 0.0, line_m=0.06)], None, 2))
    # look-alikes: empty pickups and parcel tricycles at the same kerbs
    for _ in range(int(rng.integers(1, 5))):
        form = str(rng.choice(["empty_pickup", "parcel_tricycle", "empty_pickup",
                               "parcel_tricycle", "car"]))
        lay.put(form, FORMS[form](rng), rng.uniform(-R, R), side() * (road_w / 2 - 1.3),
                turn=(180.0 if rng.random() < 0.5 else 0.0) + rng.uniform(-8, 8))
    # traffic, people, trees
    for _ in range(int(rng.integers(2, 9))):
        form = "car" if rng.random() < 0.75 else "motorbike"
        lane = side() * rng.uniform(0.8, max(1.0, road_w / 2 - 2.2))
        lay.put(form, FORMS[form](rng), rng.uniform(-R, R), lane,
                turn=0.0 if lane > 0 else 180.0)
    for _ in range(int(rng.integers(4, 20))):
        lay.put("pedestrian", pedestrian(rng), rng.uniform(-R, R),
                side() * (edge + rng.uniform(-walk_w / 2, walk_w / 2)), layer=1)
    for _ in range(int(rng.integers(0, 8))):
        lay.put("tree", tree(rng), rng.uniform(-R, R),
                side() * (road_w / 2 + walk_w + rng.uniform(0.5, 4.0)), layer=2)
    return scene


def _to_frame(en: np.ndarray, heading_deg: float) -> np.ndarray:
    """World points as a thing's frame at the origin with ``heading_deg`` (for world-drawn
    parts such as a hose)."""
    h = math.radians(heading_deg)
    along = np.array([math.sin(h), math.cos(h)])
    across = np.array([math.cos(h), -math.sin(h)])
    return np.stack([en @ along, en @ across], axis=1)
