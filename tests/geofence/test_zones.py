"""Point queries, response targets and quiet windows on the sample town and on tiny hand-made sets."""

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from shapely.geometry import box

from geofence import QuietWindow, Zone, ZoneSet, sample_town

CST = timezone(timedelta(hours=8))  # Asia/Shanghai has no daylight saving


def _at(east_m, north_m):
    return sample_town().frame.to_wgs84(float(east_m), float(north_m))


@pytest.mark.parametrize(
    ("east_m", "north_m", "zone_ids", "target_s"),
    [
        (450, 750, ["res-beiyuan"], 180.0),  # middle of a residential block
        (-1650, 100, ["forest-wofo"], 360.0),  # middle of the forest
        (300, 0, ["com-gushan"], 240.0),  # the street's own target
        (0, 0, ["com-gushan", "nv-renmin"], 240.0),  # crossing: strictest of 240 and 300
        (0, 600, ["nv-renmin"], 300.0),  # no-vending road: the default
        (750, -130, ["mkt-chengdong"], 300.0),
        (600, -1075, ["nofly-school"], 300.0),
        (0, 1500, [], 300.0),  # outside every zone: the default
    ],
)
def test_zones_and_target_of_a_point(east_m, north_m, zone_ids, target_s):
    zones = sample_town().zones
    lat, lon = _at(east_m, north_m)
    assert [z.id for z in zones.zones_at(lat, lon)] == zone_ids
    assert zones.target_s(lat, lon) == target_s


def _square_set():
    # Two unit squares in degrees sharing the edge lon = 1: a residential one and a forest one.
    return ZoneSet(
        [
            Zone("r", "R", "residential", box(0, 0, 1, 1), 180.0),
            Zone("f", "F", "forest", box(1, 0, 2, 1), 360.0),
        ]
    )


@pytest.mark.parametrize(
    ("lat", "lon", "ids"),
    [
        (0.5, 0.5, ["r"]),
        (0.5, 1.0, ["r", "f"]),  # on the shared edge: closed zones, so in both
        (0.0, 0.0, ["r"]),  # on a corner: inside
        (1.0, 2.0, ["f"]),
        (0.5, 2.0 + 1e-9, []),  # just outside
    ],
)
def test_boundary_points_are_inside(lat, lon, ids):
    zones = _square_set()
    assert [z.id for z in zones.zones_at(lat, lon)] == ids


def test_shared_edge_takes_the_strictest_target():
    assert _square_set().target_s(0.5, 1.0) == 180.0


def test_vectorised_targets_match_point_queries():
    zones = sample_town().zones
    rng = np.random.default_rng(3)
    east, north = rng.uniform(-2200, 1600, 500), rng.uniform(-1300, 1300, 500)
    lats, lons = sample_town().frame.to_wgs84(east, north)
    expected = [zones.target_s(la, lo) for la, lo in zip(lats, lons)]
    np.testing.assert_array_equal(zones.targets_s(lats, lons), expected)


def test_containing_pairs_each_point_with_every_zone_holding_it():
    # The unit squares: (0.5, 0.5) in r only, (0.5, 1.0) on the shared edge in both, (0.5, 3) in none.
    points, zones = _square_set().containing(np.array([0.5, 0.5, 0.5]), np.array([0.5, 1.0, 3.0]))
    assert sorted(zip(points.tolist(), zones.tolist())) == [(0, 0), (1, 0), (1, 1)]


def test_kinds_and_no_fly():
    zones = sample_town().zones
    assert zones.kinds_at(*_at(0, 0)) == {"commercial", "no_vending"}
    assert [z.id for z in zones.no_fly] == ["nofly-school", "nofly-substation"]


@pytest.mark.parametrize(("lat", "lon"), [(120.9, 29.5), (91.0, 0.0), (0.0, 181.0)])
def test_swapped_or_out_of_range_query_says_check_the_order(lat, lon):
    with pytest.raises(ValueError, match="check the order"):
        sample_town().zones.zones_at(lat, lon)


@pytest.mark.parametrize(
    ("local_time", "quiet"),
    [
        # ind-park: weekdays 12:00-13:30 and every night 22:00-06:00, Asia/Shanghai.
        (datetime(2026, 11, 25, 12, 0, tzinfo=CST), True),  # Wednesday, opening minute
        (datetime(2026, 11, 25, 13, 30, tzinfo=CST), False),  # closing minute is outside
        (datetime(2026, 11, 28, 12, 30, tzinfo=CST), False),  # Saturday noon
        (datetime(2026, 11, 28, 23, 0, tzinfo=CST), True),  # Saturday night
        (
            datetime(2026, 11, 29, 5, 59, tzinfo=CST),
            True,
        ),  # Sunday before dawn, from Saturday's window
        (datetime(2026, 11, 25, 4, 30, tzinfo=UTC), True),  # 12:30 in Shanghai
        (datetime(2026, 11, 25, 8, 0, tzinfo=UTC), False),  # 16:00 in Shanghai
    ],
)
def test_quiet_windows(local_time, quiet):
    assert sample_town().zones.get("ind-park").is_quiet(local_time) is quiet


def test_quiet_window_needs_an_aware_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        sample_town().zones.get("ind-park").is_quiet(datetime(2026, 11, 25, 12, 0))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"days": [], "start": "12:00", "end": "13:00"}, "non-empty list"),
        ({"days": ["someday"], "start": "12:00", "end": "13:00"}, "unknown weekday"),
        ({"days": ["mon"], "start": "noon", "end": "13:00"}, "HH:MM"),
        ({"days": ["mon"], "start": "12:00", "end": "12:00"}, "start != end"),
        (
            {"days": ["mon"], "start": "12:00", "end": "13:00", "tz": "Mars/Olympus"},
            "unknown time zone",
        ),
        (
            {"days": ["mon"], "start": "12:00", "end": "13:00", "every": 2},
            "unknown quiet window keys",
        ),
    ],
)
def test_bad_quiet_windows(raw, message):
    with pytest.raises(ValueError, match=message):
        QuietWindow.from_mapping(raw)
