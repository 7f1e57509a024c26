"""The dusk style's scenes: solid 3-D blocks and drums on a street of photographed ground.

Every thing is a set of upright prisms (a footprint polygon in the thing's own frame, metres
along and across it, raised from ``z0_m`` to ``z1_m``): boxes for tables, vehicle bodies, cabs
and tanks, many-sided prisms for drums, parasols and people. The forms are this style's own:
stalls as four-legged gazebos, trestle stands under a parasol, ground sheets of goods and
barrows; fuel sales as flatbed trucks and tricycles carrying standing drums and vans with an
IBC tote at the back, a hose to the customer; look-alikes as bare flatbeds, box vans, parcel
tricycles, café parasols and the identical gazebos of a permitted market.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

STALL_FORMS = ("gazebo", "trestle_parasol", "ground_sheet", "barrow")
FUEL_FORMS = ("flatbed_drums", "trike_drums", "van_tote")
LOOKALIKE_FORMS = ("bare_flatbed", "box_van", "parcel_trike", "cafe_parasols",
                   "permitted_market")


@dataclass(frozen=True)
class Prism:
    """An upright prism: footprint (N, 2) in the thing's frame, from z0 to z1 metres."""

    foot: np.ndarray
    z0_m: float
    z1_m: float
    rgb: tuple[float, float, float]  # 0..1, lit by the scene's light
    glow: float = 0.0  # a lamp on its top: glow strength


@dataclass
class Body:
    """A thing: its place and heading, its prisms, its label (None for everything else)."""

    kind: str
    east_m: float
    north_m: float
    heading_deg: float
    prisms: list[Prism]
    label: str | None = None

    def to_world(self, ac: np.ndarray) -> np.ndarray:
        h = math.radians(self.heading_deg)
        ca, sa = math.cos(h), math.sin(h)
        ac = np.asarray(ac, float).reshape(-1, 2)
        e = self.east_m + ac[:, 0] * sa + ac[:, 1] * ca
        n = self.north_m + ac[:, 0] * ca - ac[:, 1] * sa
        return np.stack([e, n], axis=1)

    def reach_m(self) -> float:
        return float(max(np.abs(p.foot).max() for p in self.prisms) * 1.2)


@dataclass
class Street:
    """The ground plan: a street (and maybe a crossing one) and its ground photographs."""

    angle_deg: float
    road_w_m: float
    walk_w_m: float
    crossing: bool
    road_tex: str
    walk_tex: str
    verge_tex: str
    tints: dict[str, tuple[float, float, float]]
    bodies: list[Body] = field(default_factory=list)
    painted: list[tuple[np.ndarray, float, tuple[float, float, float]]] = field(
        default_factory=list)  # (world polyline, width m, rgb): market lines, hoses


def box(length, width, z0, z1, rgb, a=0.0, c=0.0, glow=0.0) -> Prism:
    hl, hw = length / 2, width / 2
    foot = np.array([[a - hl, c - hw], [a + hl, c - hw], [a + hl, c + hw], [a - hl, c + hw]])
    return Prism(foot, z0, z1, rgb, glow)


def cyl(r, z0, z1, rgb, a=0.0, c=0.0, sides=10, glow=0.0) -> Prism:
    t = np.linspace(0, 2 * math.pi, sides, endpoint=False)
    return Prism(np.stack([a + r * np.cos(t), c + r * np.sin(t)], axis=1), z0, z1, rgb, glow)


def _pick(rng, options) -> tuple[float, float, float]:
    r, g, b = options[int(rng.integers(len(options)))]
    j = rng.uniform(-0.06, 0.06, 3)
    return tuple(float(np.clip(v + d, 0, 1)) for v, d in zip((r, g, b), j))


VIVID = [(0.85, 0.1, 0.1), (0.1, 0.35, 0.8), (0.95, 0.6, 0.05), (0.1, 0.6, 0.25),
         (0.6, 0.15, 0.6), (0.95, 0.9, 0.2), (0.05, 0.6, 0.7), (0.9, 0.9, 0.9)]
PAINT = [(0.92, 0.92, 0.9), (0.7, 0.72, 0.75), (0.15, 0.15, 0.17), (0.55, 0.1, 0.1),
         (0.15, 0.25, 0.5), (0.3, 0.4, 0.25)]
GOODS = [(1.0, 0.5, 0.0), (0.2, 0.75, 0.2), (0.8, 0.1, 0.15), (0.95, 0.85, 0.2),
         (0.45, 0.2, 0.5), (0.9, 0.9, 0.85)]
STEEL_DRUM = [(0.1, 0.3, 0.7), (0.7, 0.1, 0.1), (0.12, 0.12, 0.12), (0.2, 0.5, 0.2)]


def _goods(rng, a0, a1, c0, c1, z, n) -> list[Prism]:
    return [box(rng.uniform(0.2, 0.4), rng.uniform(0.2, 0.4), z, z + rng.uniform(0.1, 0.3),
                _pick(rng, GOODS), rng.uniform(a0, a1), rng.uniform(c0, c1)) for _ in range(n)]


def gazebo(rng, rgb=None, size=None, lit=None) -> list[Prism]:
    s = size or rng.uniform(2.5, 3.2)
    rgb = rgb or _pick(rng, VIVID)
    out = [cyl(0.05, 0, 2.3, (0.2, 0.2, 0.2), a=sa * s / 2.2, c=sc * s / 2.2, sides=4)
           for sa in (-1, 1) for sc in (-1, 1)]
    out += [box(s * 0.7, 0.8, 0, 0.8, (0.55, 0.4, 0.25), c=-s * 0.2)]
    out += _goods(rng, -s * 0.3, s * 0.3, -s * 0.35, -s * 0.05, 0.8, 5)
    lit = (rng.random() < 0.5) if lit is None else lit
    out += [box(s, s, 2.3, 2.45, rgb, glow=0.8 if lit else 0.0),
            box(s * 0.5, s * 0.5, 2.45, 2.75, rgb)]  # the peak
    return out


def trestle_parasol(rng) -> list[Prism]:
    L = rng.uniform(1.6, 2.2)
    out = [box(L, 0.8, 0.0, 0.78, (0.8, 0.78, 0.7))]
    out += _goods(rng, -L / 2 + 0.2, L / 2 - 0.2, -0.25, 0.25, 0.78, int(rng.integers(4, 8)))
    out += [cyl(0.04, 0, 2.2, (0.3, 0.3, 0.3), a=L / 2 + 0.2, sides=4),
            cyl(rng.uniform(1.0, 1.3), 2.1, 2.25, _pick(rng, VIVID), a=L / 2 + 0.2, sides=12,
                glow=0.6 if rng.random() < 0.4 else 0.0),
            cyl(0.25, 0, 1.6, _pick(rng, PAINT), a=0, c=0.8, sides=6)]  # the seller
    return out


def ground_sheet(rng) -> list[Prism]:
    L, W = rng.uniform(1.8, 2.8), rng.uniform(1.2, 1.8)
    out = [box(L, W, 0, 0.04, _pick(rng, [(0.2, 0.3, 0.7), (0.7, 0.2, 0.2), (0.85, 0.85, 0.8),
                                          (0.2, 0.5, 0.3)]))]
    out += _goods(rng, -L / 2 + 0.2, L / 2 - 0.2, -W / 2 + 0.2, W / 2 - 0.2, 0.04,
                  int(rng.integers(8, 18)))
    out += [cyl(0.25, 0, 0.9, _pick(rng, PAINT), a=0, c=W / 2 + 0.35, sides=6)]  # squatting
    return out


def barrow(rng) -> list[Prism]:
    L, W = rng.uniform(1.6, 2.0), rng.uniform(0.9, 1.1)
    out = [cyl(0.3, 0.0, 0.6, (0.1, 0.1, 0.1), a=-L * 0.2, c=s * (W / 2 + 0.08), sides=8)
           for s in (-1, 1)]
    out += [box(L, W, 0.5, 1.0, _pick(rng, [(0.45, 0.3, 0.15), (0.2, 0.45, 0.7),
                                            (0.8, 0.8, 0.8)])),
            box(0.8, 0.08, 0.8, 0.9, (0.3, 0.3, 0.3), a=L / 2 + 0.4)]
    out += _goods(rng, -L / 2 + 0.2, L / 2 - 0.2, -W / 2 + 0.2, W / 2 - 0.2, 1.0,
                  int(rng.integers(4, 9)))
    return out


def _flatbed(rng, L, W, paint) -> list[Prism]:
    cab = 1.9
    dark = tuple(v * 0.6 for v in paint)
    return [box(L, W, 0.4, 1.0, paint),  # the chassis and bed floor
            box(cab, W, 1.0, 1.9, paint, a=L / 2 - cab / 2),
            box(0.3, W * 0.9, 1.2, 1.85, (0.1, 0.12, 0.15), a=L / 2 - 0.2),  # windscreen
            box(L - cab, 0.08, 1.0, 1.45, dark, a=-cab / 2, c=W / 2 - 0.04),  # bed walls
            box(L - cab, 0.08, 1.0, 1.45, dark, a=-cab / 2, c=-W / 2 + 0.04),
            box(0.08, W, 1.0, 1.45, dark, a=-L / 2 + 0.04)]


def _standing_drums(rng, a0, a1, W, z) -> list[Prism]:
    rgb = _pick(rng, STEEL_DRUM)
    out = []
    cs = [-0.32, 0.32] if W > 1.3 else [0.0]
    n = int(rng.integers(2, 7))
    a = a1 - 0.32
    while a - 0.3 >= a0 and n > 0:
        for c in cs:
            if n > 0:
                out.append(cyl(0.29, z, z + 0.88, rgb, a=a, c=c, sides=12))
                n -= 1
        a -= 0.64
    return out


def flatbed_drums(rng) -> list[Prism]:
    L, W = rng.uniform(5.0, 5.6), 1.9
    return _flatbed(rng, L, W, _pick(rng, PAINT)) + _standing_drums(rng, -L / 2, L / 2 - 1.9,
                                                                     W, 1.0)


def bare_flatbed(rng) -> list[Prism]:
    L, W = rng.uniform(5.0, 5.6), 1.9
    out = _flatbed(rng, L, W, _pick(rng, PAINT))
    if rng.random() < 0.4:  # a toolbox against the cab, never drums
        out.append(box(0.5, W * 0.8, 1.0, 1.4, (0.35, 0.35, 0.35), a=L / 2 - 2.2))
    return out


def _trike(rng, paint) -> list[Prism]:
    return [cyl(0.3, 0, 0.6, (0.1, 0.1, 0.1), a=1.1, sides=8),
            box(0.6, 0.5, 0.4, 1.0, paint, a=1.0),
            cyl(0.22, 0.8, 1.55, _pick(rng, PAINT), a=0.75, sides=6),  # the rider
            box(1.7, 1.25, 0.4, 0.6, paint, a=-0.4)]


def trike_drums(rng) -> list[Prism]:
    return _trike(rng, _pick(rng, VIVID)) + _standing_drums(rng, -1.25, 0.45, 1.25, 0.6)


def parcel_trike(rng) -> list[Prism]:
    out = _trike(rng, _pick(rng, VIVID))
    if rng.random() < 0.5:
        out.append(box(1.6, 1.2, 0.6, 1.7, _pick(rng, [(0.9, 0.55, 0.1), (0.1, 0.4, 0.8),
                                                       (0.2, 0.6, 0.3)]), a=-0.4))
    else:
        out += [box(rng.uniform(0.4, 0.6), rng.uniform(0.35, 0.5), 0.6, 0.6 + rng.uniform(0.3, 0.5),
                    (0.72, 0.55, 0.35), a=-1.0 + 0.55 * (k % 3), c=-0.3 + 0.6 * (k // 3))
                for k in range(int(rng.integers(2, 6)))]
    return out


def _van(rng, L, W, paint) -> list[Prism]:
    return [box(L, W, 0.0, 2.1, paint),
            box(0.35, W * 0.9, 1.1, 1.9, (0.1, 0.12, 0.15), a=L / 2 - 0.1)]


def van_tote(rng) -> list[Prism]:
    L, W = rng.uniform(4.7, 5.2), 1.95
    paint = _pick(rng, PAINT)
    out = _van(rng, L, W, paint)
    out += [box(0.08, 0.9, 0.35, 2.0, paint, a=-L / 2 - 0.45, c=s * 0.5) for s in (-1, 1)]
    a = -L / 2 - 0.75
    out += [box(1.0, 1.1, 0.0, 1.0, (0.92, 0.93, 0.9), a=a),  # the white tote
            box(1.04, 1.14, 1.0, 1.08, (0.45, 0.45, 0.45), a=a),  # the cage rim
            cyl(0.12, 1.08, 1.18, (0.1, 0.1, 0.1), a=a, sides=6)]
    return out


def box_van(rng) -> list[Prism]:
    L, W = rng.uniform(4.7, 5.4), 1.95
    return _van(rng, L, W, _pick(rng, PAINT))


def car3d(rng) -> list[Prism]:
    L, W = rng.uniform(4.2, 4.8), 1.8
    paint = _pick(rng, PAINT)
    return [box(L, W, 0.3, 0.9, paint),
            box(L * 0.5, W * 0.9, 0.9, 1.45, tuple(v * 0.8 for v in paint), a=-L * 0.05)]


def scooter(rng) -> list[Prism]:
    return [box(1.8, 0.35, 0.2, 0.9, _pick(rng, PAINT)),
            cyl(0.22, 0.9, 1.6, _pick(rng, PAINT), sides=6)]


def person(rng) -> list[Prism]:
    return [cyl(0.23, 0, 1.7, _pick(rng, PAINT + VIVID), sides=6)]


def tree3d(rng) -> list[Prism]:
    r = rng.uniform(1.6, 3.0)
    g = _pick(rng, [(0.15, 0.35, 0.12), (0.2, 0.42, 0.18), (0.12, 0.3, 0.2)])
    top = rng.uniform(4.5, 8.0)
    return [cyl(0.15, 0, top - 1.5, (0.3, 0.22, 0.15), sides=5),
            cyl(r, top - 1.8, top, g, sides=9),
            cyl(r * 0.6, top, top + 0.6, tuple(v * 1.15 for v in g), sides=7)]


def lamp(rng) -> list[Prism]:
    return [cyl(0.08, 0, 6.0, (0.35, 0.35, 0.35), sides=4),
            box(0.6, 0.3, 6.0, 6.15, (0.9, 0.85, 0.6), glow=1.0)]


def cafe_parasols(rng) -> tuple[list[Prism], float]:
    n, gap = int(rng.integers(2, 6)), rng.uniform(2.8, 3.5)
    rgb = _pick(rng, [(0.95, 0.95, 0.9), (0.85, 0.8, 0.65), (0.2, 0.35, 0.2)])
    span = (n - 1) * gap
    out = []
    for k in range(n):
        a = -span / 2 + k * gap
        out += [cyl(0.45, 0, 0.75, (0.85, 0.85, 0.85), a=a, sides=10),  # table
                cyl(0.2, 0, 0.9, (0.3, 0.3, 0.3), a=a, c=0.8, sides=5),  # chairs
                cyl(0.2, 0, 0.9, (0.3, 0.3, 0.3), a=a, c=-0.8, sides=5),
                cyl(0.04, 0, 2.3, (0.3, 0.3, 0.3), a=a, sides=4),
                cyl(1.25, 2.2, 2.35, rgb, a=a, sides=12)]
    return out, span + 2.5


FORMS = {"gazebo": gazebo, "trestle_parasol": trestle_parasol, "ground_sheet": ground_sheet,
         "barrow": barrow, "flatbed_drums": flatbed_drums, "trike_drums": trike_drums,
         "van_tote": van_tote, "bare_flatbed": bare_flatbed, "box_van": box_van,
         "parcel_trike": parcel_trike, "car": car3d, "scooter": scooter}


def lay_out(rng: np.random.Generator, reach_m: float, look_at_en: tuple[float, float]
            ) -> Street:
    """A street through ``look_at_en`` and what stands on it, ``reach_m`` each way."""
    st = Street(float(rng.uniform(0, 180)), rng.uniform(7, 13), rng.uniform(3, 5.5),
                bool(rng.random() < 0.35), str(rng.choice(["gravel", "gravel", "brick"])),
                str(rng.choice(["brick", "gravel", "grass"])),
                str(rng.choice(["grass", "gravel", "brick"])),
                {k: tuple(float(v) for v in rng.uniform(0.75, 1.1, 3)) for k in
                 ("road", "walk", "verge")})
    h = math.radians(st.angle_deg)
    along, across = np.array([math.sin(h), math.cos(h)]), np.array([math.cos(h), -math.sin(h)])
    centre = np.array(look_at_en)
    taken: list[tuple[float, float, float]] = []

    def place(kind, prisms, a, c, turn=0.0, label=None) -> Body | None:
        p = centre + a * along + c * across
        b = Body(kind, float(p[0]), float(p[1]), (st.angle_deg + turn) % 360, prisms, label)
        r = b.reach_m()
        if any(math.hypot(b.east_m - e, b.north_m - n) < r + r2 for e, n, r2 in taken):
            return None
        taken.append((b.east_m, b.north_m, r))
        st.bodies.append(b)
        return b

    R, half, walk = reach_m, st.road_w_m / 2, st.walk_w_m

    def side():
        return float(rng.choice([-1.0, 1.0]))

    if rng.random() < 0.4:  # a permitted market: identical gazebos inside painted lines
        rows, cols = int(rng.integers(2, 4)), int(rng.integers(2, 5))
        s, gap = rng.uniform(2.5, 3.0), rng.uniform(1.2, 2.0)
        rgb = _pick(rng, [(0.95, 0.95, 0.95), (0.2, 0.3, 0.7), (0.7, 0.2, 0.2)])
        L, W = cols * (s + gap) + gap, rows * (s + gap) + gap
        sd, a0 = side(), rng.uniform(-R / 2, R / 2)
        c0 = sd * (half + walk + 1.0 + W / 2)
        corners = np.array([[-L / 2, -W / 2], [L / 2, -W / 2], [L / 2, W / 2], [-L / 2, W / 2],
                            [-L / 2, -W / 2]])
        st.painted.append((np.array([centre + (a0 + x) * along + (c0 + y) * across
                                     for x, y in corners]), 0.15, (0.95, 0.85, 0.2)))
        lit = bool(rng.random() < 0.5)
        for i in range(cols):
            for j in range(rows):
                place("permitted_market", gazebo(rng, rgb, s, lit),
                      a0 - L / 2 + gap + s / 2 + i * (s + gap),
                      c0 - W / 2 + gap + s / 2 + j * (s + gap))
    for _ in range(int(rng.integers(0, 3))):
        prisms, _span = cafe_parasols(rng)
        place("cafe_parasols", prisms, rng.uniform(-R, R), side() * (half + walk / 2 + 0.5))
    for _ in range(int(rng.integers(2, 7))):
        form = str(rng.choice(STALL_FORMS))
        c = side() * (half + rng.uniform(0.3, 0.8) * walk if rng.random() < 0.7
                      else half - rng.uniform(0.9, 1.5))
        place(form, FORMS[form](rng), rng.uniform(-R, R), c,
              turn=float(rng.uniform(-25, 25) + (180 if rng.random() < 0.5 else 0)),
              label="street_stall")
    for _ in range(int(rng.integers(0, 4))):
        form = str(rng.choice(FUEL_FORMS))
        sd, a = side(), float(rng.uniform(-R, R))
        c = sd * (half - 1.4)
        seller = place(form, FORMS[form](rng), a, c, turn=(180.0 if rng.random() < 0.5 else 0.0)
                       + rng.uniform(-8, 8), label="mobile_fuel_sale")
        if seller is not None and rng.random() < 0.8:
            who = str(rng.choice(["scooter", "car"]))
            ca, cc = a + rng.uniform(-2.0, 2.0), c - sd * (2.5 if who == "scooter" else 3.1)
            if place(who, FORMS[who](rng), ca, cc, turn=float(rng.uniform(-15, 15))):
                tank = seller.to_world(seller.prisms[-1].foot.mean(axis=0))[0]
                mouth = centre + ca * along + cc * across
                mid = (tank + mouth) / 2 + rng.normal(0, 0.3, 2)
                st.painted.append((np.stack([tank, mid, mouth]), 0.07, (0.05, 0.05, 0.05)))
    for _ in range(int(rng.integers(1, 5))):
        form = str(rng.choice(["bare_flatbed", "box_van", "parcel_trike", "bare_flatbed",
                               "parcel_trike"]))
        place(form, FORMS[form](rng), rng.uniform(-R, R), side() * (half - 1.4),
              turn=(180.0 if rng.random() < 0.5 else 0.0) + rng.uniform(-8, 8))
    for _ in range(int(rng.integers(2, 9))):
        form = "car" if rng.random() < 0.7 else "scooter"
        lane = side() * rng.uniform(0.9, max(1.0, half - 2.3))
        place(form, FORMS[form](rng), rng.uniform(-R, R), lane, turn=0.0 if lane > 0 else 180.0)
    for _ in range(int(rng.integers(3, 16))):
        place("person", person(rng), rng.uniform(-R, R), side() * (half + rng.uniform(0.2, 1)
                                                                      * walk))
    for _ in range(int(rng.integers(0, 7))):
        place("tree", tree3d(rng), rng.uniform(-R, R), side() * (half + walk + rng.uniform(1, 4)))
    for _ in range(int(rng.integers(0, 5))):
        place("lamp", lamp(rng), rng.uniform(-R, R), side() * (half + 0.3))
    return st
