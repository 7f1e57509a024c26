"""Routes around no-fly zones: lengths worked out on paper, properties checked with hypothesis."""

import math
from datetime import datetime, time, timedelta, timezone

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from geofence import LocalFrame, NoRouteFound, QuietWindow, Router, Zone, sample_town

FRAME = LocalFrame(29.50, 120.90)
CST = timezone(timedelta(hours=8))


def _zone_m(zone_id, polygon_m, kind="no_fly", quiet=()):
    """A zone drawn in local metres, stored in lon/lat like a loaded one."""
    lat, lon = FRAME.to_wgs84(*np.asarray(polygon_m.exterior.coords).T)
    return Zone(zone_id, zone_id, kind, Polygon(np.column_stack([lon, lat])), 300.0, tuple(quiet))


# One square no-fly zone, 100 m a side, from (0, 0) to (100, 100); margin 20 m (mitred), so
# the buffered obstacle is the square (-20, -20)-(120, 120).
SQUARE = _zone_m("square", box(0, 0, 100, 100))


@pytest.mark.parametrize(
    ("start", "goal", "length_m", "n_points"),
    [
        # Straight through the middle, from (-100, 50) to (200, 50). The shortest way round goes
        # over the top: (-100,50) -> (-20,120) -> (120,120) -> (200,50).
        # legs: hypot(80, 70) = 106.3015, 140, hypot(80, 70) = 106.3015 -> 352.6029.
        ((-100, 50), (200, 50), 2 * math.hypot(80, 70) + 140, 4),
        # Diagonal corner to corner, from (-50, -50) to (150, 150): both ways round are equal;
        # via (120, -20): hypot(170, 30) + hypot(30, 170) = 345.2535.
        ((-50, -50), (150, 150), 2 * math.hypot(170, 30), 3),
        # Grazing the buffered edge y = 120 from x = -100 to 200: touching is allowed -> straight, 300.
        ((-100, 120), (200, 120), 300.0, 2),
        # Clear of the obstacle altogether: straight, hypot(300, 400) = 500.
        ((-100, 200), (200, 600), 500.0, 2),
    ],
)
def test_detour_around_one_square(start, goal, length_m, n_points):
    router = Router([SQUARE], FRAME, margin_m=20.0)
    route = router.route_local(start, goal)
    assert route.length_m == pytest.approx(length_m, abs=0.01)  # zone corners round-trip to < 1 mm
    assert len(route.points) == n_points
    assert router.distance_m(FRAME.to_wgs84(*start), FRAME.to_wgs84(*goal)) == pytest.approx(
        length_m, abs=0.01
    )


def test_margin_zero_hugs_the_zone():
    # Margin 0: (-100,50) -> (0,100) -> (100,100) -> (200,50): 2 * hypot(100, 50) + 100 = 323.6068.
    route = Router([SQUARE], FRAME, margin_m=0.0).route_local((-100, 50), (200, 50))
    assert route.length_m == pytest.approx(2 * math.hypot(100, 50) + 100, abs=0.01)


def test_sample_town_south_dock_goes_around_the_school():
    town = sample_town()
    router = Router(town.zones, town.frame)
    # South dock (600, -1300) to the middle of Nanyuan (600, -650); the school, buffered, is
    # (480, -1170)-(720, -980): hypot(120, 130) + 190 + hypot(120, 330) = 718.0588 m.
    route = router.route_local((600, -1300), (600, -650))
    assert route.length_m == pytest.approx(
        math.hypot(120, 130) + 190 + math.hypot(120, 330), abs=0.01
    )
    # The lat/lon form is the same polyline.
    back = np.column_stack(town.frame.to_local(*np.asarray(route.points).T))
    np.testing.assert_allclose(back, route.points_local, atol=1e-6)


@pytest.mark.parametrize(
    ("start", "goal", "reason", "message"),
    [
        ((50, 50), (300, 300), "start_blocked", "inside no-fly zone 'square'"),
        (
            (300, 300),
            (110, 50),
            "goal_blocked",
            "within the 20 m safety margin of no-fly zone 'square'",
        ),
    ],
)
def test_blocked_endpoints_say_why(start, goal, reason, message):
    with pytest.raises(NoRouteFound, match=message) as info:
        Router([SQUARE], FRAME).route_local(start, goal)
    assert info.value.reason == reason
    assert info.value.zone_names == ("square",)


def test_enclosed_goal_has_no_route():
    # Four walls around (0,0)-(200,200), each 10 m thick, buffered 20 m: the courtyard
    # (30, 30)-(170, 170) stays free but cannot be reached.
    walls = [box(0, 0, 200, 10), box(0, 190, 200, 200), box(0, 0, 10, 200), box(190, 0, 200, 200)]
    router = Router([_zone_m(f"wall{i}", w) for i, w in enumerate(walls)], FRAME)
    with pytest.raises(NoRouteFound, match="enclosed by") as info:
        router.route_local((-300, -300), (100, 100))
    assert info.value.reason == "goal_enclosed"
    assert set(info.value.zone_names) == {"wall0", "wall1", "wall2", "wall3"}


@pytest.mark.parametrize("table_max_nodes", [2000, 0])  # the all-pairs table, and without it
def test_lengths_from_one_start_match_the_hand_worked_routes(table_max_nodes):
    router = Router([SQUARE], FRAME, margin_m=20.0, table_max_nodes=table_max_nodes)
    goals = np.array([
        (200, 50),  # over the top: 2 * hypot(80, 70) + 140, two corners (as in the first test)
        (-100, 200),  # clear: straight, 150 m
        (110, 50),  # inside the 20 m margin: no route
        (120, 120),  # the far buffered corner: via (-20, 120), then along the top edge
        (60, 130),  # just above the top edge: via (-20, 120), then hypot(80, 10)
        (50, 300),  # the line passes x = -20 at y = 183, above the square: straight
    ], dtype=float)
    lengths = router.lengths_from_local((-100, 50), goals)
    expected = [2 * math.hypot(80, 70) + 140, 150.0, math.inf, math.hypot(80, 70) + 140,
                math.hypot(80, 70) + math.hypot(80, 10), math.hypot(150, 250)]
    np.testing.assert_allclose(lengths.length_m, expected, atol=0.01)
    assert lengths.corners.tolist() == [2, 0, -1, 1, 1, 0]


def test_lengths_from_agree_with_route_on_the_sample_town():
    town = sample_town()
    router = Router(town.zones, town.frame)
    goals = np.random.default_rng(11).uniform([-2100, -1200], [1500, 1100], (400, 2))
    south_dock = (600.0, -1300.0)
    lengths = router.lengths_from_local(south_dock, goals)
    detoured = 0
    for goal, length_m, corners in zip(goals, lengths.length_m, lengths.corners):
        try:
            route = router.route_local(south_dock, tuple(goal))
        except NoRouteFound:
            assert length_m == math.inf and corners == -1
            continue
        assert length_m == pytest.approx(route.length_m, abs=1e-6)
        assert corners == len(route.points) - 2
        detoured += corners > 0
    assert detoured > 50  # the school stands between the dock and much of the town


def test_lengths_from_a_ring_reach_nothing_inside_and_refuse_a_blocked_start():
    walls = [box(0, 0, 200, 10), box(0, 190, 200, 200), box(0, 0, 10, 200), box(190, 0, 200, 200)]
    router = Router([_zone_m(f"wall{i}", w) for i, w in enumerate(walls)], FRAME)
    lengths = router.lengths_from_local((-300, 100), np.array([(100.0, 100.0), (-300.0, 0.0)]))
    assert lengths.length_m.tolist() == [math.inf, 100.0]
    assert router.free_local(np.array([(100.0, 100.0), (5.0, 5.0), (-300.0, 0.0)])).tolist() == [
        False, False, True]
    with pytest.raises(NoRouteFound) as info:
        router.lengths_from_local((100, 100), np.array([(-300.0, 0.0)]))
    assert info.value.reason == "start_enclosed"


def test_table_and_networkx_search_agree():
    town = sample_town()
    fast = Router(town.zones, town.frame)
    slow = Router(town.zones, town.frame, table_max_nodes=0)  # forces the networkx search
    rng = np.random.default_rng(7)
    compared = 0
    for _ in range(60):
        a, b = rng.uniform(-1500, 1500, 2), rng.uniform(-1500, 1500, 2)
        try:
            expected = fast.route_local(tuple(a), tuple(b)).length_m
        except NoRouteFound:
            continue
        assert slow.route_local(tuple(a), tuple(b)).length_m == pytest.approx(expected, abs=1e-6)
        compared += 1
    assert compared > 40


def test_quiet_zone_avoided_for_routine_and_flagged_for_urgent():
    quiet = _zone_m(
        "quiet",
        box(0, 0, 100, 100),
        kind="industrial",
        quiet=(QuietWindow(frozenset(range(5)), time(12), time(14)),),
    )  # weekdays 12-14
    router = Router([quiet], FRAME, margin_m=20.0)
    wednesday_noon = datetime(2026, 11, 25, 12, 30, tzinfo=CST)
    wednesday_night = datetime(2026, 11, 25, 20, 0, tzinfo=CST)
    straight = 300.0
    detour = 2 * math.hypot(80, 70) + 140  # the same square as above
    assert router.route_local(
        (-100, 50), (200, 50), avoid_quiet_at=wednesday_noon
    ).length_m == pytest.approx(detour, abs=0.01)
    assert router.route_local(
        (-100, 50), (200, 50), avoid_quiet_at=wednesday_night
    ).length_m == pytest.approx(straight)
    urgent = router.route_local((-100, 50), (200, 50), flag_quiet_at=wednesday_noon)
    assert urgent.length_m == pytest.approx(straight) and urgent.quiet_zone_ids == ("quiet",)
    assert (
        router.route_local((-100, 50), (200, 50), flag_quiet_at=wednesday_night).quiet_zone_ids
        == ()
    )


@pytest.mark.parametrize("bad", [(120.9, 29.5), (float("nan"), 120.9), ("a", "b"), (29.5,)])
def test_bad_points_are_refused(bad):
    with pytest.raises(ValueError, match="lat, lon"):
        Router([SQUARE], FRAME).route(bad, (29.5, 120.9))


# -- properties ------------------------------------------------------------------------------


def _random_obstacles(seed, count):
    rng = np.random.default_rng(seed)
    zones = []
    for i in range(count):
        cx, cy = rng.uniform(-800, 800, 2)
        angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 8)))
        radii = rng.uniform(20, 120, len(angles))
        poly = Polygon(np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)]))
        if poly.is_valid and poly.area > 10:
            zones.append(_zone_m(f"z{i}", poly))
    return zones


ROUTERS = {seed: Router(_random_obstacles(seed, 12), FRAME) for seed in range(4)}
points = st.tuples(st.floats(-1000, 1000), st.floats(-1000, 1000))


@settings(max_examples=150, deadline=None)
@given(seed=st.sampled_from(sorted(ROUTERS)), start=points, goal=points)
def test_route_properties(seed, start, goal):
    router = ROUTERS[seed]
    try:
        route = router.route_local(start, goal)
    except NoRouteFound as exc:
        # Refused only for a real reason: the endpoint lies in (or is ringed by) an obstacle.
        obstacles = router.obstacles_local
        point = Point(start if exc.reason.startswith("start") else goal)
        assert any(Polygon(o.exterior).buffer(1e-6).contains(point) for o in obstacles)
        return
    line = LineString(route.points_local) if len(route.points_local) > 1 else Point(start)
    straight = math.dist(start, goal)
    # Never inside a buffered zone (1 cm inside the boundary counts as inside).
    for obstacle in router.obstacles_local:
        assert not line.intersects(obstacle.buffer(-0.01))
    # Never shorter than the straight line; equal to it exactly when the line is clear.
    assert route.length_m >= straight - 1e-9
    clear = not any(
        LineString([start, goal]).intersects(o.buffer(-0.01)) for o in router.obstacles_local
    )
    if clear:
        assert route.length_m == pytest.approx(straight, abs=1e-6)
    else:
        assert route.length_m > straight


@settings(max_examples=60, deadline=None)
@given(start=points, goal=points, via=points)
def test_route_is_no_longer_than_any_clear_two_leg_path(start, goal, via):
    # Shortest means shortest: any flyable detour through one extra point is at least as long.
    router = ROUTERS[0]
    blocked = [o.buffer(-0.01) for o in router.obstacles_local]
    legs = LineString([start, via, goal])
    assume(not any(legs.intersects(o) for o in blocked))
    route = router.route_local(start, goal)
    assert route.length_m <= math.dist(start, via) + math.dist(via, goal) + 1e-6
