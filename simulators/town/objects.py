"""The things that stand in the synthetic town: one flat record per object, in local metres."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: The two detector classes, in class-id order; the strings are the event types the service accepts.
VIOLATION_CLASSES: tuple[str, ...] = ("street_stall", "mobile_fuel_sale")

#: Every kind of object the painter knows how to draw.
KINDS: tuple[str, ...] = (
    "building",
    "tree",
    "car",
    "van",
    "pedestrian",
    "delivery_tricycle",
    "market_stall",
    "street_stall",
    "mobile_fuel_sale",
)


@dataclass(frozen=True)
class TownObject:
    """One object on the ground: a rotated rectangle footprint, a height for its shadow, a style.

    ``heading_deg`` turns the object's length axis clockwise from north; ``variant`` picks the
    drawn form (umbrella, tarp, cart, ... for a stall) and ``style_seed`` its colours, so the same
    object always looks the same from every frame.
    """

    object_id: int
    kind: str
    east_m: float
    north_m: float
    heading_deg: float
    length_m: float
    width_m: float
    height_m: float
    variant: str = ""
    style_seed: int = 0
    label: str | None = None  # a class of VIOLATION_CLASSES, or None for everything else
    extras: dict = field(default_factory=dict, compare=False)

    @property
    def radius_m(self) -> float:
        """Radius of the circle around the footprint, for quick window tests."""
        return 0.5 * math.hypot(self.length_m, self.width_m)

    def footprint_en(self) -> np.ndarray:
        """The footprint's 4 corners as a (4, 2) array of (east_m, north_m), clockwise from above."""
        return rect_corners(self.east_m, self.north_m, self.heading_deg, self.length_m, self.width_m)


def rect_corners(
    east_m: float, north_m: float, heading_deg: float, length_m: float, width_m: float
) -> np.ndarray:
    """Corners (4, 2) of a rectangle centred on (east, north), length along ``heading_deg``."""
    h = math.radians(heading_deg)
    along = np.array([math.sin(h), math.cos(h)])  # unit vector of the length axis (E, N)
    across = np.array([math.cos(h), -math.sin(h)])  # 90 deg clockwise of it
    c = np.array([east_m, north_m])
    hl, hw = 0.5 * length_m, 0.5 * width_m
    return np.stack(
        [
            c + along * hl - across * hw,
            c + along * hl + across * hw,
            c - along * hl + across * hw,
            c - along * hl - across * hw,
        ]
    )


@dataclass(frozen=True)
class Road:
    """A straight road across the town: ``axis`` "ns" runs north-south at ``east_m = center_m``."""

    axis: str
    center_m: float
    width_m: float
    lanes: int
    sidewalk_m: float


@dataclass(frozen=True)
class GroundTruth:
    """A violation as a test or a benchmark needs it: class, position, footprint."""

    object_id: int
    label: str
    lat: float
    lon: float
    east_m: float
    north_m: float
    footprint_en: np.ndarray = field(compare=False)
