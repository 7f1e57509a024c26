"""DroneLink against simulated copters over real TCP: telemetry, verbs, refusals, missions."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dispatch.errors import CommandRejected, LinkError
from dispatch.link import DroneLink, LinkGroup
from geofence import LocalFrame
from tests.dispatch.conftest import SPEEDUP
from tests.dispatch.layouts import ORIGIN

FRAME = LocalFrame(*ORIGIN)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def connected(fleet, index=0) -> DroneLink:
    link = DroneLink(fleet.vehicles[index].endpoint, drone_id=f"d{index}", clock=fleet.clock)
    await link.connect(timeout_s=5)
    for _ in range(40):  # until position and battery have arrived
        t = await link.wait_update(0.5)
        if t.battery_pct is not None and t.lat is not None and t.landed_state != "UNDEFINED":
            break
    return link


def test_telemetry_matches_the_vehicle(sim_fleet):
    fleet = sim_fleet([ORIGIN])

    async def main():
        link = await connected(fleet)
        t = link.telemetry
        truth = fleet.vehicles[0].state
        await link.close()
        return t, truth

    t, truth = run(main())
    assert (t.mode, t.armed, t.landed_state, t.system_status) == \
        ("STABILIZE", False, "ON_GROUND", "STANDBY")
    assert t.distance_m(truth.lat, truth.lon) < 3.0  # estimate error is ~0.3 m
    assert t.battery_pct == pytest.approx(100.0, abs=1.0)
    assert t.alt_rel_m == pytest.approx(0.0, abs=0.5)


def test_streams_are_asked_the_old_way_when_set_message_interval_goes_unacknowledged(
        sim_fleet):
    # With no time at all to wait (asyncio.wait_for with 0 s gives up before the loop can run
    # the reader thread's callback), every SET_MESSAGE_INTERVAL "times out",
    # as on a loaded link. The link must still get battery and position (REQUEST_DATA_STREAM),
    # or a drone whose heartbeats arrive would never be reconnected nor ever be available.
    # ArduCopter's own stream defaults (HEARTBEAT only until asked): what arrives was asked for.
    fleet = sim_fleet([ORIGIN], stream_hz=0)

    async def main():
        link = DroneLink(fleet.vehicles[0].endpoint, drone_id="d0", clock=fleet.clock,
                         ack_timeout_s=0.0)
        await link.connect(timeout_s=5)
        for _ in range(40):
            t = await link.wait_update(0.5)
            if t.battery_pct is not None and t.lat is not None:
                break
        await link.close()
        return link.telemetry

    # a handler on the link's own logger: other tests may stop "flyonce" propagating to the root
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append
    logger = logging.getLogger("flyonce.dispatch.link")
    logger.addHandler(handler)
    try:
        t = run(main())
    finally:
        logger.removeHandler(handler)
    assert any("asking for its streams with REQUEST_DATA_STREAM" in r.getMessage() for r in warnings)
    assert t.battery_pct == pytest.approx(100.0, abs=1.0)
    assert t.distance_m(*ORIGIN[:2]) < 3.0


def test_takeoff_and_goto_reach_the_commanded_point(sim_fleet):
    fleet = sim_fleet([ORIGIN])
    goal = FRAME.to_wgs84(400.0, 0.0)

    async def main():
        link = await connected(fleet)
        await link.set_mode("GUIDED")
        await link.arm()
        await link.takeoff(20.0)
        while (link.telemetry.alt_rel_m or 0) < 19.0:
            await link.wait_update()
        start_s = fleet.clock.elapsed_s()
        t = await link.fly_route([goal], alt_rel_m=20.0, arrival_radius_m=2.0)
        flown_s = fleet.clock.elapsed_s() - start_s
        await link.return_to_launch()
        mode = (await link.wait_update()).mode
        await link.close()
        return t, flown_s, mode

    t, flown_s, mode = run(main())
    assert t.distance_m(*goal) <= 2.0
    # 400 m from rest with a stop: 400/12 + 12/2.5 = 38.1 s (mission time)
    assert flown_s == pytest.approx(400 / 12 + 12 / 2.5, rel=0.10)
    assert mode == "RTL"


@pytest.mark.parametrize(
    ("setup", "verb", "result", "text"),
    [
        ("refuse_arm", "arm", "FAILED", "PreArm: Fault injected"),
        ("", "takeoff", "FAILED", "not armed"),
        ("", "goto", "FAILED", "take off first"),  # DO_REPOSITION on the ground
    ],
)
def test_refusals_raise_with_the_autopilot_result(sim_fleet, setup, verb, result, text):
    fleet = sim_fleet([ORIGIN])
    if setup:
        getattr(fleet.vehicles[0], setup)()

    async def main():
        link = await connected(fleet)
        await link.set_mode("GUIDED")
        try:
            if verb == "arm":
                await link.arm()
            elif verb == "takeoff":
                await link.takeoff(20.0)
            else:
                await link.goto(*ORIGIN, 20.0)
        finally:
            await asyncio.sleep(0.1)  # let the STATUSTEXT that follows the ACK arrive
            await link.close()

    with pytest.raises(CommandRejected) as info:
        run(main())
    assert info.value.result == result
    assert info.value.command == verb


def test_mission_upload_runs_in_auto_and_returns(sim_fleet):
    fleet = sim_fleet([ORIGIN])
    square = [FRAME.to_wgs84(e, n) for e, n in ((100, 0), (100, 100), (0, 100))]

    async def main():
        link = await connected(fleet)
        count = await link.upload_mission(square, alt_rel_m=20.0)
        await link.set_mode("GUIDED")
        await link.arm()
        await link.start_mission()
        seen = set()
        for _ in range(2000):
            t = await link.wait_update()
            seen.add(t.mode)
            if t.mode == "RTL" or "Mission complete" in link.texts:
                break
        await link.close()
        return count, seen, fleet.vehicles[0].state

    count, seen, state = run(main())
    assert count == 1 + 1 + 3 + 1  # home, takeoff, three waypoints, RTL
    assert "AUTO" in seen
    assert state.mission_count == count


@pytest.mark.parametrize(
    ("dropped", "lost"),
    [
        ((0,), (True, False)),  # one drone silent while the other talks: that drone is lost
        ((0, 1), (False, False)),  # both silent at once: the silence is ours, nobody is lost
    ],
)
def test_a_silent_drone_is_lost_unless_every_drone_is_silent(sim_fleet, dropped, lost):
    fleet = sim_fleet([ORIGIN, FRAME.to_wgs84(500.0, 0.0)])
    group = LinkGroup()

    async def main():
        links = [DroneLink(v.endpoint, drone_id=f"d{i}", clock=fleet.clock, group=group)
                 for i, v in enumerate(fleet.vehicles)]
        for link in links:
            await link.connect(timeout_s=5)
        assert all(link.alive() for link in links)
        for i in dropped:
            fleet.vehicles[i].drop_link(30.0)
        for _ in range(200):
            await links[0].wait_update(0.05)
            if not links[0].alive():
                break
        gone_s = links[0].telemetry.heartbeat_age_s(fleet.clock.now())
        verdict = tuple(link.lost() for link in links)
        for link in links:
            await link.close()
        return gone_s, verdict

    gone_s, verdict = run(main())
    # not alive once the last heartbeat (1 Hz) is over 3 mission seconds old and over the
    # link's 1 s floor of wall time (SPEEDUP mission seconds); whichever is longer, plus at most
    # a poll (0.05 s of wall time) and some scheduling jitter
    floor_s = max(3.0, 1.0 * SPEEDUP)
    assert floor_s < gone_s < floor_s + 2.5
    assert verdict == lost


@pytest.mark.parametrize("url", ["tcp:127.0.0.1:1", "nonsense"])
def test_an_unreachable_drone_raises_a_link_error(url):
    async def main():
        await DroneLink(url, drone_id="x").connect(timeout_s=1.0)

    with pytest.raises(LinkError) as info:
        run(main())
    assert url in str(info.value) and info.value.drone_id == "x"
