"""What a ground station that asks for nothing sees: the SRn_ streams, health bits, GPS fix."""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from simulators.params import DEFAULT_PARAMS
from simulators.streams import GROUPS
from tests.simulators.conftest import HANGZHOU

A, F = mav.MAV_RESULT_ACCEPTED, mav.MAV_RESULT_FAILED
GUIDED = 4
# what MAVSDK reads as healthy: gyro, accel, mag calibrated; GPS for global and local position;
# the PREARM_CHECK bit for "armable" (telemetry_impl.cpp process_sys_status)
HEALTHY_BITS = (mav.MAV_SYS_STATUS_SENSOR_3D_GYRO | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL
                | mav.MAV_SYS_STATUS_SENSOR_3D_MAG | mav.MAV_SYS_STATUS_SENSOR_GPS
                | mav.MAV_SYS_STATUS_AHRS | mav.MAV_SYS_STATUS_PREARM_CHECK)
STREAMED = ("SYS_STATUS", "GPS_RAW_INT", "MISSION_CURRENT", "GLOBAL_POSITION_INT",
            "LOCAL_POSITION_NED", "ATTITUDE", "VFR_HUD", "SYSTEM_TIME", "BATTERY_STATUS",
            "EXTENDED_SYS_STATE")


def counts(messages: list, types=STREAMED) -> dict[str, int]:
    return {t: sum(m.get_type() == t for m in messages) for t in types}


def test_a_client_that_asks_nothing_gets_every_group_at_4_hz(stepped_fleet, clients):
    fleet = stepped_fleet()
    client = clients(fleet.vehicles[0].endpoint)
    fleet.advance(5.0)
    got = client.drain(list(STREAMED))
    # SRn_ default 4 Hz for 5 mission seconds: 20 of each, one either way for the phase
    assert counts(got) == {t: pytest.approx(20, abs=1) for t in STREAMED}
    status = next(m for m in got if m.get_type() == "SYS_STATUS")
    for field in ("onboard_control_sensors_present", "onboard_control_sensors_enabled",
                  "onboard_control_sensors_health"):
        assert getattr(status, field) & HEALTHY_BITS == HEALTHY_BITS, field
    gps = next(m for m in got if m.get_type() == "GPS_RAW_INT")
    assert (gps.fix_type, gps.satellites_visible) == (3, 14)
    position = [m for m in got if m.get_type() == "GLOBAL_POSITION_INT"][-1]
    assert position.lat == pytest.approx(HANGZHOU[0] * 1e7, abs=100)  # ~1 m


def test_the_sr_parameters_are_arducopters_and_set_the_rates_of_new_connections(
        stepped_fleet, clients):
    fleet = stepped_fleet()
    first = clients(fleet.vehicles[0].endpoint)
    names = {spec.name: spec.default for spec in DEFAULT_PARAMS}
    for link in (0, 1):
        for group in GROUPS:
            expected = 0 if group.suffix == "PARAMS" else 4
            assert names[f"SR{link}_{group.suffix}"] == expected
    assert first.set_param("SR0_POSITION", 10).param_value == 10
    assert first.set_param("SR0_EXTRA1", 0).param_value == 0
    second = clients(fleet.vehicles[0].endpoint)
    fleet.advance(5.0)
    types = ("GLOBAL_POSITION_INT", "ATTITUDE", "VFR_HUD")
    new = counts(second.drain(list(types)), types)
    old = counts(first.drain(list(types)), types)
    # the new connection: POSITION at 10 Hz (one per 0.1 s physics step), no EXTRA1, EXTRA2 4 Hz
    assert new == {"GLOBAL_POSITION_INT": pytest.approx(50, abs=1), "ATTITUDE": 0,
                   "VFR_HUD": pytest.approx(20, abs=1)}
    # the one already open keeps the rates it started with (ArduPilot: until a reboot)
    assert old == {t: pytest.approx(20, abs=1) for t in types}


def test_asked_rates_override_and_zero_interval_returns_to_the_sr_rate(stepped_fleet, clients):
    fleet = stepped_fleet()
    client = clients(fleet.vehicles[0].endpoint)
    client.m.mav.request_data_stream_send(client.sysid, 1, mav.MAV_DATA_STREAM_ALL, 0, 0)
    assert client.command(mav.MAV_CMD_SET_MESSAGE_INTERVAL, mav.MAVLINK_MSG_ID_VFR_HUD,
                          500_000) == A
    fleet.advance(4.0)
    assert counts(client.drain(list(STREAMED)), ("VFR_HUD", "SYS_STATUS")) == \
        {"VFR_HUD": pytest.approx(8, abs=1), "SYS_STATUS": 0}  # 2 Hz; the rest stopped
    # interval 0 means "the default": SR0_EXT_STAT's 4 Hz again for SYS_STATUS
    assert client.command(mav.MAV_CMD_SET_MESSAGE_INTERVAL, mav.MAVLINK_MSG_ID_SYS_STATUS,
                          0) == A
    fleet.advance(4.0)
    assert counts(client.drain(["SYS_STATUS"]), ("SYS_STATUS",)) == \
        {"SYS_STATUS": pytest.approx(16, abs=1)}


def test_prearm_clears_once_the_gps_has_its_fix(stepped_fleet, clients):
    fleet = stepped_fleet(params={"SIM_GPS_LCKTIME": 5})
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    fleet.advance(1.0)
    status = client.recv("SYS_STATUS")
    assert status.onboard_control_sensors_present & HEALTHY_BITS == HEALTHY_BITS
    unhealthy = HEALTHY_BITS & ~status.onboard_control_sensors_health
    assert unhealthy == (mav.MAV_SYS_STATUS_SENSOR_GPS | mav.MAV_SYS_STATUS_AHRS
                         | mav.MAV_SYS_STATUS_PREARM_CHECK)
    assert client.recv("GPS_RAW_INT").fix_type == 1
    assert client.set_mode(GUIDED) == F  # a position mode needs a position
    fleet.advance(4.5)  # past SIM_GPS_LCKTIME
    client.drain(["SYS_STATUS", "GPS_RAW_INT"])
    fleet.advance(0.5)
    assert client.recv("SYS_STATUS").onboard_control_sensors_health & HEALTHY_BITS == \
        HEALTHY_BITS
    assert client.recv("GPS_RAW_INT").fix_type == 3
    assert "GPS 1: detected 3D fix" in client.texts()
    assert "GPS 1: lost fix" not in client.texts()  # it never had one to lose
    assert client.set_mode(GUIDED) == A
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == A


@pytest.mark.parametrize("msg_id, result, reply", [
    (mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION, A, "AUTOPILOT_VERSION"),
    (mav.MAVLINK_MSG_ID_HOME_POSITION, A, "HOME_POSITION"),
    (mav.MAVLINK_MSG_ID_FENCE_STATUS, A, None),  # known, but not sent with the fence off
    (9999, F, None),
])
def test_request_message_answers_known_messages(stepped_fleet, clients, msg_id, result, reply):
    fleet = stepped_fleet(stream_hz=0)
    client = clients(fleet.vehicles[0].endpoint)
    assert client.command(mav.MAV_CMD_REQUEST_MESSAGE, msg_id) == result
    got = client.recv(reply or "FENCE_STATUS", timeout=0.5)
    assert (got.get_type() if got else None) == reply
