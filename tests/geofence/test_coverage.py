"""Lawnmower coverage: lane layout by hand, and the path kept out of buffered no-fly zones."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import LineString, Polygon, box

from geofence import LocalFrame, NoRouteFound, Router, Zone, lawnmower

FRAME = LocalFrame(29.50, 120.90)


def _lonlat(polygon_m):
    lat, lon = FRAME.to_wgs84(*np.asarray(polygon_m.exterior.coords).T)
    return Polygon(np.column_stack([lon, lat]))


def _local(points):
    return np.column_stack(FRAME.to_local(*np.asarray(points).T))


@pytest.mark.parametrize(
    ("width_m", "height_m", "footprint_m", "heading_deg", "lanes", "length_m"),
    [
        # 100 x 40 m, 10 m footprint: lanes along the long side at north 5, 15, 25, 35;
        # 4 lanes of 100 m and 3 hops of 10 m = 430 m.
        (100, 40, 10, None, 4, 4 * 100 + 3 * 10),
        # Same field forced to sweep north-south: lanes at east 5, 15, ..., 95; 10 lanes of
        # 40 m and 9 hops of 10 m = 490 m.
        (100, 40, 10, 0.0, 10, 10 * 40 + 9 * 10),
        # 45 m high: ceil(45 / 10) = 5 lanes; the last is pulled in to 45 - 5 = 40 m, so the
        # hops are 10, 10, 10, 5: 5 * 100 + 35 = 535 m.
        (100, 45, 10, None, 5, 5 * 100 + 35),
        # Footprint wider than the field: one lane down the middle, 100 m.
        (100, 40, 60, None, 1, 100),
    ],
)
def test_lanes_by_hand(width_m, height_m, footprint_m, heading_deg, lanes, length_m):
    points = _local(
        lawnmower(
            _lonlat(box(0, 0, width_m, height_m)), footprint_m, frame=FRAME, heading_deg=heading_deg
        )
    )
    assert len(points) == 2 * lanes
    assert np.hypot(*np.diff(points, axis=0).T).sum() == pytest.approx(length_m, abs=0.01)


def test_lanes_cut_by_a_no_fly_zone_and_the_hop_detours():
    # Field 300 x 100 m; a 40 m no-fly square in the middle (130..170, 30..70), buffered 20 m
    # -> (110..190, 10..90). Lanes at north 10, 30, 50, 70, 90 (footprint 20 m); the three
    # middle lanes are cut into two pieces each, the outer two touch the buffer and stay whole.
    no_fly = Zone("nf", "nf", "no_fly", _lonlat(box(130, 30, 170, 70)), 300.0)
    router = Router([no_fly], FRAME, margin_m=20.0)
    points = _local(lawnmower(_lonlat(box(0, 0, 300, 100)), 20, frame=FRAME, avoid=router))
    path = LineString(points)
    assert not path.intersects(box(110, 10, 190, 90).buffer(-0.01))
    lane_pieces = 2 + 3 * 2
    assert len(points) >= 2 * lane_pieces


@settings(max_examples=40, deadline=None)
@given(
    width_m=st.floats(50, 600),
    height_m=st.floats(50, 600),
    footprint_m=st.floats(10, 80),
    angle_deg=st.floats(0, 180),
)
def test_covers_every_point_of_a_rotated_rectangle(width_m, height_m, footprint_m, angle_deg):
    field = affinity.rotate(box(0, 0, width_m, height_m), angle_deg, origin=(0, 0))
    points = _local(lawnmower(_lonlat(field), footprint_m, frame=FRAME))
    # Lanes follow the long side, half a footprint in from the edges and at most a footprint
    # apart, so the path's footprint (half the width each side, flat ends) covers it all.
    seen = LineString(points).buffer(footprint_m / 2 + 0.01, cap_style="flat")
    assert field.difference(seen).area < 1e-3 * field.area


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), footprint_m=st.floats(15, 60))
def test_never_enters_a_buffered_zone(seed, footprint_m):
    rng = np.random.default_rng(seed)
    zones = [
        Zone(f"z{i}", "z", "no_fly", _lonlat(box(x, y, x + w, y + h)), 300.0)
        for i, (x, y, w, h) in enumerate(
            zip(*rng.uniform([0, 0, 10, 10], [400, 400, 80, 80], (4, 4)).T)
        )
    ]
    router = Router(zones, FRAME, margin_m=20.0)
    try:
        points = _local(
            lawnmower(_lonlat(box(0, 0, 500, 500)), footprint_m, frame=FRAME, avoid=router)
        )
    except NoRouteFound:
        pytest.fail("a 500 m field with four small zones must leave something to cover")
    path = LineString(points)
    for obstacle in router.obstacles_local:
        assert not path.intersects(obstacle.buffer(-0.01))


def test_area_inside_a_no_fly_zone_is_refused():
    no_fly = Zone("nf", "nf", "no_fly", _lonlat(box(0, 0, 100, 100)), 300.0)
    with pytest.raises(NoRouteFound, match="nothing to cover"):
        lawnmower(_lonlat(box(10, 10, 90, 90)), 10, frame=FRAME, avoid=[no_fly])


@pytest.mark.parametrize("footprint_m", [0, -5, math.nan])
def test_bad_footprint(footprint_m):
    with pytest.raises(ValueError, match="footprint_width_m"):
        lawnmower(_lonlat(box(0, 0, 10, 10)), footprint_m, frame=FRAME)
