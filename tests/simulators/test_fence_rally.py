"""Geofence and rally points as ArduCopter keeps them: plans over MAVLink, breaches, RTL targets."""

from __future__ import annotations

import math

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from geofence.frame import LocalFrame
from simulators.errors import BadPlan
from simulators.fence import Fence, Rally, fence_names
from simulators.mission import MissionItem
from tests.simulators.conftest import HANGZHOU

A = mav.MAV_RESULT_ACCEPTED
GUIDED, RTL, LAND = 4, 6, 9
FENCE, RALLY = mav.MAV_MISSION_TYPE_FENCE, mav.MAV_MISSION_TYPE_RALLY
FRAME = LocalFrame(*HANGZHOU)
INCLUDE, EXCLUDE, CIRCLE_IN = 5001, 5002, 5003
REL = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT


def at(east_m: float, north_m: float) -> tuple[float, float]:
    lat, lon = FRAME.to_wgs84(east_m, north_m)
    return float(lat), float(lon)


def polygon(command: int, corners_en: list[tuple[float, float]]) -> list[tuple]:
    """Fence items of one polygon: each vertex carries the vertex count in param1."""
    return [(REL, command, len(corners_en), *at(e, n), 0.0) for e, n in corners_en]


SQUARE_200 = [(-100, -100), (100, -100), (100, 100), (-100, 100)]  # 200 m square round home


def take_off_and_fly_north(client, fleet, north_m: float, alt_m: float = 20.0) -> None:
    assert client.set_mode(GUIDED) == A
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == A
    assert client.command(mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m) == A
    vehicle = fleet.vehicles[0]
    assert fleet.advance_until(lambda: vehicle.state.landed_state == "IN_AIR", 60)
    lat, lon = at(0.0, north_m)
    assert client.command_int(mav.MAV_CMD_DO_REPOSITION, REL, -1, 0, int(lat * 1e7),
                              int(lon * 1e7), alt_m) == A


def test_a_fence_uploads_downloads_and_turns_back_a_copter_at_its_edge(stepped_fleet, clients):
    fleet = stepped_fleet(stream_hz=0)
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    items = polygon(INCLUDE, SQUARE_200)
    assert client.upload(items, FENCE) == mav.MAV_MISSION_ACCEPTED
    back = client.download(FENCE)
    assert [(m.command, m.param1, m.x, m.y) for m in back] == \
        [(INCLUDE, 4, int(round(lat * 1e7)), int(round(lon * 1e7))) for _, _, _, lat, lon, _ in
         items]
    assert client.download(RALLY) == []
    assert client.command(mav.MAV_CMD_DO_FENCE_ENABLE, 1) == A
    assert client.command(mav.MAV_CMD_REQUEST_MESSAGE, mav.MAVLINK_MSG_ID_SYS_STATUS) == A
    status = client.recv("SYS_STATUS")
    geofence = mav.MAV_SYS_STATUS_GEOFENCE
    assert status.onboard_control_sensors_present & geofence
    assert status.onboard_control_sensors_health & geofence

    take_off_and_fly_north(client, fleet, 150.0)  # 50 m past the northern edge
    assert fleet.advance_until(lambda: vehicle.state.mode == "RTL", 60)
    # breached where the position estimate (error ~0.3 m) crossed north = 100 m, caught within
    # one 0.1 s physics step at 12 m/s (1.2 m)
    assert 98.5 <= vehicle.state.north_m <= 102.0
    assert "Polygon fence breached" in client.texts()
    assert client.command(mav.MAV_CMD_REQUEST_MESSAGE, mav.MAVLINK_MSG_ID_FENCE_STATUS) == A
    fence_status = client.recv("FENCE_STATUS")
    assert (fence_status.breach_status, fence_status.breach_count,
            fence_status.breach_type) == (1, 1, mav.FENCE_BREACH_BOUNDARY)
    assert fleet.advance_until(lambda: not vehicle.state.armed, 200)
    state = vehicle.state
    assert math.hypot(state.east_m, state.north_m) < 2.0 and state.fence_breaches == 0


def test_a_max_alt_breach_with_fence_action_2_lands(stepped_fleet, clients):
    fleet = stepped_fleet(stream_hz=0, params={"FENCE_TYPE": 1, "FENCE_ALT_MAX": 30,
                                               "FENCE_ACTION": 2, "FENCE_ENABLE": 1})
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    assert client.set_mode(GUIDED) == A
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == A
    assert client.command(mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 40.0) == A
    assert fleet.advance_until(lambda: vehicle.state.mode == "LAND", 60)
    assert 30.0 <= vehicle.state.alt_rel_m <= 30.5  # climbing at 2.5 m/s: 0.25 m a step
    assert "Max Alt fence breached" in client.texts()


def test_arming_outside_an_enabled_fence_is_refused(stepped_fleet, clients):
    fleet = stepped_fleet(stream_hz=0)
    client = clients(fleet.vehicles[0].endpoint)
    away = [(-50, 200), (50, 200), (50, 300), (-50, 300)]  # a square that leaves home out
    assert client.upload(polygon(INCLUDE, away), FENCE) == mav.MAV_MISSION_ACCEPTED
    assert client.set_mode(GUIDED) == A
    assert client.command(mav.MAV_CMD_DO_FENCE_ENABLE, 1) == A
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == mav.MAV_RESULT_FAILED
    assert "PreArm: vehicle outside Polygon fence" in client.texts()
    assert client.command(mav.MAV_CMD_DO_FENCE_ENABLE, 0) == A
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == A


@pytest.mark.parametrize("mission_type, items, result, why", [
    # 4 vertices declared, 3 given before a circle
    (FENCE, polygon(INCLUDE, SQUARE_200)[:3] + [(REL, CIRCLE_IN, 50, *at(0, 0), 0.0)],
     mav.MAV_MISSION_ERROR, "Fence: polygon at item 0 has 4 vertices"),
    (FENCE, [(REL, mav.MAV_CMD_NAV_WAYPOINT, 0, *at(0, 0), 10.0)], mav.MAV_MISSION_UNSUPPORTED,
     "Fence: command 16 is not a fence item"),
    (FENCE, [(REL, CIRCLE_IN, 0, *at(0, 0), 0.0)], mav.MAV_MISSION_ERROR,
     "Fence: circle at item 0 has radius 0"),
    (RALLY, [(REL, mav.MAV_CMD_NAV_WAYPOINT, 0, *at(0, 0), 10.0)], mav.MAV_MISSION_UNSUPPORTED,
     "Rally: command 16 is not a rally point"),
    # an unknown plan type: the ACK alone says no, as ArduPilot's
    (42, [(REL, mav.MAV_CMD_NAV_WAYPOINT, 0, *at(0, 0), 10.0)], mav.MAV_MISSION_UNSUPPORTED,
     None),
])
def test_bad_fence_and_rally_plans_are_refused_and_change_nothing(stepped_fleet, clients,
                                                                  mission_type, items, result,
                                                                  why):
    fleet = stepped_fleet(stream_hz=0)
    client = clients(fleet.vehicles[0].endpoint)
    kept = polygon(EXCLUDE, [(10, 10), (20, 10), (20, 20)])
    assert client.upload(kept, FENCE) == mav.MAV_MISSION_ACCEPTED
    assert client.upload(items, mission_type) == result
    said = [t for t in client.texts() if t.startswith(("Fence", "Rally"))]
    assert [t[:len(why)] for t in said] == ([why] if why else [])
    assert [m.command for m in client.download(FENCE)] == [EXCLUDE] * 3
    assert client.download(RALLY) == []


def test_rtl_lands_on_the_nearest_rally_point(stepped_fleet, clients):
    fleet = stepped_fleet(stream_hz=0)
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    rally = [(REL, mav.MAV_CMD_NAV_RALLY_POINT, 0, *at(30.0, 100.0), 20.0)]
    assert client.upload(rally, RALLY) == mav.MAV_MISSION_ACCEPTED
    assert [(m.command, m.x) for m in client.download(RALLY)] == \
        [(mav.MAV_CMD_NAV_RALLY_POINT, int(round(rally[0][3] * 1e7)))]
    client.m.mav.param_request_read_send(client.sysid, 1, b"RALLY_TOTAL", -1)
    assert client.recv("PARAM_VALUE", param_id="RALLY_TOTAL").param_value == 1
    take_off_and_fly_north(client, fleet, 150.0)
    assert fleet.advance_until(lambda: vehicle.state.north_m > 148.0, 60)
    # the rally point is 58 m away, home 150 m: RTL goes to the rally point and lands there
    assert client.command(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH) == A
    assert fleet.advance_until(lambda: not vehicle.state.armed, 200)
    state = vehicle.state
    assert math.hypot(state.east_m - 30.0, state.north_m - 100.0) < 2.0
    assert state.landed_state == "ON_GROUND"


@pytest.mark.parametrize("where_en, points_en, limit_km, include_home, expected_en", [
    ((0, 150), [(0, 100)], 0.3, True, (0, 100)),  # rally nearer than home
    ((0, 40), [(0, 100)], 0.3, True, (0, 0)),  # home nearer and counted
    ((0, 40), [(0, 100)], 0.3, False, (0, 100)),  # home not counted: the rally point
    ((0, 50), [(0, -350)], 0.3, False, (0, 0)),  # 400 m > 0.3 km and home nearer: home
    ((0, 50), [(0, -350)], 0.0, False, (0, -350)),  # no limit
    ((0, 50), [], 0.3, False, (0, 0)),  # no rally points
    ((0, 50), [(0, 100), (0, -20)], 0.0, False, (0, 100)),  # nearest of several
])
def test_the_rtl_target_is_chosen_as_ap_rally_does(where_en, points_en, limit_km, include_home,
                                                   expected_en):
    rally = Rally(FRAME)
    rally.set_items([MissionItem(5100, lat=at(*p)[0], lon=at(*p)[1]) for p in points_en])
    east, north = rally.return_point(*where_en, limit_km=limit_km, include_home=include_home)
    assert (east, north) == pytest.approx(expected_en, abs=0.01)


@pytest.mark.parametrize("where_enu, types, breached", [
    ((0, 0, 10), 7, 0),
    ((0, 0, 101), 7, 1),  # above FENCE_ALT_MAX 100 m
    ((0, 0, 101), 6, 0),  # max alt not configured
    ((250, 0, 10), 7, 4),  # inside the 300 m circle, outside the polygon
    ((320, 0, 10), 7, 2 | 4),
    ((17, 13, 10), 7, 4),  # inside the inclusion square but in the exclusion triangle
    ((100, 0, 10), 7, 0),  # on the edge counts as inside
])
def test_breaches_of_an_inclusion_square_with_an_exclusion(where_enu, types, breached):
    fence = Fence(FRAME)
    items = [MissionItem(c, param1=p1, lat=lat, lon=lon) for _, c, p1, lat, lon, _ in
             polygon(INCLUDE, SQUARE_200) + polygon(EXCLUDE, [(10, 10), (20, 10), (20, 20)])]
    fence.set_items(items)
    assert fence.breaches(*where_enu, types=types, alt_max_m=100.0, radius_m=300.0) == breached


def test_fence_names_read_as_arducopters():
    assert fence_names(4) == "Polygon fence"
    assert fence_names(1 | 2) == "Max Alt and Circle fences"
    assert fence_names(1 | 2 | 4) == "Max Alt, Circle and Polygon fences"


def test_a_self_crossing_polygon_is_refused():
    fence = Fence(FRAME)
    bowtie = [(0, 0), (100, 100), (100, 0), (0, 100)]
    with pytest.raises(BadPlan, match="crosses itself"):
        fence.set_items([MissionItem(INCLUDE, param1=4, lat=at(*p)[0], lon=at(*p)[1])
                         for p in bowtie])
