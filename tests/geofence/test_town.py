"""The shipped sample town: the layout others build on, checked against the design in metres."""

import math

import pytest

from geofence import Dock, sample_town

# The design of the town, in metres east/north of 29.50 N, 120.90 E (the file holds lon/lat).
RECTANGLES_M = {
    "res-beiyuan": (200, 500, 700, 1000),
    "res-xiyuan": (-700, 400, -200, 900),
    "res-nanyuan": (300, -900, 900, -400),
    "res-qiaotou": (-900, -1000, -400, -500),
    "res-dongyuan": (900, 100, 1400, 500),
    "forest-wofo": (-2100, -900, -1200, 1100),
    "com-gushan": (-600, -40, 600, 40),
    "nv-renmin": (-30, -1200, 30, 1200),
    "mkt-chengdong": (650, -200, 850, -60),
    "ind-park": (1000, -700, 1500, -200),
    "nofly-school": (500, -1150, 700, -1000),
    "nofly-substation": (-850, 200, -700, 350),
}
DOCKS_M = {"dock-west": (-1100, -100), "dock-northeast": (1300, 1200), "dock-south": (600, -1300)}


def test_town_has_its_frame_at_the_origin():
    town = sample_town()
    assert (town.origin_lat, town.origin_lon) == (29.50, 120.90)
    assert town.frame.to_local(29.50, 120.90) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert sample_town() is town  # built once


@pytest.mark.parametrize(("zone_id", "rect"), sorted(RECTANGLES_M.items()))
def test_zone_corners_are_where_the_design_puts_them(zone_id, rect):
    town = sample_town()
    zone = town.zones.get(zone_id)
    lons, lats = zone.geometry.exterior.xy
    east0, north0, east1, north1 = rect
    for lat, lon in zip(lats, lons):
        east, north = town.frame.to_local(lat, lon)
        # File coordinates are rounded to 1e-8 degrees: about 1 mm.
        assert min(abs(east - east0), abs(east - east1)) < 0.005
        assert min(abs(north - north0), abs(north - north1)) < 0.005


def test_kinds_and_counts():
    zones = sample_town().zones
    counts = {}
    for zone in zones:
        counts[zone.kind] = counts.get(zone.kind, 0) + 1
    assert counts == {
        "residential": 5,
        "forest": 1,
        "commercial": 1,
        "no_vending": 1,
        "market": 1,
        "industrial": 1,
        "no_fly": 2,
    }
    assert {z.name for z in zones.no_fly} == {"Experimental primary school", "110 kV substation"}


@pytest.mark.parametrize(("dock_id", "east_north"), sorted(DOCKS_M.items()))
def test_docks_sit_where_designed_and_outside_every_zone(dock_id, east_north):
    town = sample_town()
    dock = town.dock(dock_id)
    assert isinstance(dock, Dock)
    east, north = town.frame.to_local(dock.lat, dock.lon)
    assert math.hypot(east - east_north[0], north - east_north[1]) < 0.005
    assert town.zones.zones_at(dock.lat, dock.lon) == []


def test_forest_is_the_largest_zone_and_far_to_one_side():
    town = sample_town()
    east0, _, east1, _ = RECTANGLES_M["forest-wofo"]
    centre_east = (east0 + east1) / 2  # -1650 m: 1.65 km west of the origin
    assert -2000 <= centre_east <= -1500
    areas = {z.id: z.geometry.area for z in town.zones}
    assert max(areas, key=areas.get) == "forest-wofo"


def test_unknown_dock_names_the_known_ones():
    with pytest.raises(KeyError, match="dock-west"):
        sample_town().dock("dock-nowhere")
