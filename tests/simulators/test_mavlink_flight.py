"""Flying simulated copters with pymavlink over real TCP, checking times against physics."""

from __future__ import annotations

import math

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from geofence.frame import LocalFrame
from tests.simulators.conftest import HANGZHOU

GUIDED, AUTO, RTL = 4, 3, 6
# Defaults: WPNAV_SPEED 12 m/s, WPNAV_ACCEL 2.5 m/s^2, WPNAV_SPEED_UP 2.5 m/s,
# WPNAV_ACCEL_Z 1 m/s^2, WPNAV_RADIUS 2 m.
CRUISE, ACCEL, CLIMB, ACCEL_Z = 12.0, 2.5, 2.5, 1.0


def leg_time_s(distance_m: float, speed: float, accel: float) -> float:
    """Trapezoid profile: cruise time plus the time lost speeding up and slowing down."""
    return distance_m / speed + speed / accel


def take_off(client, fleet, alt_m: float = 20.0) -> float:
    """GUIDED, arm, takeoff; returns the mission seconds from the takeoff command to alt."""
    vehicle = fleet.vehicles[0]
    assert client.set_mode(GUIDED) == mav.MAV_RESULT_ACCEPTED
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == mav.MAV_RESULT_ACCEPTED
    assert client.command(mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m) == \
        mav.MAV_RESULT_ACCEPTED
    start = fleet.time_s
    assert fleet.advance_until(lambda: vehicle.state.landed_state == "IN_AIR", 60)
    return fleet.time_s - start


def test_guided_flight_of_300_m_takes_the_time_physics_predicts(stepped_fleet, clients):
    fleet = stepped_fleet()
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    client.m.mav.request_data_stream_send(client.sysid, 1, mav.MAV_DATA_STREAM_ALL, 4, 1)
    climb_s = take_off(client, fleet)
    assert vehicle.state.alt_rel_m == pytest.approx(20.0, abs=0.6)
    # a point 300 m east of the dock, sent as MAVProxy's `guided` does (MISSION_ITEM_INT current=2)
    lat, lon = LocalFrame(*HANGZHOU).to_wgs84(300.0, 0.0)
    client.m.mav.mission_item_int_send(client.sysid, 1, 0, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
                                       mav.MAV_CMD_NAV_WAYPOINT, 2, 1, 0, 0, 0, 0,
                                       int(lat * 1e7), int(lon * 1e7), 20.0)
    assert client.recv("MISSION_ACK").type == mav.MAV_MISSION_ACCEPTED
    start = fleet.time_s
    arrived = fleet.advance_until(
        lambda: math.hypot(vehicle.state.east_m - 300.0, vehicle.state.north_m) < 2.0, 120)
    assert arrived
    fly_s = fleet.time_s - start
    predicted_climb = leg_time_s(20.0, CLIMB, ACCEL_Z)  # 10.5 s
    predicted_fly = leg_time_s(300.0, CRUISE, ACCEL)  # 29.8 s
    assert fly_s == pytest.approx(predicted_fly, rel=0.10)
    assert climb_s + fly_s == pytest.approx(predicted_climb + predicted_fly, rel=0.10)
    # the ground station saw it there too: GLOBAL_POSITION_INT within 2 m + estimate error
    fleet.advance(1.0)
    positions = client.drain("GLOBAL_POSITION_INT")
    last = positions[-1]
    east, north = LocalFrame(*HANGZHOU).to_local(last.lat / 1e7, last.lon / 1e7)
    assert math.hypot(east - 300.0, north) < 4.0
    assert last.relative_alt == pytest.approx(20_000, abs=1_000)

    # RTL: 300 m back at cruise, RTL_LOIT_TIME 5 s, then 10 m at WPNAV_SPEED_DN 1.5 m/s and the
    # last 10 m (LAND_ALT_LOW) at LAND_SPEED 0.5 m/s: ~29.8 + 5 + 6.7 + 20 = 61.5 s
    assert client.command(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH) == mav.MAV_RESULT_ACCEPTED
    start = fleet.time_s
    assert fleet.advance_until(lambda: not vehicle.state.armed, 200)
    rtl_s = fleet.time_s - start
    predicted_rtl = leg_time_s(300.0, CRUISE, ACCEL) + 5.0 + 10.0 / 1.5 + 10.0 / 0.5
    assert rtl_s == pytest.approx(predicted_rtl, rel=0.10)
    state = vehicle.state
    assert state.landed_state == "ON_GROUND" and state.mode == "RTL"
    assert math.hypot(state.east_m, state.north_m) < 2.0  # on the dock


def test_four_waypoint_mission_reports_each_item_reached(stepped_fleet, clients):
    fleet = stepped_fleet()
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    frame = LocalFrame(*HANGZHOU)
    corners = [(100, 0), (100, 100), (0, 100), (0, 0)]
    items = [(mav.MAV_CMD_NAV_WAYPOINT, 0.0, 0.0, 0.0)]  # item 0: home
    items.append((mav.MAV_CMD_NAV_TAKEOFF, 0.0, 0.0, 15.0))
    items += [(mav.MAV_CMD_NAV_WAYPOINT, *frame.to_wgs84(e, n), 15.0) for e, n in corners]
    items.append((mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, 0.0, 0.0, 0.0))
    client.m.mav.mission_count_send(client.sysid, 1, len(items))
    for _ in items:
        request = client.recv("MISSION_REQUEST_INT")
        command, lat, lon, alt = items[request.seq]
        client.m.mav.mission_item_int_send(
            client.sysid, 1, request.seq, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, command, 0, 1,
            0, 0, 0, 0, int(lat * 1e7), int(lon * 1e7), alt)
    assert client.recv("MISSION_ACK").type == mav.MAV_MISSION_ACCEPTED
    assert "Flight plan received" in client.texts()

    # download mirrors the upload (item 0 comes back as home)
    client.m.mav.mission_request_list_send(client.sysid, 1)
    assert client.recv("MISSION_COUNT").count == len(items)
    client.m.mav.mission_request_int_send(client.sysid, 1, 3)
    item = client.recv("MISSION_ITEM_INT", seq=3)
    assert (item.x, item.y) == (int(items[3][1] * 1e7), int(items[3][2] * 1e7))
    client.m.mav.mission_request_int_send(client.sysid, 1, 0)
    home = client.recv("MISSION_ITEM_INT", seq=0)
    assert (home.x, home.y) == (int(HANGZHOU[0] * 1e7), int(HANGZHOU[1] * 1e7))

    assert client.set_mode(GUIDED) == mav.MAV_RESULT_ACCEPTED
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == mav.MAV_RESULT_ACCEPTED
    assert client.command(mav.MAV_CMD_MISSION_START) == mav.MAV_RESULT_ACCEPTED
    # 400 m square plus climb and RTL: well under 200 s
    assert fleet.advance_until(lambda: not vehicle.state.armed, 200)
    reached = [m.seq for m in client.drain("MISSION_ITEM_REACHED")]
    assert reached == [1, 2, 3, 4, 5, 6]
    state = vehicle.state
    assert math.hypot(state.east_m, state.north_m) < 2.0 and state.alt_rel_m == 0.0


def test_battery_failsafe_triggers_rtl_at_the_configured_threshold(stepped_fleet, clients):
    fleet = stepped_fleet()
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    threshold_mah = 9_800  # of 10 000: ~40 s of hovering at ~18 A
    echo = client.set_param("BATT_LOW_MAH", threshold_mah)
    assert echo.param_value == threshold_mah
    take_off(client, fleet)
    assert fleet.advance_until(lambda: vehicle.state.mode == "RTL", 300)
    state = vehicle.state
    # one 0.1 s step at ~20 A draws ~0.6 mAh: the trigger lands within a step of the threshold
    assert threshold_mah - 1.0 <= state.battery_remaining_mah < threshold_mah
    assert "battery" in state.failsafes
    assert "Battery Failsafe" in client.texts()
    fleet.advance(1.0)  # at least one more 1 Hz HEARTBEAT
    client.drain("HEARTBEAT")
    beats = [m for m in client.log if m.get_type() == "HEARTBEAT" and m.custom_mode == RTL]
    assert beats and all(b.system_status == mav.MAV_STATE_CRITICAL for b in beats)


def test_failed_cell_triggers_failsafe_after_batt_low_timer(stepped_fleet, clients):
    fleet = stepped_fleet()
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    take_off(client, fleet)
    vehicle.fail_battery()  # 4S -> 3 live cells at ~4.17 V = 12.5 V < BATT_LOW_VOLT 14 V
    start = fleet.time_s
    assert fleet.advance_until(lambda: vehicle.state.mode == "RTL", 30)
    assert fleet.time_s - start == pytest.approx(10.0, abs=0.11)  # BATT_LOW_TIMER 10 s
    assert vehicle.state.battery_v < 14.0


def test_gcs_failsafe_after_timeout(stepped_fleet, clients):
    fleet = stepped_fleet(params={"FS_GCS_ENABLE": 1})
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    take_off(client, fleet)
    client.m.mav.heartbeat_send(mav.MAV_TYPE_GCS, mav.MAV_AUTOPILOT_INVALID, 0, 0, 0)
    client.command(mav.MAV_CMD_REQUEST_MESSAGE, 0)  # round trip: the heartbeat has been read
    start = fleet.time_s
    assert fleet.advance_until(lambda: vehicle.state.mode == "RTL", 30)
    assert fleet.time_s - start == pytest.approx(5.0, abs=0.11)  # FS_GCS_TIMEOUT 5 s
    assert "GCS Failsafe" in client.texts()


def test_dropped_link_goes_silent_then_returns(stepped_fleet, clients):
    fleet = stepped_fleet()
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    fleet.advance(3.0)
    assert len(client.drain("HEARTBEAT")) >= 3
    vehicle.drop_link(10.0)
    fleet.advance(9.0)
    assert client.drain("HEARTBEAT") == []
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1, timeout=1.0) is None  # unheard
    fleet.advance(4.0)
    assert len(client.drain("HEARTBEAT")) >= 2
    assert vehicle.state.armed is False
