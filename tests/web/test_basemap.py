"""The shipped orthophoto still matches the sample town it was rendered from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from api.demo.basemap import OUT_DIR, SHIPPED_PX_PER_M

META = json.loads((OUT_DIR / "sample_town.json").read_text())


@pytest.fixture(scope="module")
def town():
    from simulators.town.sample import sample_world

    return sample_world(seed=META["seed"])


def test_its_corners_are_the_sample_worlds_corners(town) -> None:
    east_min, north_min, east_max, north_max = town.bounds_m
    south_west = town.frame.to_wgs84(east_min, north_min)
    north_east = town.frame.to_wgs84(east_max, north_max)
    assert META["bounds"][0] == pytest.approx(list(south_west), abs=1e-7)
    assert META["bounds"][1] == pytest.approx(list(north_east), abs=1e-7)


def test_its_size_is_the_town_at_the_shipped_resolution(town) -> None:
    east_min, north_min, east_max, north_max = town.bounds_m
    with Image.open(Path(OUT_DIR) / META["image"]) as image:
        width, height = image.size
    # The renderer rounds each side to whole pixels at 0.5 px/m, then halves it.
    assert width == pytest.approx((east_max - east_min) * SHIPPED_PX_PER_M, abs=1)
    assert height == pytest.approx((north_max - north_min) * SHIPPED_PX_PER_M, abs=1)
