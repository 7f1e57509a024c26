"""What a ground station sees: ACKs, refusals, targeting, streams, parameters, robustness."""

from __future__ import annotations

import math
import random
import time

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from geofence.frame import LocalFrame
from simulators.fleet import Fleet
from simulators.params import DEFAULT_PARAMS
from tests.simulators.conftest import HANGZHOU, SECOND_HOME

GUIDED, LOITER, RTL, LAND = 4, 5, 6, 9
A, D, U, F = (mav.MAV_RESULT_ACCEPTED, mav.MAV_RESULT_DENIED, mav.MAV_RESULT_UNSUPPORTED,
              mav.MAV_RESULT_FAILED)


def test_identity_and_heartbeat(stepped_fleet, clients):
    fleet = stepped_fleet(homes=[HANGZHOU, SECOND_HOME])
    client = clients(fleet.vehicles[1].endpoint)
    hb = client.hb
    assert (hb.get_srcSystem(), hb.get_srcComponent()) == (2, 1)
    assert (hb.type, hb.autopilot, hb.custom_mode) == (2, 3, 0)
    assert hb.base_mode == 1 | 16 | 64  # custom, stabilize, manual input; disarmed
    assert hb.system_status == mav.MAV_STATE_STANDBY
    assert client.set_mode(GUIDED) == A
    beat = client.recv("HEARTBEAT", custom_mode=GUIDED)  # sent at once on a mode change
    assert beat.base_mode & mav.MAV_MODE_FLAG_GUIDED_ENABLED


@pytest.mark.parametrize("steps, command, params, result, text", [
    ([], mav.MAV_CMD_NAV_TAKEOFF, (0, 0, 0, 0, 0, 0, 20), F, "Takeoff: not armed"),
    ([(176, 1, GUIDED), (400, 1)], mav.MAV_CMD_NAV_TAKEOFF, (0, 0, 0, 0, 0, 0, 0), F, "altitude"),
    ([(176, 1, RTL)], mav.MAV_CMD_COMPONENT_ARM_DISARM, (1,), F, "Arm: RTL mode not armable"),
    ([], mav.MAV_CMD_DO_SET_MODE, (0, GUIDED), D, None),  # no custom-mode flag
    ([], mav.MAV_CMD_DO_SET_MODE, (1, 42), F, None),  # no such mode
    ([], mav.MAV_CMD_DO_CHANGE_SPEED, (1, 0), D, None),
    ([], mav.MAV_CMD_DO_CHANGE_SPEED, (1, 8), A, None),
    ([], mav.MAV_CMD_DO_REPOSITION, (-1, 1, 0, 0, 30, 120, 20), U, None),  # COMMAND_INT only
    ([], mav.MAV_CMD_DO_SET_SERVO, (5, 1500), U, None),
    ([], mav.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, (1,), U, None),
    ([], mav.MAV_CMD_MISSION_START, (), F, "no mission"),
    ([], mav.MAV_CMD_NAV_LAND, (), A, None),
    ([], mav.MAV_CMD_DO_FENCE_ENABLE, (3,), F, None),  # 0 off, 1 on, 2 floor off; no 3
    ([], mav.MAV_CMD_DO_FENCE_ENABLE, (1,), A, None),
])
def test_every_command_gets_one_ack(stepped_fleet, clients, steps, command, params, result, text):
    fleet = stepped_fleet()
    client = clients(fleet.vehicles[0].endpoint)
    for step in steps:
        assert client.command(*step) == A
    assert client.command(command, *params) == result
    if text is not None:
        assert any(text in said for said in client.texts())
    assert client.recv("COMMAND_ACK", timeout=0.3) is None  # exactly one


def test_refused_arm_fault_says_why(stepped_fleet, clients):
    fleet = stepped_fleet()
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    vehicle.refuse_arm("Compass not calibrated")
    assert client.set_mode(GUIDED) == A
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == F
    assert "PreArm: Compass not calibrated" in client.texts()
    client.m.mav.request_data_stream_send(client.sysid, 1, mav.MAV_DATA_STREAM_EXTENDED_STATUS,
                                          2, 1)
    fleet.advance(1.0)
    status = client.recv("SYS_STATUS")
    assert not status.onboard_control_sensors_health & mav.MAV_SYS_STATUS_PREARM_CHECK
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1, 2989) == A  # forced arm skips it
    assert vehicle.state.armed


@pytest.mark.parametrize("target_system, target_component", [(7, 1), (1, 5)])
def test_messages_for_someone_else_are_ignored(stepped_fleet, clients, target_system,
                                               target_component):
    fleet = stepped_fleet()
    client = clients(fleet.vehicles[0].endpoint)
    assert client.command(176, 1, GUIDED, target=target_system, component=target_component,
                          timeout=1.0) is None
    assert fleet.vehicles[0].state.mode == "STABILIZE"
    assert client.command(176, 1, GUIDED) == A  # the same command, addressed to it


def test_random_bytes_do_not_crash_it(stepped_fleet, clients):
    fleet = stepped_fleet()
    client = clients(fleet.vehicles[0].endpoint)
    rng = random.Random(4)
    for _ in range(20):
        client.m.write(bytes(rng.getrandbits(8) for _ in range(1000)))
        # valid magic bytes with absurd lengths and ids, too
        client.m.write(b"\xfd\xff\x00\x00\x00\x01\x01\xff\xff\xff" + b"\x00" * 50)
    fleet.advance(1.0)
    # the parser resynchronises: once a bogus 255-byte frame has been filled up and thrown
    # away (a handful of 44-byte commands), it answers again
    results = []
    while A not in results and len(results) < 10:
        results.append(client.command(176, 1, GUIDED, timeout=0.5))
    assert A in results
    assert fleet.vehicles[0].state.mode == "GUIDED"


def test_two_vehicles_keep_their_own_state():
    with Fleet.start([HANGZHOU, SECOND_HOME], speedup=20, base_tcp_port=0) as fleet:
        from tests.simulators.conftest import Client
        one, two = (Client(v.endpoint) for v in fleet.vehicles)
        try:
            assert (one.sysid, two.sysid) == (1, 2)
            for client in (one, two):
                assert client.set_mode(GUIDED) == A
                assert client.command(400, 1) == A
            assert one.command(22, 0, 0, 0, 0, 0, 0, 30) == A
            assert two.command(22, 0, 0, 0, 0, 0, 0, 10) == A
            deadline = time.monotonic() + 20
            states = [v.state for v in fleet.vehicles]
            while time.monotonic() < deadline and not all(
                    s.landed_state == "IN_AIR" for s in states):
                time.sleep(0.05)
                states = [v.state for v in fleet.vehicles]
            assert states[0].alt_rel_m == pytest.approx(30.0, abs=0.6)
            assert states[1].alt_rel_m == pytest.approx(10.0, abs=0.6)
            # vehicle 2 goes 200 m north with DO_REPOSITION (as MAVSDK's goto_location)
            lat, lon = LocalFrame(*SECOND_HOME).to_wgs84(0.0, 200.0)
            assert two.command_int(mav.MAV_CMD_DO_REPOSITION, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
                                   -1, 0, int(lat * 1e7), int(lon * 1e7), 10.0) == A
            assert one.command(20) == A  # vehicle 1 returns home
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and fleet.vehicles[1].state.north_m < 198.0:
                time.sleep(0.05)
            first, second = fleet.vehicles[0].state, fleet.vehicles[1].state
            assert second.north_m == pytest.approx(200.0, abs=2.0) and second.mode == "GUIDED"
            assert first.mode == "RTL" and math.hypot(first.east_m, first.north_m) < 2.0
            assert (first.home.lat, first.home.lon) == HANGZHOU
        finally:
            one.close()
            two.close()


def test_streams_follow_requests(stepped_fleet, clients):
    fleet = stepped_fleet(stream_hz=0)  # ArduCopter's own SRn_ defaults: every rate 0
    client = clients(fleet.vehicles[0].endpoint)
    fleet.advance(2.0)
    assert client.drain("GLOBAL_POSITION_INT") == []  # nothing but HEARTBEAT until asked
    client.m.mav.request_data_stream_send(client.sysid, 1, mav.MAV_DATA_STREAM_POSITION, 5, 1)
    assert client.command(mav.MAV_CMD_SET_MESSAGE_INTERVAL, mav.MAVLINK_MSG_ID_BATTERY_STATUS,
                          500_000) == A
    fleet.advance(10.0)
    got = client.drain(["GLOBAL_POSITION_INT", "BATTERY_STATUS", "ATTITUDE"])
    count = {t: sum(m.get_type() == t for m in got) for t in ("GLOBAL_POSITION_INT",
                                                               "BATTERY_STATUS", "ATTITUDE")}
    assert count == {"GLOBAL_POSITION_INT": pytest.approx(50, abs=1),  # 5 Hz for 10 s
                     "BATTERY_STATUS": pytest.approx(20, abs=1),  # every 0.5 s
                     "ATTITUDE": 0}  # EXTRA1 was never asked for
    client.m.mav.request_data_stream_send(client.sysid, 1, mav.MAV_DATA_STREAM_POSITION, 0, 0)
    assert client.command(mav.MAV_CMD_SET_MESSAGE_INTERVAL,
                          mav.MAVLINK_MSG_ID_BATTERY_STATUS, -1) == A
    fleet.advance(3.0)
    assert client.drain(["GLOBAL_POSITION_INT", "BATTERY_STATUS"]) == []


def test_default_stream_rate_needs_no_request(stepped_fleet, clients):
    fleet = stepped_fleet(stream_hz=2.0)
    client = clients(fleet.vehicles[0].endpoint)
    fleet.advance(5.0)
    positions = client.drain("GLOBAL_POSITION_INT")
    assert len(positions) == pytest.approx(10, abs=1)
    assert positions[-1].lat == pytest.approx(HANGZHOU[0] * 1e7, abs=100)  # ~1 m


def test_requested_one_off_messages(stepped_fleet, clients):
    fleet = stepped_fleet()
    client = clients(fleet.vehicles[0].endpoint)
    assert client.command(mav.MAV_CMD_GET_HOME_POSITION) == A
    home = client.recv("HOME_POSITION")
    assert (home.latitude, home.longitude, home.altitude) == (302741000, 1201551000, 10_000)
    assert client.command(mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, 1) == A
    caps = client.recv("AUTOPILOT_VERSION").capabilities
    for bit in (mav.MAV_PROTOCOL_CAPABILITY_MISSION_INT, mav.MAV_PROTOCOL_CAPABILITY_COMMAND_INT,
                mav.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT,
                mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2):
        assert caps & bit
    assert not caps & mav.MAV_PROTOCOL_CAPABILITY_FTP
    assert client.command(mav.MAV_CMD_REQUEST_MESSAGE, mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE) == A
    assert client.recv("EXTENDED_SYS_STATE").landed_state == mav.MAV_LANDED_STATE_ON_GROUND
    assert client.command(mav.MAV_CMD_REQUEST_MESSAGE, 9999) == F


def test_parameters_list_read_set(stepped_fleet, clients):
    fleet = stepped_fleet()
    client = clients(fleet.vehicles[0].endpoint)
    client.m.mav.param_request_list_send(client.sysid, 1)
    values = client.drain("PARAM_VALUE")
    assert {v.param_count for v in values} == {len(DEFAULT_PARAMS)}
    assert sorted(v.param_index for v in values) == list(range(len(DEFAULT_PARAMS)))
    by_name = {v.param_id: v.param_value for v in values}
    assert by_name["RTL_ALT"] == 1500 and by_name["SYSID_THISMAV"] == 1
    client.m.mav.param_request_read_send(client.sysid, 1, b"WPNAV_SPEED", -1)
    assert client.recv("PARAM_VALUE").param_value == 1200
    client.m.mav.param_request_read_send(client.sysid, 1, b"", 0)
    assert client.recv("PARAM_VALUE").param_id == DEFAULT_PARAMS[0].name
    assert client.set_param("RTL_ALT", 3000).param_value == 3000
    client.m.mav.param_request_read_send(client.sysid, 1, b"RTL_ALT", -1)
    assert client.recv("PARAM_VALUE").param_value == 3000


def test_unknown_parameter_set_gets_no_reply(stepped_fleet, clients):
    fleet = stepped_fleet()
    client = clients(fleet.vehicles[0].endpoint)
    client.m.mav.param_set_send(client.sysid, 1, b"NO_SUCH_PARAM", 1.0, 9)
    assert client.recv("PARAM_VALUE", timeout=1.0) is None


def test_gps_loss_shows_in_gps_raw_int(stepped_fleet, clients):
    fleet = stepped_fleet()
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    client.m.mav.request_data_stream_send(client.sysid, 1, mav.MAV_DATA_STREAM_EXTENDED_STATUS,
                                          1, 1)
    fleet.advance(1.0)
    assert client.recv("GPS_RAW_INT").fix_type == 3
    vehicle.lose_gps(20.0)
    fleet.advance(2.0)
    client.drain("GPS_RAW_INT")
    fleet.advance(1.0)
    raw = client.recv("GPS_RAW_INT")
    assert (raw.fix_type, raw.satellites_visible) == (1, 0)
    assert client.set_mode(GUIDED) == F  # GUIDED needs a position
    fleet.advance(20.0)
    assert client.set_mode(GUIDED) == A


def test_two_ground_stations_each_get_their_own_acks_and_both_see_the_heartbeat(stepped_fleet,
                                                                                clients):
    fleet = stepped_fleet(stream_hz=0)
    room = clients(fleet.vehicles[0].endpoint)  # system id 255
    laptop = clients(fleet.vehicles[0].endpoint, source_system=245)
    assert laptop.set_mode(LOITER) == A
    assert room.recv("HEARTBEAT", custom_mode=LOITER) is not None  # the change, told to all
    assert room.recv("COMMAND_ACK", timeout=0.5) is None  # the ACK went to the laptop alone
    assert room.set_mode(GUIDED) == A
    assert laptop.recv("COMMAND_ACK", timeout=0.5) is None
