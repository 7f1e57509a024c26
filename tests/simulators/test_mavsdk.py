"""MAVSDK, a ground station cities already use, flies a simulated copter without being told it is one.

MAVSDK asks for no telemetry on ArduPilot: it reads health from the SYS_STATUS the vehicle
streams unasked (SR0_EXT_STAT), position from GLOBAL_POSITION_INT (SR0_POSITION), and asks
for HOME_POSITION and AUTOPILOT_VERSION itself. Times are mission seconds at a 10x speed-up;
arrival tolerances are those of the pymavlink tests (test_mavlink_flight.py).
"""

from __future__ import annotations

import asyncio
import math

import pytest
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.mission_raw import MissionItem, MissionRawAsync
from mavsdk.asyncio.plugins.param import ParamAsync
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync
from pymavlink.dialects.v20 import ardupilotmega as mav

from geofence.frame import LocalFrame
from simulators.clock import SimClock
from simulators.fleet import Fleet
from tests.mavsdk_gcs import MAVSDK_LOG, mavsdk_system, until
from tests.simulators.conftest import HANGZHOU
from tests.simulators.test_mavlink_flight import ACCEL, ACCEL_Z, CLIMB, CRUISE, leg_time_s

SPEEDUP = 10.0
HOME_AMSL_M = 10.0  # Fleet.start's default home altitude
FRAME = LocalFrame(*HANGZHOU)
REL = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


@pytest.fixture
def fleet():
    with Fleet.start([HANGZHOU], clock=SimClock(SPEEDUP), base_tcp_port=0) as started:
        yield started


def health_ok(health) -> bool:
    return all(getattr(health, f) for f in (
        "is_gyrometer_calibration_ok", "is_accelerometer_calibration_ok",
        "is_magnetometer_calibration_ok", "is_local_position_ok", "is_global_position_ok",
        "is_home_position_ok", "is_armable"))


async def healthy(telemetry: TelemetryAsync) -> None:
    for _ in range(100):
        if health_ok(await telemetry.health()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"MAVSDK never saw the copter healthy: {await telemetry.health()} "
                         f"{MAVSDK_LOG[-5:]}")


def raw_item(seq: int, command: int, lat: float = 0.0, lon: float = 0.0, alt_m: float = 0.0,
             frame: int = REL, param1: float = 0.0, mission_type: int = 0) -> MissionItem:
    return MissionItem(seq=seq, frame=frame, command=command, current=int(seq == 0),
                       autocontinue=1, param1=param1, x=int(round(lat * 1e7)),
                       y=int(round(lon * 1e7)), z=alt_m, mission_type=mission_type)


def test_mavsdk_arms_takes_off_goes_to_a_point_and_returns(fleet):
    vehicle = fleet.vehicles[0]
    clock = fleet.clock

    async def main():
        async with mavsdk_system(vehicle.endpoint) as system:
            telemetry, action = TelemetryAsync(system), ActionAsync(system)
            await healthy(telemetry)
            home = await telemetry.home()
            assert (home.latitude_deg, home.longitude_deg, home.absolute_altitude_m) == \
                pytest.approx((*HANGZHOU, HOME_AMSL_M), abs=1e-6)
            await action.arm()
            await action.set_takeoff_altitude(20.0)
            t0 = clock.elapsed_s()
            await action.takeoff()  # MAVSDK: GUIDED, then NAV_TAKEOFF param7 = 20
            await until(lambda: vehicle.state.landed_state == "IN_AIR", 30, "at 20 m")
            climb_s = clock.elapsed_s() - t0
            climbed = vehicle.state
            assert climbed.mode == "GUIDED"
            # 200 m north at 20 m above home, given AMSL as goto_location takes it
            lat, lon = FRAME.to_wgs84(0.0, 200.0)
            t1 = clock.elapsed_s()
            await action.goto_location(lat, lon, HOME_AMSL_M + 20.0, 0.0)
            await until(lambda: math.hypot(vehicle.state.east_m, vehicle.state.north_m - 200.0)
                        < 2.0, 40, "200 m north")
            goto_s = clock.elapsed_s() - t1
            await asyncio.sleep(0.3)  # a few 4 Hz positions at 10x
            seen = await telemetry.position()
            arrived = vehicle.state
            await action.return_to_launch()
            await until(lambda: not vehicle.state.armed, 60, "landed and disarmed at home")
            landed = vehicle.state
            # MAVSDK's own landed reading (EXTENDED_SYS_STATE, 4 Hz: 25 ms of wall time)
            for _ in range(50):
                if not await telemetry.in_air():
                    break
                await asyncio.sleep(0.02)
            in_air = await telemetry.in_air()
            return climb_s, climbed, goto_s, seen, arrived, landed, in_air

    climb_s, climbed, goto_s, seen, arrived, landed, in_air = run(main())
    assert climbed.alt_rel_m == pytest.approx(20.0, abs=0.6)
    assert climb_s == pytest.approx(leg_time_s(20.0, CLIMB, ACCEL_Z), rel=0.15)  # 10.5 s
    assert goto_s == pytest.approx(leg_time_s(200.0, CRUISE, ACCEL), rel=0.15)  # 21.5 s
    assert arrived.mode == "GUIDED" and arrived.alt_rel_m == pytest.approx(20.0, abs=0.6)
    # what MAVSDK read from GLOBAL_POSITION_INT agrees with the truth (estimate error ~0.3 m)
    east, north = FRAME.to_local(seen.latitude_deg, seen.longitude_deg)
    assert math.hypot(east, north - 200.0) < 4.0
    assert seen.relative_altitude_m == pytest.approx(20.0, abs=1.0)
    assert landed.mode == "RTL" and landed.landed_state == "ON_GROUND"
    assert math.hypot(landed.east_m, landed.north_m) < 2.0
    assert in_air is False


def test_mavsdk_uploads_and_flies_a_four_waypoint_mission(fleet):
    vehicle = fleet.vehicles[0]
    corners = [(100, 0), (100, 100), (0, 100), (0, 0)]

    async def main():
        async with mavsdk_system(vehicle.endpoint) as system:
            telemetry, action = TelemetryAsync(system), ActionAsync(system)
            mission = MissionRawAsync(system)
            await healthy(telemetry)
            # ArduPilot's item 0 is home (as MAVSDK's own QGC-plan import adds for ArduPilot)
            items = [raw_item(0, mav.MAV_CMD_NAV_WAYPOINT, *HANGZHOU, 0.0,
                              frame=mav.MAV_FRAME_GLOBAL_INT)]
            items.append(raw_item(1, mav.MAV_CMD_NAV_TAKEOFF, alt_m=15.0))
            items += [raw_item(2 + i, mav.MAV_CMD_NAV_WAYPOINT, *FRAME.to_wgs84(e, n), 15.0)
                      for i, (e, n) in enumerate(corners)]
            items.append(raw_item(6, mav.MAV_CMD_NAV_RETURN_TO_LAUNCH))
            await mission.upload_mission(items)
            back = await mission.download_mission()
            await action.arm()
            await mission.start_mission()  # MAVSDK: AUTO
            await until(lambda: vehicle.state.mode == "AUTO", 5, "AUTO")
            await until(lambda: not vehicle.state.armed, 90, "mission flown and landed")
            for _ in range(50):  # MAVSDK's own reading of MISSION_CURRENT's mission_state
                if await mission.is_mission_finished():
                    break
                await asyncio.sleep(0.02)
            progress = await mission.mission_progress()
            finished = await mission.is_mission_finished()
            return items, back, progress, finished

    items, back, progress, finished = run(main())
    assert [(i.command, i.x, i.y) for i in back[1:]] == [(i.command, i.x, i.y) for i in items[1:]]
    assert (back[0].x, back[0].y) == (items[0].x, items[0].y)  # home
    state = vehicle.state
    assert math.hypot(state.east_m, state.north_m) < 2.0 and state.alt_rel_m == 0.0
    assert finished is True
    assert (progress.current, progress.total) == (7, 7)  # every item done


def test_mavsdk_fence_and_rally_points_round_trip_and_the_fence_is_enforced(fleet):
    vehicle = fleet.vehicles[0]
    square = [(-100, -100), (100, -100), (100, 100), (-100, 100)]

    async def main():
        async with mavsdk_system(vehicle.endpoint) as system:
            telemetry, action = TelemetryAsync(system), ActionAsync(system)
            mission, params = MissionRawAsync(system), ParamAsync(system)
            await healthy(telemetry)
            fence = [raw_item(i, 5001, *FRAME.to_wgs84(e, n), param1=4, mission_type=1)
                     for i, (e, n) in enumerate(square)]
            await mission.upload_geofence(fence)
            rally = [raw_item(0, mav.MAV_CMD_NAV_RALLY_POINT, *FRAME.to_wgs84(0.0, 80.0), 20.0,
                              mission_type=2)]
            await mission.upload_rally_points(rally)
            fence_back = await mission.download_geofence()
            rally_back = await mission.download_rallypoints()
            await params.set_param_int("FENCE_ENABLE", 1)
            enabled = await params.get_param_int("FENCE_ENABLE")
            await action.arm()
            await action.set_takeoff_altitude(20.0)
            await action.takeoff()
            await until(lambda: vehicle.state.landed_state == "IN_AIR", 30, "at 20 m")
            lat, lon = FRAME.to_wgs84(0.0, 150.0)  # past the fence's northern edge
            await action.goto_location(lat, lon, HOME_AMSL_M + 20.0, 0.0)
            await until(lambda: vehicle.state.mode == "RTL", 30, "fence breach -> RTL")
            breached_at = vehicle.state
            await until(lambda: not vehicle.state.armed, 60, "landed")
            return fence, fence_back, rally_back, enabled, breached_at

    fence, fence_back, rally_back, enabled, breached_at = run(main())
    assert [(i.command, i.param1, i.x, i.y) for i in fence_back] == \
        [(i.command, i.param1, i.x, i.y) for i in fence]
    assert [(i.command, i.z) for i in rally_back] == [(mav.MAV_CMD_NAV_RALLY_POINT, 20.0)]
    assert enabled == 1
    # turned back at the edge (north = 100 m). The state is read by a 20 ms wall poll after the
    # mode flips: 0.1-0.2 mission s late at SPEEDUP, up to twice that on a loaded CI run, at the
    # 12 m/s cruise: up to 4.8 m further north (a loaded run once read 102.4 m)
    assert 98.5 <= breached_at.north_m <= 100.0 + 12.0 * 0.4
    landed = vehicle.state
    # RTL went to the rally point (20 m from the breach) rather than home (100 m)
    assert math.hypot(landed.east_m, landed.north_m - 80.0) < 2.0
