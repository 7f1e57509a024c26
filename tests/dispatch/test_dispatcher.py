"""The dispatcher flying simulated copters over the sample town, over real TCP, sped up.

The sample town's docks are west, northeast and south of the centre; the south dock's way to
the Nanyuan block passes a no-fly school (route 714 m with two turns, against 1789 m and
1981 m from the other docks), and the Beiyuan block is 964 m from the northeast dock in a
straight line (1766 m from the west dock, 2101 m from the south one).
"""

from __future__ import annotations

import asyncio

import pytest
import shapely

from dispatch.dispatcher import Dispatcher
from dispatch.fleet import FleetEntry
from dispatch.planner import Incident, Planner
from geofence import Router, sample_town
from tests.dispatch.conftest import SPEEDUP, drain_battery

TOWN = sample_town()
DOCK_IDS = [d.id for d in TOWN.docks]  # dock-west, dock-northeast, dock-south
NANYUAN = (29.4941, 120.9062)
BEIYUAN = (29.5068, 120.9046)


def make_dispatcher(fleet, updates: list) -> Dispatcher:
    entries = [FleetEntry(d.id, v.endpoint, d.lat, d.lon) for d, v in zip(TOWN.docks, fleet.vehicles)]
    planner = Planner(Router(TOWN.zones, TOWN.frame), TOWN.docks)
    return Dispatcher(entries, planner, clock=fleet.clock, on_update=updates.append)


async def ready(dispatcher: Dispatcher) -> None:
    assert await dispatcher.start(connect_timeout_s=5) == {}
    for _ in range(100):
        if all(v.available for v in dispatcher.drones()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError([v.reason for v in dispatcher.drones()])


async def until(updates: list, kind: str, drone_id: str | None = None, wall_s: float = 30.0):
    for _ in range(int(wall_s / 0.02)):
        for u in updates:
            if u.kind == kind and (drone_id is None or u.drone_id == drone_id):
                return u
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} update for {drone_id}: {updates}")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


def test_the_south_drone_detours_round_the_school_and_arrives_on_its_eta(sim_fleet):
    fleet = sim_fleet(TOWN.docks)
    updates: list = []
    track: list = []

    async def record(stop: asyncio.Event) -> None:
        while not stop.is_set():
            state = fleet.vehicles[2].state
            track.append((state.lon, state.lat))
            await asyncio.sleep(0.01)

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        stop = asyncio.Event()
        recorder = asyncio.create_task(record(stop))
        t0 = fleet.clock.now()
        incident = Incident("nanyuan", *NANYUAN, target_s=TOWN.zones.target_s(*NANYUAN))
        assignment = await dispatcher.dispatch(incident)
        on_scene = await until(updates, "on_scene")
        await dispatcher.release("nanyuan")
        stop.set()
        await recorder
        await dispatcher.stop()
        return assignment, (on_scene.at - t0).total_seconds()

    assignment, arrived_s = run(main())
    option = assignment.option
    assert option.drone_id == "dock-south"
    assert option.corners == 2 and option.route_length_m == pytest.approx(714, abs=2)
    assert not assignment.at_risk  # ~80 s against the residential 180 s
    assert arrived_s == pytest.approx(option.eta_s, rel=0.10)
    assert [u.kind for u in updates] == ["assigned", "on_scene", "released"]
    assert all(u.drone_id == "dock-south" for u in updates)
    # the flown track never enters a no-fly zone (true positions, every ~0.25 mission s)
    assert len(track) > 100
    line = shapely.LineString(track)
    for zone in TOWN.zones.no_fly:
        assert not zone.geometry.intersects(line), zone.name


def test_a_link_dropped_mid_flight_sends_the_next_best_drone(sim_fleet):
    fleet = sim_fleet(TOWN.docks)
    updates: list = []

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        incident = Incident("beiyuan", *BEIYUAN, target_s=180.0)
        first = await dispatcher.dispatch(incident)
        await until(updates, "assigned")
        while dispatcher.missions["beiyuan"].stage != "en_route":
            await asyncio.sleep(0.02)
        dropped_at = fleet.clock.now()
        fleet.vehicles[1].drop_link(600.0)
        replaced = await until(updates, "replaced")
        on_scene = await until(updates, "on_scene", wall_s=60)
        views = {v.id: v for v in dispatcher.drones()}
        await dispatcher.stop()
        return first, (replaced.at - dropped_at).total_seconds(), replaced, on_scene, views

    first, noticed_s, replaced, on_scene, views = run(main())
    assert first.option.drone_id == "dock-northeast"
    # Lost once the last heartbeat is 3 mission seconds and 1 wall second old (the link's floor
    # against scheduling stalls): at 10x the wall second, 10 mission seconds, is the longer.
    # Heartbeats come at 1 Hz (0.1 s of wall time), so the last one was 0-1 s before the drop:
    # noticed 9-10 s after it, plus a watch tick (0.02 s wall = 0.2 s) and some scheduling slack.
    assert SPEEDUP == 10.0
    assert 9.0 <= noticed_s <= 10.8
    assert replaced.drone_id == "dock-northeast" and "heartbeat" in replaced.reason
    assert "sending dock-west" in replaced.reason
    assert on_scene.drone_id == "dock-west", updates
    assert not views["dock-northeast"].available
    assert views["dock-west"].incident_id == "beiyuan"


def test_a_refused_arm_hands_the_event_to_the_next_drone(sim_fleet):
    fleet = sim_fleet(TOWN.docks)
    fleet.vehicles[1].refuse_arm("Compass not calibrated")
    updates: list = []

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        await dispatcher.dispatch(Incident("beiyuan", *BEIYUAN, target_s=180.0))
        await until(updates, "assigned", "dock-west")
        await dispatcher.stop()

    run(main())
    kinds = [(u.kind, u.drone_id) for u in updates]
    assert kinds[:3] == [("assigned", "dock-northeast"), ("replaced", "dock-northeast"),
                         ("assigned", "dock-west")]
    assert "PreArm: Compass not calibrated" in updates[1].reason


def test_a_nearer_drone_low_on_battery_is_passed_over(sim_fleet):
    fleet = sim_fleet(TOWN.docks)
    drain_battery(fleet, 1, 30.0)  # the northeast drone, nearest Beiyuan
    updates: list = []

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        ranked = dispatcher.suggest(Incident("beiyuan", *BEIYUAN, target_s=180.0))
        await dispatcher.stop()
        return ranked

    ranked = run(main())
    assert [o.drone_id for o in ranked] == ["dock-west", "dock-south", "dock-northeast"]
    assert not ranked[2].feasible and "battery 30 %" in ranked[2].reason
    assert ranked[0].feasible


def test_a_patrolling_drone_flies_its_sweep_in_auto_and_is_preempted_for_an_event(sim_fleet):
    fleet = sim_fleet(TOWN.docks)
    updates: list = []
    dock = TOWN.docks[1]  # northeast
    # a 200 m square sweep north-east of the dock, two lanes
    east, north = TOWN.frame.to_local(dock.lat, dock.lon)
    sweep = [tuple(map(float, TOWN.frame.to_wgs84(east + de, north + dn)))
             for de, dn in ((0, 100), (200, 100), (200, 200), (0, 200))]

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        count = await dispatcher.patrol("dock-northeast", sweep)
        while dispatcher.link("dock-northeast").telemetry.alt_rel_m < 25:
            await asyncio.sleep(0.02)
        view = {v.id: v for v in dispatcher.drones()}["dock-northeast"]
        assignment = await dispatcher.dispatch(Incident("beiyuan", *BEIYUAN, target_s=180.0))
        on_scene = await until(updates, "on_scene", wall_s=60)
        await dispatcher.stop()
        return count, view, assignment, on_scene

    count, view, assignment, on_scene = run(main())
    assert count == 1 + 1 + 4 + 1  # home, takeoff, four waypoints, RTL
    assert view.on_patrol and view.available and view.telemetry.mode == "AUTO"
    # airborne and nearest: no launch, so it beats the idle drones even with the 30 s penalty
    assert assignment.option.drone_id == "dock-northeast" and assignment.option.on_patrol
    assert on_scene.drone_id == "dock-northeast"
    assert [u.kind for u in updates][:3] == ["patrol", "assigned", "on_scene"]


def _bare_dispatcher() -> Dispatcher:
    return Dispatcher([], Planner(Router(TOWN.zones, TOWN.frame), TOWN.docks))


def test_stop_names_a_task_that_ignores_its_cancel_and_returns(monkeypatch, caplog):
    import dispatch.tasks

    monkeypatch.setattr(dispatch.tasks, "STOP_WAIT_S", 0.2)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(1.0)
            except asyncio.CancelledError:
                continue  # a task that ignores its cancel

    async def main() -> float:
        dispatcher = _bare_dispatcher()
        dispatcher._spawn(stubborn(), "stubborn-task")
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await dispatcher.stop()
        took = loop.time() - t0
        release.set()
        return took

    took = asyncio.run(main())
    assert 0.2 <= took < 1.0  # STOP_WAIT_S, not for ever
    assert any("stubborn-task did not stop" in r.getMessage() for r in caplog.records)


def test_a_cancelled_stop_is_cancelled_not_swallowed():
    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(5)  # slow to clean up
            raise

    async def main() -> None:
        dispatcher = _bare_dispatcher()
        dispatcher._spawn(slow(), "slow-task")
        await asyncio.sleep(0)
        await asyncio.wait_for(dispatcher.stop(), 0.1)

    with pytest.raises(TimeoutError):
        asyncio.run(main())
