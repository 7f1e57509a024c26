"""Two ground stations on one copter, as a control room and a field laptop would be.

The control room is flyonce (``DroneLink``/``Dispatcher``, pymavlink, system id 255); the field
laptop is MAVSDK (its own C++ MAVLink stack, system id 245), both over real TCP to the same
simulated copter, at 10x. Each sees the same vehicle; a mode MAVSDK sets is told apart from a
failsafe or a fence breach.
"""

from __future__ import annotations

import asyncio
import math

import pytest
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.telemetry import FlightMode, TelemetryAsync
from pymavlink.dialects.v20 import ardupilotmega as mav

from dispatch.errors import MissionAborted, ModeOverridden
from dispatch.planner import Incident
from geofence import LocalFrame
from simulators.streams import STREAMABLE
from tests.dispatch.layouts import ORIGIN
from tests.dispatch.test_dispatcher import BEIYUAN, TOWN, make_dispatcher, ready, until
from tests.dispatch.test_link import connected
from tests.mavsdk_gcs import mavsdk_system
from tests.simulators.conftest import Client

FRAME = LocalFrame(*ORIGIN)


def run(coro, wall_s: float = 90.0):
    return asyncio.run(asyncio.wait_for(coro, wall_s))


def test_drone_link_flies_while_mavsdk_watches_and_then_takes_over(sim_fleet):
    fleet = sim_fleet([ORIGIN])
    vehicle = fleet.vehicles[0]
    goal = tuple(map(float, FRAME.to_wgs84(300.0, 0.0)))

    async def main():
        async with mavsdk_system(vehicle.endpoint) as system:
            laptop, laptop_action = TelemetryAsync(system), ActionAsync(system)
            link = await connected(fleet)
            await link.set_mode("GUIDED")
            await link.arm()
            await link.takeoff(20.0)
            while (link.telemetry.alt_rel_m or 0.0) < 19.0:
                await link.wait_update()
            ours = await link.fly_route([goal], alt_rel_m=20.0, arrival_radius_m=2.0)
            await asyncio.sleep(0.3)  # a few of MAVSDK's 4 Hz positions
            theirs = await laptop.position()
            their_mode, their_armed = await laptop.flight_mode(), await laptop.armed()
            link.check_flying("GUIDED")  # nobody else has touched it yet: no error
            # the field laptop holds the copter where it is (MAVSDK 4.1's hold on ArduCopter:
            # BRAKE, read from the heartbeat both stations receive)
            await laptop_action.hold()
            while link.telemetry.mode == "GUIDED":
                await link.wait_update()
            with pytest.raises(ModeOverridden) as taken:
                link.check_flying("GUIDED")
            await link.close()
            return ours, theirs, their_mode, their_armed, taken.value

    ours, theirs, their_mode, their_armed, taken = run(main())
    assert ours.distance_m(*goal) <= 2.0
    # both stations read the same copter: the same place within the estimate's noise
    assert ours.distance_m(theirs.latitude_deg, theirs.longitude_deg) < 4.0
    assert theirs.relative_altitude_m == pytest.approx(20.0, abs=1.0)
    assert their_mode == FlightMode.OFFBOARD  # MAVSDK's name for ArduCopter's GUIDED
    assert their_armed is True
    assert (taken.mode_from, taken.mode_to) == ("GUIDED", "BRAKE")
    assert "another ground station switched it from GUIDED to BRAKE" in taken.reason
    state = vehicle.state
    assert state.mode == "BRAKE" and state.landed_state == "IN_AIR"


def test_drone_link_turns_off_on_its_own_link_only_what_it_never_reads(sim_fleet):
    fleet = sim_fleet([ORIGIN])
    laptop = Client(fleet.vehicles[0].endpoint, source_system=245)  # asks for nothing

    async def main():
        link = await connected(fleet)
        with fleet._lock:  # [laptop's connection, the link's]: what each is sent, in Hz
            rates = [{msg_id: 1 / interval_s for msg_id, interval_s in c.intervals_s.items()}
                     for c in fleet._endpoints[0].channels]
        await link.close()
        return rates

    try:
        laptop_hz, link_hz = run(main())
    finally:
        laptop.close()
    # the link: GLOBAL_POSITION_INT at its 5 Hz; SYS_STATUS (battery), EXTENDED_SYS_STATE and
    # FENCE_STATUS at 1 Hz; HEARTBEAT; none of the SR0_ groups it never reads
    assert link_hz == pytest.approx({
        mav.MAVLINK_MSG_ID_HEARTBEAT: 1.0, mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 5.0,
        mav.MAVLINK_MSG_ID_SYS_STATUS: 1.0, mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: 1.0,
        mav.MAVLINK_MSG_ID_FENCE_STATUS: 1.0})
    # the laptop's connection keeps every SR0_ group at 4 Hz
    assert {laptop_hz[m] for m in STREAMABLE} == {4.0}


def test_a_fence_breach_is_the_autopilots_doing_not_a_takeover(sim_fleet):
    # a 100 m circle round home; the route goes to 150 m
    fleet = sim_fleet([ORIGIN], params={"FENCE_ENABLE": 1, "FENCE_TYPE": 2,
                                        "FENCE_RADIUS": 100})
    goal = tuple(map(float, FRAME.to_wgs84(150.0, 0.0)))

    async def main():
        link = await connected(fleet)
        await link.set_mode("GUIDED")
        await link.arm()
        await link.takeoff(20.0)
        while (link.telemetry.alt_rel_m or 0.0) < 19.0:
            await link.wait_update()
        with pytest.raises(MissionAborted) as aborted:
            await link.fly_route([goal], alt_rel_m=20.0)
        await link.close()
        return aborted.value

    aborted = run(main())
    assert not isinstance(aborted, ModeOverridden)
    assert aborted.reason == "fence breach (Circle fence breached), now in RTL"


def test_the_dispatcher_hands_a_taken_drone_over_and_sends_the_next_best(sim_fleet):
    fleet = sim_fleet(TOWN.docks)
    northeast = fleet.vehicles[1]
    updates: list = []

    async def main():
        async with mavsdk_system(northeast.endpoint) as system:
            laptop = ActionAsync(system)
            dispatcher = make_dispatcher(fleet, updates)
            await ready(dispatcher)
            await dispatcher.dispatch(Incident("beiyuan", *BEIYUAN, target_s=180.0))
            await until(updates, "assigned", "dock-northeast")
            # well up and on its way: "en_route" starts 0.5 m off the ground, where a copter
            # held in BRAKE could settle, disarm and be offered again before it is read as held
            while dispatcher.missions["beiyuan"].stage != "en_route" or \
                    (northeast.state.alt_rel_m or 0.0) < 10.0:
                await asyncio.sleep(0.02)
            taken_at = fleet.clock.now()
            await laptop.hold()  # the field laptop stops it where it is (BRAKE)
            overridden = await until(updates, "overridden")
            on_scene = await until(updates, "on_scene", wall_s=60)
            held = {v.id: v for v in dispatcher.drones()}["dock-northeast"]
            mode_while_held = northeast.state.mode
            # the laptop lands it; once down and disarmed the drone is offered again
            await laptop.land()
            for _ in range(3000):
                view = {v.id: v for v in dispatcher.drones()}["dock-northeast"]
                if view.available:
                    break
                await asyncio.sleep(0.02)
            await dispatcher.stop()
            return taken_at, overridden, on_scene, held, mode_while_held, view

    taken_at, overridden, on_scene, held, mode_while_held, back = run(main(), wall_s=120)
    kinds = [(u.kind, u.drone_id) for u in updates]
    assert kinds[:5] == [("assigned", "dock-northeast"), ("overridden", "dock-northeast"),
                         ("replaced", "dock-northeast"), ("assigned", "dock-west"),
                         ("on_scene", "dock-west")]
    assert (overridden.mode_from, overridden.mode_to) == ("GUIDED", "BRAKE")
    assert "another ground station switched it from GUIDED to BRAKE" in overridden.reason
    # noticed on the mode change's own heartbeat: within a watch tick (0.2 mission s at 10x)
    # plus scheduling slack, well before the next 1 Hz heartbeat
    assert (overridden.at - taken_at).total_seconds() < 1.0
    replaced = updates[2]
    assert replaced.reason == ("dock-northeast: taken over by another ground station "
                               "(GUIDED to BRAKE); sending dock-west")
    # never fought: no RTL was sent, it stayed where the laptop held it
    assert mode_while_held == "BRAKE"
    assert not held.available and "taken over by another ground station" in held.reason
    assert back.available and back.telemetry.landed_state == "ON_GROUND"
    state = northeast.state
    assert state.mode == "LAND" and not state.armed
    assert math.isfinite(state.north_m)
