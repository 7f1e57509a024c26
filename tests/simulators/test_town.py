"""The synthetic town: seeded layout, ground truth, market zones, the on-demand orthophoto."""

import numpy as np
import pytest
from shapely.geometry import Point, box

from simulators.town import VIOLATION_CLASSES, Sun, build_town, render_ortho
from simulators.town.canvas import Canvas

BOUNDS = (-200.0, -200.0, 200.0, 200.0)


@pytest.fixture(scope="module")
def town():
    return build_town(5, bounds_m=BOUNDS)


def test_same_seed_same_town_other_seed_other_town(town):
    again = build_town(5, bounds_m=BOUNDS)
    other = build_town(6, bounds_m=BOUNDS)
    assert [(o.kind, o.east_m, o.north_m) for o in again.objects] == [
        (o.kind, o.east_m, o.north_m) for o in town.objects]
    assert [(o.kind, o.east_m) for o in other.objects] != [(o.kind, o.east_m) for o in town.objects]


def test_town_holds_both_violation_classes_and_every_lookalike(town):
    labels = {g.label for g in town.violations()}
    kinds = {o.kind for o in town.lookalikes()}
    assert labels == set(VIOLATION_CLASSES)
    assert kinds == {"van", "delivery_tricycle", "market_stall"}
    assert all(o.label is None for o in town.lookalikes())


def test_no_violation_inside_a_permitted_market_zone():
    market = box(-130, -130, 130, 130)
    t = build_town(9, bounds_m=BOUNDS, market_polygons_m=[market], stall_rate=0.3)
    inside = [g for g in t.violations() if market.contains(Point(g.east_m, g.north_m))]
    stalls_in_market = [o for o in t.objects if o.kind == "market_stall"]
    assert inside == []
    assert stalls_in_market and all(market.contains(Point(o.east_m, o.north_m))
                                    for o in stalls_in_market)


@pytest.mark.parametrize("window", [(-50, -50, 50, 50), (120, -190, 199, -100), (-10, 30, 5, 40)])
def test_objects_in_window_matches_brute_force(town, window):
    e0, n0, e1, n1 = window
    expected = {o.object_id for o in town.objects
                if o.east_m + o.radius_m >= e0 and o.east_m - o.radius_m <= e1
                and o.north_m + o.radius_m >= n0 and o.north_m - o.radius_m <= n1}
    assert {o.object_id for o in town.objects_in(*window)} == expected


def test_violation_footprint_is_its_rectangle(town):
    g = town.violations()[0]
    o = town.objects[g.object_id]
    fp = g.footprint_en
    sides = np.linalg.norm(np.roll(fp, -1, axis=0) - fp, axis=1)
    assert fp.mean(axis=0) == pytest.approx([o.east_m, o.north_m])
    assert sorted(sides) == pytest.approx(sorted([o.length_m, o.width_m] * 2))


@pytest.mark.parametrize("px_per_m,size_m", [(10, 30), (12.5, 16), (4, 100)])
def test_ortho_has_the_asked_resolution(town, px_per_m, size_m):
    img = render_ortho(town, (0, 0, size_m, size_m), px_per_m)
    assert img.shape == (round(size_m * px_per_m), round(size_m * px_per_m), 3)


def test_canvas_maps_north_up():
    cv = Canvas((10.0, 20.0, 30.0, 50.0), 10.0)
    px = cv.to_px(np.array([[10.0, 50.0], [30.0, 20.0], [15.0, 45.0]]))
    assert px.tolist() == [[0.0, 0.0], [200.0, 300.0], [50.0, 50.0]]


def test_a_stall_is_drawn_where_its_truth_says(town):
    stall = next(g for g in town.violations() if g.label == "street_stall"
                 and town.objects[g.object_id].variant in ("tarp", "mat", "table"))
    e, n = stall.east_m, stall.north_m
    window = (e - 10, n - 10, e + 10, n + 10)
    img = render_ortho(town, window, 10.0).astype(int)
    # the same window without the stall: only that object removed
    from dataclasses import replace

    bare = replace(town, objects=[o for o in town.objects if o.object_id != stall.object_id])
    bare_img = render_ortho(bare, window, 10.0).astype(int)
    diff = np.abs(img - bare_img).sum(axis=2) > 30
    rows, cols = np.nonzero(diff)
    # the changed pixels centre on the stall: the window centre, pixel (100, 100)
    assert abs(cols.mean() - 100) < 8 and abs(rows.mean() - 100) < 8


@pytest.mark.parametrize("azimuth,expected_sign", [(90.0, (-1, 0)), (0.0, (0, -1)),
                                                   (180.0, (0, 1))])
def test_shadows_fall_away_from_the_sun(azimuth, expected_sign):
    off = Sun(azimuth, 45.0).shadow_offset_en()
    # at 45 deg elevation a 1 m post casts a 1 m shadow, pointing away from the sun
    assert np.hypot(*off) == pytest.approx(1.0)
    assert np.sign(np.round(off, 6)).tolist() == list(expected_sign)


def test_bad_bounds_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="at least 100 m"):
        build_town(1, bounds_m=(0, 0, 50, 500))
