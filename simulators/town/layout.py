"""A procedural town laid out from a seed: roads, blocks, buildings, street life, violations."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from shapely.geometry import Point, Polygon, box
from shapely.prepared import prep

from simulators.town.objects import GroundTruth, Road, TownObject

STALL_VARIANTS = ("umbrella", "tarp", "table", "cart", "tricycle", "mat")
FUEL_VARIANTS = ("van_drums", "pickup_drums", "pickup_ibc", "tricycle_drums")
ROOF_VARIANTS = ("flat_grey", "gable_red", "metal_blue", "green_roof", "solar", "flat_dark")
_CELL_M = 50.0  # spatial index bucket


class Frame(Protocol):
    """The local metric frame the town is drawn in (geofence's ``LocalFrame`` fits)."""

    def to_local(self, lat: float, lon: float) -> tuple[float, float]: ...

    def to_wgs84(self, east_m: float, north_m: float) -> tuple[float, float]: ...


@dataclass(frozen=True)
class Block:
    """The land between roads: ``kind`` is buildings, park, parking or market."""

    east_min_m: float
    north_min_m: float
    east_max_m: float
    north_max_m: float
    kind: str


@dataclass
class Town:
    """A laid-out town: its ground plan, its objects and the violations' ground truth.

    Objects are kept in a coarse spatial index so a camera can ask only for what it sees.
    """

    seed: int
    bounds_m: tuple[float, float, float, float]  # east_min, north_min, east_max, north_max
    frame: Frame | None
    roads: list[Road]
    blocks: list[Block]
    objects: list[TownObject]
    market_polygons_m: list[Polygon] = field(default_factory=list)
    _index: dict[tuple[int, int], list[int]] = field(default_factory=dict, repr=False)
    _max_radius_m: float = 0.0

    def __post_init__(self) -> None:
        index: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, obj in enumerate(self.objects):
            index[(int(obj.east_m // _CELL_M), int(obj.north_m // _CELL_M))].append(i)
            self._max_radius_m = max(self._max_radius_m, obj.radius_m)
        self._index = dict(index)

    def objects_in(self, east_min_m: float, north_min_m: float, east_max_m: float,
                   north_max_m: float) -> list[TownObject]:
        """Objects whose footprint may reach into the window, in drawing-stable id order."""
        pad = self._max_radius_m
        e0, n0 = int((east_min_m - pad) // _CELL_M), int((north_min_m - pad) // _CELL_M)
        e1, n1 = int((east_max_m + pad) // _CELL_M), int((north_max_m + pad) // _CELL_M)
        found: list[int] = []
        for ce in range(e0, e1 + 1):
            for cn in range(n0, n1 + 1):
                found.extend(self._index.get((ce, cn), ()))
        out = []
        for i in sorted(found):
            o = self.objects[i]
            r = o.radius_m
            if (o.east_m + r >= east_min_m and o.east_m - r <= east_max_m
                    and o.north_m + r >= north_min_m and o.north_m - r <= north_max_m):
                out.append(o)
        return out

    def violations(self) -> list[GroundTruth]:
        """Every labelled violation with its position (lat/lon when the town has a frame)."""
        out = []
        for o in self.objects:
            if o.label is None:
                continue
            lat, lon = self.frame.to_wgs84(o.east_m, o.north_m) if self.frame else (math.nan,) * 2
            out.append(GroundTruth(o.object_id, o.label, lat, lon, o.east_m, o.north_m,
                                   o.footprint_en()))
        return out

    def lookalikes(self) -> list[TownObject]:
        """The objects placed to look like violations but not be one."""
        return [o for o in self.objects
                if o.kind in ("van", "delivery_tricycle", "market_stall")]


def build_town(
    seed: int,
    *,
    bounds_m: tuple[float, float, float, float] = (-300.0, -300.0, 300.0, 300.0),
    frame: Frame | None = None,
    market_polygons_m: Sequence[Polygon] = (),
    stall_rate: float = 0.07,
    fuel_rate: float = 0.05,
    lookalike_rate: float = 0.08,
) -> Town:
    """A town over ``bounds_m`` (local metres), the same for the same seed and arguments.

    ``market_polygons_m`` are the zones where vending is permitted: blocks inside them become
    market plazas full of (legal) market stalls, and no violation is placed inside them. With none
    given, one block near the middle becomes a market. The ``*_rate`` arguments are the chance
    that one 7 m kerb slot holds that object.
    """
    rng = np.random.default_rng(seed)
    e_lo, n_lo, e_hi, n_hi = bounds_m
    if not (e_hi - e_lo >= 100 and n_hi - n_lo >= 100):
        raise ValueError(f"town bounds {bounds_m} must span at least 100 m each way")
    roads = _roads(rng, "ns", e_lo, e_hi) + _roads(rng, "ew", n_lo, n_hi)
    blocks = _blocks(rng, roads, bounds_m, market_polygons_m)
    markets = list(market_polygons_m)
    if not markets:
        mkt = [b for b in blocks if b.kind == "market"]
        markets = [box(b.east_min_m, b.north_min_m, b.east_max_m, b.north_max_m) for b in mkt]
    placer = _Placer(rng, markets)
    for b in blocks:
        placer.fill_block(b)
    for road in roads:
        placer.line_road(road, roads, bounds_m, stall_rate, fuel_rate, lookalike_rate)
    return Town(seed, tuple(bounds_m), frame, roads, blocks, placer.objects, markets)


def _roads(rng: np.random.Generator, axis: str, lo: float, hi: float) -> list[Road]:
    out, pos = [], lo + rng.uniform(15, 50)
    while pos < hi - 15:
        arterial = rng.random() < 0.3
        width = rng.uniform(14, 18) if arterial else rng.uniform(7, 9)
        out.append(Road(axis, float(pos), float(width), 4 if arterial else 2,
                        float(rng.uniform(2.5, 4.5))))
        pos += rng.uniform(90, 170)
    return out


def _edges(roads: Iterable[Road], axis: str, lo: float, hi: float) -> list[tuple[float, float]]:
    """Free intervals between the roads (with their sidewalks) along one axis."""
    cuts = sorted((r.center_m - r.width_m / 2 - r.sidewalk_m, r.center_m + r.width_m / 2
                   + r.sidewalk_m) for r in roads if r.axis == axis)
    out, start = [], lo
    for a, b in cuts:
        if a - start > 20:
            out.append((start, a))
        start = b
    if hi - start > 20:
        out.append((start, hi))
    return out


def _blocks(rng, roads, bounds_m, market_polygons_m) -> list[Block]:
    e_lo, n_lo, e_hi, n_hi = bounds_m
    prepared = [prep(p) for p in market_polygons_m]
    blocks = []
    for e0, e1 in _edges(roads, "ns", e_lo, e_hi):
        for n0, n1 in _edges(roads, "ew", n_lo, n_hi):
            centre = Point((e0 + e1) / 2, (n0 + n1) / 2)
            if any(p.contains(centre) for p in prepared):
                kind = "market"
            else:
                kind = str(rng.choice(["buildings", "park", "parking"], p=[0.7, 0.15, 0.15]))
            blocks.append(Block(e0, n0, e1, n1, kind))
    if not market_polygons_m and blocks:
        mid = ((e_lo + e_hi) / 2, (n_lo + n_hi) / 2)
        k = min(range(len(blocks)), key=lambda i: math.hypot(
            (blocks[i].east_min_m + blocks[i].east_max_m) / 2 - mid[0] + 60,
            (blocks[i].north_min_m + blocks[i].north_max_m) / 2 - mid[1] + 60))
        b = blocks[k]
        blocks[k] = Block(b.east_min_m, b.north_min_m, b.east_max_m, b.north_max_m, "market")
    return blocks


class _Placer:
    """Places objects, numbering them, keeping violations out of market zones."""

    def __init__(self, rng: np.random.Generator, markets: Sequence[Polygon]):
        self.rng = rng
        self.objects: list[TownObject] = []
        self._markets = [prep(p) for p in markets]

    def add(self, kind, e, n, heading, length, width, height, variant="", label=None, **extras):
        self.objects.append(TownObject(
            len(self.objects), kind, float(e), float(n), float(heading), float(length),
            float(width), float(height), variant, int(self.rng.integers(1 << 31)), label, extras))

    def in_market(self, e: float, n: float) -> bool:
        return any(p.contains(Point(e, n)) for p in self._markets)

    # -- blocks ----------------------------------------------------------------------------
    def fill_block(self, b: Block) -> None:
        rng = self.rng
        w, h = b.east_max_m - b.east_min_m, b.north_max_m - b.north_min_m
        if b.kind == "park":
            for _ in range(int(w * h / 120)):
                r = rng.uniform(2.0, 4.5)
                self.add("tree", rng.uniform(b.east_min_m + r, b.east_max_m - r),
                         rng.uniform(b.north_min_m + r, b.north_max_m - r), 0, 2 * r, 2 * r,
                         rng.uniform(5, 12))
            return
        if b.kind == "parking":
            for e in np.arange(b.east_min_m + 4, b.east_max_m - 3, 2.6):
                for n in np.arange(b.north_min_m + 6, b.north_max_m - 5, 12.0):
                    if rng.random() < 0.55:
                        kind = "van" if rng.random() < 0.2 else "car"
                        self.add(kind, e + 1.3, n, 0 if rng.random() < 0.5 else 180,
                                 5.2 if kind == "van" else 4.5, 2.0 if kind == "van" else 1.8,
                                 2.2 if kind == "van" else 1.5, variant=_car_colour(rng))
            return
        if b.kind == "market":
            for e in np.arange(b.east_min_m + 6, b.east_max_m - 5, 4.0):
                for n in np.arange(b.north_min_m + 6, b.north_max_m - 5, 9.0):
                    if rng.random() < 0.85 and self.in_market(e + 1.5, n):
                        self.add("market_stall", e + 1.5, n, 0, 3.0, 3.0, 2.4,
                                 variant=str(rng.choice(STALL_VARIANTS[:3])))
                    if rng.random() < 0.3:
                        self.add("pedestrian", e + rng.uniform(0, 3), n + 4.5, 0, 0.5, 0.5, 1.7)
            return
        horizontal = w >= h
        length, depth = (w, h) if horizontal else (h, w)
        rows = 2 if depth > 60 else 1
        for row in range(rows):
            d0 = row * depth / rows + rng.uniform(3, 6)
            d1 = (row + 1) * depth / rows - rng.uniform(3, 6)
            pos = rng.uniform(2, 6)
            while pos < length - 12:
                lot = min(rng.uniform(14, 36), length - pos - 2)
                a0, a1 = pos, pos + lot - rng.uniform(2, 5)
                if horizontal:
                    e, n = b.east_min_m + (a0 + a1) / 2, b.north_min_m + (d0 + d1) / 2
                    size_e, size_n = a1 - a0, d1 - d0
                else:
                    e, n = b.east_min_m + (d0 + d1) / 2, b.north_min_m + (a0 + a1) / 2
                    size_e, size_n = d1 - d0, a1 - a0
                # length along north (heading 0) = size_n
                self.add("building", e, n, 0, size_n, size_e, rng.uniform(6, 45),
                         variant=str(rng.choice(ROOF_VARIANTS)))
                pos += lot

    # -- along the roads ---------------------------------------------------------------------
    def line_road(self, road: Road, roads: Sequence[Road], bounds_m, stall_rate, fuel_rate,
                  lookalike_rate) -> None:
        rng = self.rng
        lo, hi = (bounds_m[1], bounds_m[3]) if road.axis == "ns" else (bounds_m[0], bounds_m[2])
        crossings = [(r.center_m - r.width_m / 2 - r.sidewalk_m - 3,
                      r.center_m + r.width_m / 2 + r.sidewalk_m + 3)
                     for r in roads if r.axis != road.axis]
        heading = 0.0 if road.axis == "ns" else 90.0
        half = road.width_m / 2

        def at(along: float, offset: float) -> tuple[float, float]:
            # offset is measured east of a north-south road, north of an east-west one
            return (road.center_m + offset, along) if road.axis == "ns" else (along, road.center_m
                                                                              + offset)

        for side in (-1.0, 1.0):
            along = lo + rng.uniform(0, 7)
            while along < hi - 4:
                slot = along
                along += 7.0
                if any(a <= slot <= b for a, b in crossings):
                    continue
                # kerb lane: parked cars, vans, fuel sales
                e, n = at(slot, side * (half - 1.3))
                u = rng.random()
                flip = 180.0 if rng.random() < 0.5 else 0.0
                if u < fuel_rate and not self.in_market(e, n):
                    self._fuel_sale(e, n, heading + flip, side, road)
                elif u < fuel_rate + lookalike_rate * 0.6:
                    self.add("van", e, n, heading + flip, rng.uniform(4.8, 5.6), 2.0, 2.3,
                             variant=_car_colour(rng))
                elif u < fuel_rate + lookalike_rate * 0.6 + 0.3:
                    self.add("car", e, n, heading + flip, rng.uniform(4.2, 4.9), 1.8, 1.5,
                             variant=_car_colour(rng))
                # traffic lanes
                for lane in range(road.lanes // 2):
                    if rng.random() < 0.12:
                        e2, n2 = at(slot + rng.uniform(0, 5),
                                    side * (half - 3.5 * lane - 3.2 if road.lanes > 2 else 2.0))
                        self.add("car", e2, n2, heading + (0 if side > 0 else 180),
                                 rng.uniform(4.2, 4.9), 1.8, 1.5, variant=_car_colour(rng),
                                 moving=True)
                # sidewalk: stalls, tricycles, trees, pedestrians
                e, n = at(slot + 3.5, side * (half + road.sidewalk_m * 0.5))
                v = rng.random()
                if v < stall_rate and not self.in_market(e, n):
                    self._stall(e, n, heading, side, road, on_road=rng.random() < 0.35)
                elif v < stall_rate + lookalike_rate * 0.4:
                    self.add("delivery_tricycle", e, n, heading + flip, 2.6, 1.2, 1.6,
                             variant=str(rng.choice(["boxes", "empty", "crates"])))
                elif rng.random() < 0.55:
                    r = rng.uniform(1.8, 3.2)
                    te, tn = at(slot + 3.5, side * (half + road.sidewalk_m * 0.75))
                    self.add("tree", te, tn, 0, 2 * r, 2 * r, rng.uniform(5, 11))
                for _ in range(rng.poisson(0.6)):
                    pe, pn = at(slot + rng.uniform(0, 7),
                                side * (half + rng.uniform(0.3, 0.9) * road.sidewalk_m))
                    self.add("pedestrian", pe, pn, rng.uniform(0, 360), 0.5, 0.5, 1.7)

    def _stall(self, e, n, heading, side, road, on_road: bool) -> None:
        rng = self.rng
        variant = str(rng.choice(STALL_VARIANTS))
        size = {"umbrella": (rng.uniform(2.0, 3.0),) * 2, "tarp": (rng.uniform(2.5, 4.0),
                rng.uniform(2.0, 3.0)), "table": (rng.uniform(1.6, 2.4), rng.uniform(0.8, 1.2)),
                "cart": (rng.uniform(1.8, 2.4), rng.uniform(1.0, 1.4)), "tricycle": (2.6, 1.3),
                "mat": (rng.uniform(1.6, 2.6), rng.uniform(1.2, 1.8))}[variant]
        if on_road:  # spilling over the kerb into the road
            off = road.width_m / 2 - size[1] / 2 - 0.3
            e, n = (road.center_m + side * off, n) if road.axis == "ns" else (e, road.center_m
                                                                             + side * off)
        height = {"umbrella": 2.3, "tarp": 2.4, "table": 0.9, "cart": 1.2, "tricycle": 1.3,
                  "mat": 0.2}[variant]
        self.add("street_stall", e, n, heading + rng.uniform(-12, 12), size[0], size[1], height,
                 variant=variant, label="street_stall")

    def _fuel_sale(self, e, n, heading, side, road) -> None:
        rng = self.rng
        variant = str(rng.choice(FUEL_VARIANTS))
        length, width = {"van_drums": (5.0, 2.0), "pickup_drums": (5.3, 1.9),
                         "pickup_ibc": (5.3, 1.9), "tricycle_drums": (2.9, 1.3)}[variant]
        customer = str(rng.choice(["motorbike", "car", "none"], p=[0.5, 0.25, 0.25]))
        self.add("mobile_fuel_sale", e, n, heading, length, width, 2.0, variant=variant,
                 label="mobile_fuel_sale", customer=customer,
                 toward_en=(-side, 0.0) if road.axis == "ns" else (0.0, -side))


def _car_colour(rng: np.random.Generator) -> str:
    return str(rng.choice(["white", "silver", "black", "grey", "red", "blue", "white", "silver"]))
