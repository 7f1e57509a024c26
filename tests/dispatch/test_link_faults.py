"""Faults on the drone flying a task, over real TCP to the simulated copters (simulators/faults.py).

Figures used below (the sample town, tests/dispatch/test_dispatcher.py): the northeast dock is
nearest Beiyuan (964 m), the west dock next (1766 m). The dispatcher calls a link lost once its
last heartbeat is 3 mission seconds old and at least 1 wall second old (dispatch/link.py);
copters send heartbeats at 1 Hz of mission time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading

import pytest

from dispatch.planner import Incident
from geofence import sample_town
from tests.dispatch.test_dispatcher import BEIYUAN, NANYUAN, make_dispatcher, ready, run, until

pytestmark = pytest.mark.slow  # real copters over TCP, 10-40 wall s each

TOWN = sample_town()


async def en_route(dispatcher, incident_id: str) -> None:
    while dispatcher.missions[incident_id].stage != "en_route":
        await asyncio.sleep(0.02)


async def first(updates: list, kind: str, incident_id: str, drone_id: str | None = None,
                wall_s: float = 30.0):
    """The first ``kind`` update on ``incident_id`` (by ``drone_id``), waited for."""
    for _ in range(int(wall_s / 0.02)):
        for u in updates:
            if u.kind == kind and u.incident_id == incident_id and drone_id in (None, u.drone_id):
                return u
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} update on {incident_id}: {updates}")


def test_a_lost_link_is_replaced_within_5_mission_s_and_recalled_when_heard_again(sim_fleet):
    # At 2x the 1 s wall floor is 2 mission s, so the 3 s link timeout decides: the copter is
    # called lost 3 s after its last heartbeat, which came 0-1 s before the drop: 2-3 s after it.
    fleet = sim_fleet(TOWN.docks, speedup=2.0)
    updates: list = []
    drop_s = 15.0

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        await dispatcher.dispatch(Incident("beiyuan", *BEIYUAN, target_s=180.0))
        await en_route(dispatcher, "beiyuan")
        dropped_at = fleet.clock.now()
        fleet.vehicles[1].drop_link(drop_s)
        replaced = await until(updates, "replaced")
        sent = await until(updates, "assigned", "dock-west")
        recalled = await until(updates, "recalled", "dock-northeast", wall_s=40)
        for _ in range(100):  # the RTL's ACK and the next heartbeat
            if fleet.vehicles[1].state.mode == "RTL":
                break
            await asyncio.sleep(0.05)
        mode = fleet.vehicles[1].state.mode
        await dispatcher.stop()
        return dropped_at, replaced, sent, recalled, mode

    dropped_at, replaced, sent, recalled, mode = run(main())
    noticed_s = (replaced.at - dropped_at).total_seconds()
    sent_s = (sent.at - dropped_at).total_seconds()
    assert 2.0 <= noticed_s <= 3.5, noticed_s
    assert noticed_s <= sent_s <= 5.0, sent_s  # the bound: another drone within 5 s
    assert "no heartbeat" in replaced.reason and "sending dock-west" in replaced.reason
    # heard again once the 15 s silence ends (plus a heartbeat period), and sent home at once
    back_s = (recalled.at - dropped_at).total_seconds()
    assert drop_s <= back_s <= drop_s + 2.5, back_s
    assert recalled.incident_id == "beiyuan" and "returning to launch" in recalled.reason
    assert mode == "RTL"
    # the replacement kept the event; the recalled drone never took it back
    assert [u.kind for u in updates if u.drone_id == "dock-northeast"] == \
        ["assigned", "replaced", "recalled"]


def test_a_battery_failure_mid_way_hands_the_event_on_after_the_low_battery_timer(sim_fleet):
    fleet = sim_fleet(TOWN.docks)
    updates: list = []

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        await dispatcher.dispatch(Incident("beiyuan", *BEIYUAN, target_s=180.0))
        await en_route(dispatcher, "beiyuan")
        failed_at = fleet.clock.now()
        fleet.vehicles[1].fail_battery()
        replaced = await until(updates, "replaced")
        await until(updates, "assigned", "dock-west")
        await asyncio.sleep(0.5)  # no recall: the link never went
        await dispatcher.stop()
        return failed_at, replaced

    failed_at, replaced = run(main())
    # one dead cell of four: 12.5 V under BATT_LOW_VOLT 14 V; the autopilot waits BATT_LOW_TIMER
    # (10 s) before its failsafe, and the dispatcher acts on the failsafe, not on a guess
    assert (replaced.at - failed_at).total_seconds() == pytest.approx(10.0, abs=1.5)
    assert "Battery Failsafe" in replaced.reason and "sending dock-west" in replaced.reason
    assert "recalled" not in [u.kind for u in updates]


def test_the_only_capable_drone_lost_queues_the_event_until_a_drone_comes_free(sim_fleet):
    fleet = sim_fleet(TOWN.docks[:2])  # west and northeast only
    updates: list = []

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        await dispatcher.dispatch(Incident("nanyuan", *NANYUAN, target_s=180.0),
                                  drone_id="dock-west")
        await dispatcher.dispatch(Incident("beiyuan", *BEIYUAN, target_s=180.0),
                                  drone_id="dock-northeast")
        await en_route(dispatcher, "beiyuan")
        fleet.vehicles[1].drop_link(600.0)
        unserved = await until(updates, "unserved")
        await asyncio.sleep(1.0)  # 10 mission s of queue: nobody free, nothing sent
        early = [u for u in updates if u.kind == "assigned" and u.incident_id == "beiyuan"
                 and u.drone_id == "dock-west"]
        queued = list(dispatcher.queued)
        freed_at = fleet.clock.now()
        await dispatcher.release("nanyuan")  # dock-west turns home from Nanyuan: free again
        sent = await first(updates, "assigned", "beiyuan", "dock-west", wall_s=10)
        arrived = await first(updates, "on_scene", "beiyuan", wall_s=60)
        left = dict(dispatcher.queued)
        await dispatcher.stop()
        return unserved, early, queued, freed_at, sent, arrived, left

    unserved, early, queued, freed_at, sent, arrived, left = run(main())
    assert unserved.incident_id == "beiyuan" and "queued" in unserved.reason
    assert early == [] and queued == ["beiyuan"]
    # sent on the first watch pass after the release (0.1 wall s = 1 mission s) plus its ACK
    assert 0.0 <= (sent.at - freed_at).total_seconds() <= 2.5
    assert "queued" in sent.reason and "dock-west came free" in sent.reason
    assert arrived.drone_id == "dock-west" and left == {}


def test_garbage_and_oversized_frames_on_a_copters_port_do_not_stop_its_mission(sim_fleet):
    """A second client floods the flying copter's TCP port with noise, 64 KiB writes and MAVLink
    v2 frames that claim the largest payload (255 bytes) and ids nobody knows, while the
    dispatcher flies it to Beiyuan over its own connection: the copter keeps flying and
    answering, and the mission ends on scene with the same drone."""
    fleet = sim_fleet(TOWN.docks)
    updates: list = []
    northeast = fleet.vehicles[1]
    _, host, port = northeast.endpoint.split(":")
    rng = random.Random(33)
    oversized = b"\xfd\xff\x00\x00\x00\xff\xbe\xff\xff\xff" + bytes(255 + 2)  # v2, 255 B, id 0xffffff
    v1_huge = b"\xfe\xff\x00\xff\xbe\xff" + bytes(255 + 2)  # v1, 255 B, unknown id 255

    def flood(stop: threading.Event) -> int:  # in a thread: the loop flies the drone
        sent = 0
        with socket.create_connection((host, int(port))) as sock:
            sock.settimeout(0.5)
            while not stop.wait(0.05):
                for chunk in (rng.randbytes(1000), oversized * 8, v1_huge * 8,
                              rng.randbytes(64 * 1024)):
                    with contextlib.suppress(TimeoutError, BlockingIOError):
                        sock.sendall(chunk)
                        sent += len(chunk)
        return sent

    async def main():
        dispatcher = make_dispatcher(fleet, updates)
        await ready(dispatcher)
        stop = threading.Event()
        flooding = asyncio.create_task(asyncio.to_thread(flood, stop))
        await dispatcher.dispatch(Incident("beiyuan", *BEIYUAN, target_s=180.0))
        arrived = await first(updates, "on_scene", "beiyuan", wall_s=60)
        stop.set()
        sent = await flooding
        alive = dispatcher.link("dock-northeast").alive()
        await dispatcher.release("beiyuan")
        released = await first(updates, "released", "beiyuan")
        await dispatcher.stop()
        return arrived, sent, alive, released

    arrived, sent, alive, released = run(main())
    assert sent > 1_000_000  # over a megabyte of rubbish while it flew
    assert arrived.drone_id == "dock-northeast" and alive
    assert [u.kind for u in updates] == ["assigned", "on_scene", "released"]  # nobody replaced
    assert released.method.startswith("MAV_CMD_NAV_RETURN_TO_LAUNCH")  # it still takes commands
    assert northeast.state.mode == "RTL"
