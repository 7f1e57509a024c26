"""How each kind of object looks from above, in its many forms and colours."""

from __future__ import annotations

import math

import numpy as np

from simulators.town.canvas import Canvas
from simulators.town.objects import TownObject, rect_corners

CANOPY_COLOURS = [(40, 40, 200), (180, 90, 30), (30, 140, 240), (60, 160, 60), (40, 200, 230),
                  (200, 200, 200), (150, 60, 150), (30, 90, 220), (190, 150, 40)]
CAR_COLOURS = {"white": (235, 235, 232), "silver": (180, 182, 185), "black": (35, 35, 40),
               "grey": (110, 112, 115), "red": (40, 40, 170), "blue": (150, 80, 40)}
DRUM_COLOURS = [(160, 90, 20), (40, 40, 180), (40, 40, 40), (30, 120, 200), (200, 160, 60)]


class _Obj:
    """Drawing in an object's own coordinates: ``a`` along its length, ``c`` across it."""

    def __init__(self, cv: Canvas, o: TownObject):
        self.cv, self.o = cv, o
        h = math.radians(o.heading_deg)
        self.along = np.array([math.sin(h), math.cos(h)])
        self.across = np.array([math.cos(h), -math.sin(h)])
        self.centre = np.array([o.east_m, o.north_m])

    def pt(self, a: float, c: float) -> np.ndarray:
        return self.centre + self.along * a + self.across * c

    def rect(self, a: float, c: float, length: float, width: float, bgr) -> None:
        p = self.pt(a, c)
        self.cv.poly(rect_corners(p[0], p[1], self.o.heading_deg, length, width), bgr)

    def disc(self, a: float, c: float, r: float, bgr) -> None:
        p = self.pt(a, c)
        self.cv.circle(p[0], p[1], r, bgr)


def _jitter(rng: np.random.Generator, bgr, amount: int = 18):
    return tuple(int(v + rng.integers(-amount, amount + 1)) for v in bgr)


def shadow_polygon(o: TownObject, offset_en: np.ndarray) -> np.ndarray | None:
    """The ground shadow of the object: its footprint swept along the sun's offset."""
    if o.height_m <= 0.3:
        return None
    fp = o.footprint_en()
    if o.kind in ("tree", "pedestrian") or (o.kind in ("street_stall", "market_stall")
                                            and o.variant == "umbrella"):
        ang = np.linspace(0, 2 * math.pi, 12, endpoint=False)
        r = 0.5 * min(o.length_m, o.width_m)
        fp = np.stack([o.east_m + r * np.cos(ang), o.north_m + r * np.sin(ang)], axis=1)
    pts = np.concatenate([fp, fp + offset_en * o.height_m])
    return _hull(pts)


def _hull(pts: np.ndarray) -> np.ndarray:
    import cv2

    h = cv2.convexHull(pts.astype(np.float32))
    return h.reshape(-1, 2).astype(np.float64)


def draw(cv: Canvas, o: TownObject) -> None:
    """Draw one object onto the canvas."""
    rng = np.random.default_rng(o.style_seed)
    d = _Obj(cv, o)
    _DRAW[o.kind](d, rng)


def _building(d: _Obj, rng) -> None:
    o, L, W = d.o, d.o.length_m, d.o.width_m
    v = o.variant
    if v == "gable_red":
        base = _jitter(rng, (60, 75, 150))
        d.rect(0, -W / 4, L, W / 2, base)
        d.rect(0, W / 4, L, W / 2, tuple(int(x * 0.72) for x in base))
        d.rect(0, 0, L, 0.3, (50, 55, 90))
        return
    if v == "metal_blue":
        base = _jitter(rng, (170, 120, 50))
        d.rect(0, 0, L, W, base)
        for a in np.arange(-L / 2 + 0.8, L / 2, 1.2):
            d.rect(a, 0, 0.15, W, tuple(int(x * 0.8) for x in base))
        return
    colour = {"flat_grey": (165, 168, 170), "green_roof": (70, 120, 80), "solar": (150, 150, 155),
              "flat_dark": (80, 82, 86)}[v]
    base = _jitter(rng, colour)
    d.rect(0, 0, L, W, tuple(int(x * 0.8) for x in base))  # parapet
    d.rect(0, 0, L - 1.0, W - 1.0, base)
    if v == "solar":
        for a in np.arange(-L / 2 + 2, L / 2 - 2, 2.2):
            for c in np.arange(-W / 2 + 2, W / 2 - 2, 1.3):
                d.rect(a + 1.0, c + 0.55, 2.0, 1.1, (90, 50, 30))
    else:
        for _ in range(rng.integers(1, 5)):
            d.rect(rng.uniform(-L / 3, L / 3), rng.uniform(-W / 3, W / 3), rng.uniform(1, 3),
                   rng.uniform(1, 2.5), _jitter(rng, (200, 200, 200)))
        if rng.random() < 0.4:
            d.disc(rng.uniform(-L / 3, L / 3), rng.uniform(-W / 3, W / 3), 1.0, (210, 210, 215))


def _tree(d: _Obj, rng) -> None:
    r = d.o.length_m / 2
    base = _jitter(rng, (50, 100, 55), 12)
    d.disc(0, 0, r, base)
    for _ in range(4):
        d.disc(rng.uniform(-r / 3, r / 3), rng.uniform(-r / 3, r / 3), r * rng.uniform(0.4, 0.7),
               tuple(int(x * rng.uniform(0.85, 1.2)) for x in base))


def _car(d: _Obj, rng) -> None:
    L, W = d.o.length_m, d.o.width_m
    body = _jitter(rng, CAR_COLOURS.get(d.o.variant, (150, 150, 150)), 10)
    d.rect(0, 0, L, W, body)
    d.rect(L * 0.18, 0, L * 0.16, W * 0.84, (45, 45, 50))  # windscreen
    d.rect(-L * 0.3, 0, L * 0.1, W * 0.8, (55, 55, 60))  # rear window
    d.rect(-L * 0.06, 0, L * 0.32, W * 0.78, tuple(min(255, int(x * 1.05)) for x in body))


def _van(d: _Obj, rng) -> None:
    L, W = d.o.length_m, d.o.width_m
    body = _jitter(rng, CAR_COLOURS.get(d.o.variant, (200, 200, 200)), 10)
    d.rect(0, 0, L, W, body)
    d.rect(L * 0.36, 0, L * 0.1, W * 0.86, (45, 45, 50))
    d.rect(-L * 0.1, 0, L * 0.6, W * 0.8, tuple(int(x * 0.94) for x in body))
    if rng.random() < 0.4:  # roof rack
        for a in (-L * 0.3, -L * 0.05, L * 0.2):
            d.rect(a, 0, 0.1, W * 0.8, (60, 60, 60))


def _pedestrian(d: _Obj, rng) -> None:
    d.disc(0, 0, 0.28, _jitter(rng, CANOPY_COLOURS[rng.integers(len(CANOPY_COLOURS))], 30))
    d.disc(0, 0, 0.12, (30, 30, 35))


def _goods(d: _Obj, rng, a0, a1, c0, c1, n) -> None:
    for _ in range(n):
        col = tuple(int(x) for x in rng.integers(30, 240, 3))
        d.rect(rng.uniform(a0, a1), rng.uniform(c0, c1), rng.uniform(0.15, 0.35),
               rng.uniform(0.15, 0.35), col)


def _canopy(d: _Obj, rng, variant: str, market: bool) -> None:
    L, W = d.o.length_m, d.o.width_m
    colours = [(235, 235, 235), (190, 120, 40)] if market else CANOPY_COLOURS
    c1 = _jitter(rng, colours[rng.integers(len(colours))], 12)
    c2 = _jitter(rng, colours[rng.integers(len(colours))], 12)
    if variant == "umbrella":
        r = min(L, W) / 2
        p = d.pt(0, 0)
        ang = np.linspace(0, 2 * math.pi, 9)
        for i in range(8):
            wedge = np.array([p, p + r * np.array([math.cos(ang[i]), math.sin(ang[i])]),
                              p + r * np.array([math.cos(ang[i + 1]), math.sin(ang[i + 1])])])
            d.cv.poly(wedge, c1 if i % 2 == 0 else c2)
        d.disc(0, 0, 0.12, (40, 40, 40))
    elif variant == "tarp":
        d.rect(0, -W / 4, L, W / 2, c1)
        d.rect(0, W / 4, L, W / 2, tuple(int(x * 0.8) for x in c1))
        if rng.random() < 0.35:  # striped
            for a in np.arange(-L / 2 + 0.3, L / 2, 0.6):
                d.rect(a, 0, 0.25, W, c2)
    else:  # table with goods
        d.rect(0, 0, L, W, _jitter(rng, (200, 210, 215) if rng.random() < 0.5 else (80, 130, 170)))
        _goods(d, rng, -L / 2 + 0.2, L / 2 - 0.2, -W / 2 + 0.15, W / 2 - 0.15,
               int(L * W * 6))


def _street_stall(d: _Obj, rng) -> None:
    L, W, v = d.o.length_m, d.o.width_m, d.o.variant
    if v in ("umbrella", "tarp", "table"):
        _canopy(d, rng, v, market=False)
    elif v == "cart":
        d.rect(0, W / 2 + 0.05, 0.5, 0.15, (30, 30, 30))  # wheels
        d.rect(0, -W / 2 - 0.05, 0.5, 0.15, (30, 30, 30))
        d.rect(0, 0, L, W, _jitter(rng, CANOPY_COLOURS[rng.integers(len(CANOPY_COLOURS))]))
        d.rect(0, 0, L * 0.8, W * 0.7, _jitter(rng, (200, 200, 205)))
        _goods(d, rng, -L * 0.35, L * 0.35, -W * 0.3, W * 0.3, 8)
        d.rect(-L / 2 - 0.3, 0, 0.6, 0.08, (50, 50, 50))  # handle
    elif v == "tricycle":
        d.disc(L / 2 - 0.3, 0, 0.25, (30, 30, 30))
        d.rect(L / 2 - 0.8, 0, 0.7, 0.5, _jitter(rng, (60, 60, 160)))
        d.rect(-0.35, 0, L * 0.62, W, _jitter(rng, (110, 110, 115)))
        _goods(d, rng, -L * 0.3 - 0.35, L * 0.3 - 0.35, -W * 0.4, W * 0.4, 14)
        if rng.random() < 0.5:
            d.rect(-0.35, 0, L * 0.62, W * 1.1,
                   _jitter(rng, CANOPY_COLOURS[rng.integers(len(CANOPY_COLOURS))]))
    else:  # mat on the ground
        d.rect(0, 0, L, W, _jitter(rng, [(150, 80, 30), (40, 40, 160), (60, 130, 60)][
            rng.integers(3)]))
        _goods(d, rng, -L / 2 + 0.2, L / 2 - 0.2, -W / 2 + 0.2, W / 2 - 0.2, int(L * W * 5))
    if rng.random() < 0.6:  # the vendor beside it
        side = 1 if rng.random() < 0.5 else -1
        d.disc(rng.uniform(-L / 3, L / 3), side * (W / 2 + 0.35), 0.25,
               _jitter(rng, (80, 80, 80), 40))


def _market_stall(d: _Obj, rng) -> None:
    _canopy(d, rng, d.o.variant, market=True)


def _delivery_tricycle(d: _Obj, rng) -> None:
    L, W, v = d.o.length_m, d.o.width_m, d.o.variant
    d.disc(L / 2 - 0.3, 0, 0.25, (30, 30, 30))
    d.rect(L / 2 - 0.8, 0, 0.7, 0.5, _jitter(rng, (60, 60, 60)))
    d.rect(-0.35, 0, L * 0.62, W, _jitter(rng, (120, 120, 125)))
    if v == "boxes":
        for a in (-0.8, -0.25, 0.3):
            d.rect(a - 0.35, 0, 0.5, W * 0.85, _jitter(rng, (80, 140, 190), 10))
    elif v == "crates":
        for a in (-0.8, -0.2):
            d.rect(a - 0.3, 0, 0.55, W * 0.8, _jitter(rng, (40, 190, 230), 10))


def _fuel_sale(d: _Obj, rng) -> None:
    L, W, v = d.o.length_m, d.o.width_m, d.o.variant
    drum = DRUM_COLOURS[rng.integers(len(DRUM_COLOURS))]
    toward = np.array(d.o.extras.get("toward_en", (1.0, 0.0)))
    # which across-side (+1/-1) faces the customer
    side = 1.0 if float(np.dot(toward, d.across)) >= 0 else -1.0
    drums: list[tuple[float, float]] = []
    if v == "tricycle_drums":
        d.disc(L / 2 - 0.3, 0, 0.25, (30, 30, 30))
        d.rect(L / 2 - 0.8, 0, 0.7, 0.5, _jitter(rng, (60, 60, 60)))
        d.rect(-0.4, 0, L * 0.62, W, _jitter(rng, (110, 115, 120)))
        drums = [(-0.9, -0.32), (-0.9, 0.32), (-0.2, -0.32), (-0.2, 0.32)]
    else:
        body = _jitter(rng, CAR_COLOURS[str(rng.choice(["white", "silver", "grey", "blue"]))], 10)
        d.rect(0, 0, L, W, body)
        if v == "van_drums":
            d.rect(L * 0.36, 0, L * 0.1, W * 0.86, (45, 45, 50))
            d.rect(-L * 0.1, 0, L * 0.6, W * 0.8, tuple(int(x * 0.94) for x in body))
            # the side door slid open, drums standing on the ground beside it
            drums = [(-0.3, side * (W / 2 + 0.35)), (0.35, side * (W / 2 + 0.35))]
        else:
            d.rect(L * 0.3, 0, L * 0.1, W * 0.86, (45, 45, 50))
            d.rect(-L * 0.2, 0, L * 0.52, W * 0.86, (70, 70, 75))  # open bed
            if v == "pickup_ibc":
                d.rect(-L * 0.2, 0, 1.15, 1.05, (225, 228, 228))
                for k in (-0.3, 0.0, 0.3):
                    d.rect(-L * 0.2 + k, 0, 0.05, 1.05, (120, 120, 120))
                    d.rect(-L * 0.2, k, 1.15, 0.05, (120, 120, 120))
                d.disc(-L * 0.2, 0, 0.18, (40, 40, 40))
            else:
                drums = [(a, c) for a in (-L * 0.36, -L * 0.2, -L * 0.04) for c in (-0.42, 0.42)]
    for a, c in drums:
        d.disc(a, c, 0.3, drum)
        d.disc(a, c, 0.2, tuple(int(x * 0.75) for x in drum))
        d.disc(a + 0.1, c, 0.05, (20, 20, 20))
    # the hose out to the customer
    start = d.pt(drums[0][0], drums[0][1]) if drums else d.pt(-L * 0.2, 0)
    end = d.centre + toward * (W / 2 + 1.8) + d.along * rng.uniform(-1.0, 1.0)
    mid = (start + end) / 2 + d.along * rng.uniform(-0.6, 0.6)
    d.cv.line(np.array([start, mid, end]), 0.08, (25, 25, 25))
    customer = d.o.extras.get("customer", "none")
    if customer == "motorbike":
        p = d.centre + toward * (W / 2 + 1.9)
        fp = rect_corners(p[0], p[1], d.o.heading_deg + rng.uniform(-20, 20), 1.9, 0.7)
        d.cv.poly(fp, _jitter(rng, (40, 40, 40), 25))
        d.cv.circle(p[0], p[1], 0.28, _jitter(rng, (200, 80, 40), 60))
    elif customer == "car":
        p = d.centre + toward * (W / 2 + 2.4)
        fp = rect_corners(p[0], p[1], d.o.heading_deg, 4.5, 1.8)
        d.cv.poly(fp, _jitter(rng, (150, 150, 150), 60))


_DRAW = {
    "building": _building,
    "tree": _tree,
    "car": _car,
    "van": _van,
    "pedestrian": _pedestrian,
    "delivery_tricycle": _delivery_tricycle,
    "market_stall": _market_stall,
    "street_stall": _street_stall,
    "mobile_fuel_sale": _fuel_sale,
}
