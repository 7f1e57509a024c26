"""Reachability maps on hand-made layouts: radii from the ETA inverted by hand, known detours."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dispatch.model import DroneModel
from dispatch.planner import DroneStatus, Incident, Planner
from dispatch.reachability import Grid, Reachability, best_of
from geofence import NoRouteFound, Router, ZoneSet, sample_town
from tests.dispatch.layouts import at, rect_zone, router, square_zone

LAUNCH_S = 0.5 + 30 / 2.5 + 2.5  # command overhead + climb to 30 m (the planner tests' figure)
RAMP_S = 12 / 5.0
# Residential target 180 s: 180 - 15 - 2.4 = 162.6 s at 12 m/s, plus the 30 m arrival radius.
RESIDENTIAL_REACH_M = 30 + 12 * (180 - LAUNCH_S - RAMP_S)  # 1981.2 m


def eta(length_m: float, corners: int = 0) -> float:
    return LAUNCH_S + (length_m - 30) / 12 + RAMP_S + 1.5 * corners


def single_cells(*points_m: tuple[float, float]) -> list[Grid]:
    return [Grid(np.array([e]), np.array([n]), 20.0) for e, n in points_m]


def test_one_dock_reaches_a_disc_of_the_radius_the_eta_gives_by_hand():
    # A 4.4 km residential square round one dock and no no-fly zone: in time exactly within
    # 1981.2 m, so the cells at 1970 m and 1990 m fall either side.
    town = ZoneSet([square_zone("res", "residential", 0, 0, 2200, target_s=180.0)])
    reach = Reachability(router())
    field = reach.map(town, [at(0, 0)], spacing_m=20.0)
    east, north = np.meshgrid(field.grid.east_m, field.grid.north_m)
    distance_m = np.hypot(east, north)
    cruising = distance_m >= 30 + 28.8  # past the radius and the v²/2a = 28.8 m ramp
    np.testing.assert_allclose(field.eta_s[cruising], np.vectorize(eta)(distance_m[cruising]),
                               rtol=1e-9)
    # Nearer, the drone never reaches cruise: 15 s launch + sqrt(2 (d - 30) / a).
    near = ~cruising
    np.testing.assert_allclose(
        field.eta_s[near], LAUNCH_S + np.sqrt(2 * np.maximum(distance_m[near] - 30, 0) / 2.5),
        rtol=1e-9)
    # The grid's last column (2210 m) lies outside the zone, where the 300 s default holds.
    in_zone = (np.abs(east) < 2200) & (np.abs(north) < 2200)
    in_time = distance_m <= RESIDENTIAL_REACH_M
    np.testing.assert_array_equal(field.within_target[in_zone], in_time[in_zone])
    assert field.kind("residential").within_share == pytest.approx(in_time[in_zone].mean())
    # and that count is the disc's area over the square's, to the grid's resolution
    assert in_time[in_zone].mean() == pytest.approx(
        math.pi * RESIDENTIAL_REACH_M ** 2 / 4400 ** 2, abs=0.005)
    assert field.kind("residential").area_m2 == pytest.approx(4400 ** 2)


def test_a_no_fly_wall_forces_the_detour_worked_by_hand():
    # A wall 20 m thick from (200, -500) to (220, 500); with the 20 m margin the drone from a
    # dock at (0, 0) to (400, 0) passes (180, 520) and (240, 520):
    # hypot(180, 520) + 60 + hypot(160, 520), two turns.
    wall = rect_zone("wall", "no_fly", (200, -500), (220, 500))
    zones = ZoneSet([wall, square_zone("res", "residential", 0, 0, 1000, target_s=180.0)])
    reach = Reachability(router(wall))
    detour_m = math.hypot(180, 520) + 60 + math.hypot(160, 520)
    (behind,) = single_cells((400, 0))
    field = reach.map(zones, [at(0, 0)], grid=behind)
    assert field.eta_s[0, 0] == pytest.approx(eta(detour_m, corners=2), abs=1e-3)
    assert field.dock_index[0, 0] == 0
    (in_margin,) = single_cells((230, 0))  # 10 m past the wall: inside its margin
    field = reach.map(zones, [at(0, 0)], grid=in_margin)
    assert field.eta_s[0, 0] == math.inf and field.dock_index[0, 0] == -1


def test_the_nearer_of_two_docks_gives_the_eta():
    zones = ZoneSet([square_zone("res", "residential", 0, 0, 3000, target_s=180.0)])
    reach = Reachability(router())
    (cell,) = single_cells((700, 0))
    field = reach.map(zones, [at(-1000, 0), at(1000, 0)], grid=cell)
    assert field.dock_index[0, 0] == 1
    assert field.eta_s[0, 0] == pytest.approx(eta(300), abs=1e-6)


def test_a_part_charge_limits_the_reach_to_what_the_battery_brings_back():
    # At 60 %: 85.68 - 34.125 = 51.555 Wh usable; climb 1.5905 Wh and hover for the 300 s hold
    # and 38.33 s landing 28.194 Wh leave 21.77 Wh = 188.8 s of cruise at 415.2 W =
    # 2 × (d / 12 + 4.8 s): d = 1075 m out and back. The forest's 360 s would allow 4.1 km.
    zones = ZoneSet([square_zone("wood", "forest", 0, 0, 3000, target_s=360.0)])
    reach = Reachability(router(), battery_pct=60.0)
    usable_wh = 10 * 0.6 * 4 * (3.3 + 0.9 * 0.6 / 2) - 10 * 0.25 * 4 * (3.3 + 0.9 * 0.25 / 2)
    climb_wh = 300.0 * 15.0 / 3600 + 2.5 * 9.80665 * 30 / 0.6 / 3600
    hover_wh = 300.0 * (300.0 + 5 + 20 / 1.5 + 10 / 0.5) / 3600
    range_m = 12 * ((usable_wh - climb_wh - hover_wh) / 415.2 * 3600 / 2 - 4.8)
    assert range_m == pytest.approx(1075, abs=1)
    for east_m, reachable in ((range_m - 10, True), (range_m + 10, False)):
        (cell,) = single_cells((east_m, 0))
        field = reach.map(zones, [at(0, 0)], grid=cell)
        assert bool(np.isfinite(field.eta_s[0, 0])) is reachable


def test_zone_kinds_get_their_own_shares_and_no_fly_has_none():
    # A residential block next to the dock and a forest 5 km away (beyond 360 s: 4.1 km).
    zones = ZoneSet([
        square_zone("res", "residential", 0, 0, 200, target_s=180.0),
        square_zone("wood", "forest", 5000, 0, 200, target_s=360.0),
        square_zone("school", "no_fly", 0, 600, 50),
    ])
    field = Reachability(router(*[z for z in zones if z.kind == "no_fly"])).map(
        zones, [at(0, 0)], spacing_m=20.0)
    assert field.kind("residential").within_share == 1.0
    assert field.kind("forest").within_share == 0.0
    assert field.kind("forest").area_m2 == pytest.approx(400 * 400)
    assert [k.kind for k in field.kinds] == ["forest", "residential"]
    with pytest.raises(KeyError, match="no zones of kind 'no_fly'"):
        field.kind("no_fly")


def test_a_dock_inside_a_no_fly_zone_is_refused():
    school = square_zone("school", "no_fly", 0, 0, 100)
    zones = ZoneSet([school, square_zone("res", "residential", 500, 0, 200)])
    with pytest.raises(NoRouteFound, match="school"):
        Reachability(router(school)).map(zones, [at(0, 0)])


def test_the_map_gives_the_planners_own_eta_on_the_sample_town():
    # The one ETA: a full drone idle at each dock, asked of the planner, matches the map.
    town = sample_town()
    planner = Planner(Router(town.zones, town.frame), town.docks)
    field = Reachability.from_planner(planner).map(town.zones, town.docks, spacing_m=20.0)
    rng = np.random.default_rng(5)
    drones = [DroneStatus(d.id, d.lat, d.lon, 100.0) for d in town.docks]
    finite = np.argwhere(np.isfinite(field.eta_s))
    for row, col in finite[rng.choice(len(finite), 40, replace=False)]:
        lat, lon = town.frame.to_wgs84(field.grid.east_m[col], field.grid.north_m[row])
        best = planner.options(Incident("p", lat, lon, target_s=180.0), drones)[0]
        assert best.eta_s == pytest.approx(field.eta_s[row, col], abs=1e-6)
        assert best.drone_id == field.dock_ids[field.dock_index[row, col]]


def test_the_sample_town_is_reached_everywhere_within_target_from_its_three_docks():
    # Its farthest residential corner is 1.4 km from a dock, inside the 1981 m residential
    # reach; the forest's west edge is 1 km from the west dock, inside the 4.1 km forest reach.
    town = sample_town()
    field = Reachability(Router(town.zones, town.frame)).map(town.zones, town.docks)
    assert {k.kind: k.within_share for k in field.kinds}["residential"] == 1.0
    assert {k.kind: k.within_share for k in field.kinds}["forest"] == 1.0
    assert field.zones[0].zone_id == "res-beiyuan" and field.zones[0].area_m2 == 250_000.0


def test_grid_cells_cover_the_bounds():
    grid = Grid.over((0.0, 0.0, 100.0, 50.0), 20.0)
    assert grid.east_m.tolist() == [10.0, 30.0, 50.0, 70.0, 90.0]
    assert grid.north_m.tolist() == [10.0, 30.0, 50.0]  # 50 m needs three 20 m rows
    assert grid.shape == (3, 5) and grid.points_local()[5].tolist() == [10.0, 30.0]
    with pytest.raises(ValueError, match="spacing_m"):
        Grid.over((0, 0, 1, 1), 0.0)


def test_reach_uses_the_model_it_is_given():
    # A slower airframe (6 m/s, 2 m/s²) reaches 30 + 6 × (180 - 15 - 1.5) = 1011 m in 180 s.
    slow = Reachability(router(), model=DroneModel(cruise_speed_mps=6.0, accel_mps2=2.0))
    assert slow.reach_m(180.0, 0) == pytest.approx(30 + 6 * (180 - 15 - 1.5), abs=1e-4)


def test_the_overlay_has_one_pixel_per_cell_north_up_and_its_bounds():
    import io

    from PIL import Image

    from dispatch.reach_plot import overlay_png
    from tests.dispatch.layouts import FRAME

    # A dock near the south-west corner of a 3 km residential square: the north-west cell,
    # 2.85 km away, is late (252 s); the south-west one beside the dock is in time.
    zones = ZoneSet([square_zone("res", "residential", 0, 0, 1500, target_s=180.0)])
    grid = Grid.over((-1500.0, -1500.0, 1500.0, 1500.0), 100.0)
    field = Reachability(router()).map(zones, [at(-1400, -1400)], grid=grid)
    image = np.asarray(Image.open(io.BytesIO(overlay_png(field))))
    assert image.shape[:2] == (30, 30)  # cells of 100 m
    # top-left pixel = north-west cell, 2.8 km north of the dock: late (red side); the
    # bottom-left = south-west cell next to the dock: in time (green side)
    red, green = image[0, 0, :3].astype(int), image[-1, 0, :3].astype(int)
    assert green[1] > green[0] and red[0] > red[1]
    (south, west), (north, east) = field.bounds_wgs84(FRAME)
    assert (south, west) == pytest.approx(at(-1500, -1500), abs=1e-7)
    assert (north, east) == pytest.approx(at(1500, 1500), abs=1e-7)


def test_best_of_two_models_is_the_faster_where_it_is_faster():
    # A 12 m/s drone at (0, 0) and a 16 m/s one at (3000, 0): each cell takes the lesser ETA, and
    # the dock index names the dock that gives it. Midway the faster one wins: at (1550, 0) the
    # slow one flies 1550 m at 12 m/s, the fast one 1450 m at 16 m/s.
    town = ZoneSet([rect_zone("res", "residential", (-500, -500), (3500, 500), target_s=180.0)])
    r = router()
    grid = Grid.over((-500, -500, 3500, 500), 100.0)
    slow = Reachability(r).map(town, [at(0, 0)], grid=grid)
    fast = Reachability(r, model=DroneModel(cruise_speed_mps=16.0)).map(town, [at(3000, 0)],
                                                                       grid=grid)
    both = best_of([slow, fast], town, r.frame)
    np.testing.assert_array_equal(both.eta_s, np.minimum(slow.eta_s, fast.eta_s))
    assert both.dock_ids == ("dock-1", "dock-1")
    np.testing.assert_array_equal(both.dock_index, np.where(fast.eta_s < slow.eta_s, 1, 0))
    mid = np.abs(grid.east_m - 1550) < 1  # the column holding (1550, 0)
    assert both.dock_index[:, mid].ravel().tolist() == [1] * len(grid.north_m)
    # the shares follow the combined field
    assert both.kind("residential").within_share == pytest.approx(both.within_target.mean())
    assert both.kind("residential").within_share >= max(slow.kind("residential").within_share,
                                                        fast.kind("residential").within_share)
