"""Warnings through the drone's loudspeaker: DroneLink.announce and Dispatcher.announce over TCP."""

from __future__ import annotations

import asyncio
import math

import pytest
from pymavlink import mavutil

from dispatch import Announcement, CommandRejected, Dispatcher, DroneUnavailable, PayloadError
from dispatch.fleet import FleetEntry
from dispatch.link import DroneLink
from dispatch.planner import Incident, Planner
from dispatch.speaker import CHUNK_TEXT_BYTES, MAX_TEXT_CHARS, check_request, text_chunks
from simulators.clock import SteppedClock
from simulators.fleet import Fleet
from tests.dispatch.layouts import FRAME, ORIGIN, at, router

# 47 characters, 137 UTF-8 bytes: two chunks, the cut falling inside a "，"
WARNING = "您好，这里是城市管理无人机01号。此处禁止占道经营，请您立即收摊离开，配合城市管理，谢谢合作！"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


@pytest.fixture
def stepped():
    """A stepped one-drone fleet factory at the test origin, stopped after the test."""
    fleets: list[Fleet] = []

    def start(**kw) -> Fleet:
        fleet = Fleet.start([ORIGIN], clock=SteppedClock(), base_tcp_port=0, **kw)
        fleets.append(fleet)
        return fleet

    yield start
    for fleet in fleets:
        fleet.stop()


async def hovering(fleet: Fleet, *, east_m: float = 0.0) -> DroneLink:
    """A connected link whose drone hovers at 20 m, ``east_m`` east of home (the fleet stepped)."""
    vehicle = fleet.vehicles[0]
    link = DroneLink(vehicle.endpoint, drone_id="d1", clock=fleet.clock)
    await link.connect(timeout_s=5)
    await link.set_mode("GUIDED")
    await link.arm()
    await link.takeoff(20.0)
    assert await asyncio.to_thread(
        fleet.advance_until, lambda: vehicle.state.landed_state == "IN_AIR", 60)
    if east_m:
        await link.goto(*at(east_m, 0.0), 20.0)
        assert await asyncio.to_thread(
            fleet.advance_until,
            lambda: math.hypot(vehicle.state.east_m - east_m, vehicle.state.north_m) < 1.0, 120)
        await asyncio.to_thread(fleet.advance, 3.0)
    return link


def test_a_clip_is_played_when_and_where_the_drone_is(stepped):
    fleet = stepped()
    vehicle = fleet.vehicles[0]

    async def main():
        link = await hovering(fleet, east_m=200.0)
        announcement = await link.announce(clip_id=1, repeat=2, volume_pct=70)
        await link.close()
        return announcement

    announcement = run(main())
    assert announcement == Announcement(drone_id="d1", kind="clip", clip_id=1, text=None,
                                        repeat=2, accepted_at=fleet.clock.now(), result=0,
                                        volume_pct=70)
    [play] = vehicle.played
    # a stepped fleet stands still while the command travels: played at the ACK's mission time
    assert play.at == announcement.accepted_at
    assert (play.kind, play.clip_id, play.repeat, play.volume_pct) == ("clip", 1, 2, 70)
    east, north = FRAME.to_local(play.lat, play.lon)
    assert math.hypot(east - 200.0, north) < 1.5  # over the point it was sent to
    assert play.alt_rel_m == pytest.approx(20.0, abs=0.6)


def test_chinese_text_arrives_byte_exact_in_chunks(stepped):
    fleet = stepped()
    vehicle = fleet.vehicles[0]
    longest = ("请勿占道经营。" * 29)[:MAX_TEXT_CHARS]  # 200 characters, 600 bytes: 5 chunks

    async def main():
        link = await hovering(fleet)
        first = await link.announce(text=WARNING)
        second = await link.announce(text=longest, repeat=3)
        await link.close()
        return first, second

    first, second = run(main())
    assert (first.kind, first.text, first.clip_id) == ("text", WARNING, None)
    assert len(text_chunks(1, WARNING)) == 2 and len(text_chunks(2, longest)) == 5
    assert [(p.kind, p.text, p.repeat) for p in vehicle.played] == \
        [("text", WARNING, 1), ("text", longest, 3)]
    assert vehicle.played[1].text.encode() == longest.encode()


@pytest.mark.parametrize(
    ("kwargs", "result", "code", "why"),
    [
        ({"clip_id": 9}, "FAILED", 4, "Speaker: no clip 9 on the card"),
        ({"clip_id": 1, "on_ground": True}, "DENIED", 2, "Speaker: not flying, play refused"),
        ({"text": "请离开", "on_ground": True}, "DENIED", 2, "Speaker: not flying, play refused"),
    ],
)
def test_a_refusal_carries_the_result_code_and_the_speakers_reason(stepped, kwargs, result,
                                                                   code, why):
    fleet = stepped()
    on_ground = kwargs.pop("on_ground", False)

    async def main():
        if on_ground:
            link = DroneLink(fleet.vehicles[0].endpoint, drone_id="d1", clock=fleet.clock)
            await link.connect(timeout_s=5)
        else:
            link = await hovering(fleet)
        try:
            with pytest.raises(CommandRejected) as info:
                await link.announce(**kwargs)
        finally:
            await link.close()
        return info.value

    error = run(main())
    assert (error.result, error.result_code) == (result, code)
    assert why in str(error)
    assert fleet.vehicles[0].played == []


def test_a_drone_without_the_speaker_script_is_unsupported(stepped):
    fleet = stepped(speakers=[False])

    async def main():
        link = await hovering(fleet)
        try:
            with pytest.raises(CommandRejected) as info:
                await link.announce(clip_id=1)
        finally:
            await link.close()
        return info.value

    error = run(main())
    assert (error.result, error.result_code) == ("UNSUPPORTED", 3)
    assert "no loudspeaker script" in str(error)


def test_a_half_upload_from_another_ground_station_does_not_spoil_ours(stepped):
    # A second ground station left chunk 0 of 2 of its own text under handle 1, the handle the
    # link uses first: the different checksum makes ours a new upload, not a patchwork.
    fleet = stepped()
    vehicle = fleet.vehicles[0]
    other = mavutil.mavlink_connection(vehicle.endpoint, source_system=254,
                                       source_component=190, autoreconnect=False)
    assert other.wait_heartbeat(timeout=5) is not None
    stray = text_chunks(1, "别的地面站的文字" * 6)  # 144 bytes: 2 chunks, like ours
    assert len(stray) == 2
    padded = list(stray[0]) + [0] * (128 - len(stray[0]))
    other.mav.tunnel_send(1, 1, 32801, len(stray[0]), padded)

    async def main():
        link = await hovering(fleet)
        announcement = await link.announce(text=WARNING)
        await link.close()
        return announcement, list(link.texts)

    try:
        announcement, texts = run(main())
    finally:
        other.close()
    assert [p.text for p in vehicle.played] == [WARNING] == [announcement.text]
    # at the first try, under handle 1 (not after a FAILED play and a retry under handle 2)
    assert [t for t in texts if t.startswith("Speaker:")] == \
        ["Speaker: text 1, 47 chars x1 at 100%"]


def test_a_failed_text_play_is_uploaded_again_under_a_new_handle(stepped):
    # Another ground station spoiled handle 1 with a chunk numbered past the end, for the very
    # text we send (same checksum and count): the first play FAILs, the second one is clean.
    fleet = stepped()
    vehicle = fleet.vehicles[0]
    other = mavutil.mavlink_connection(vehicle.endpoint, source_system=254,
                                       source_component=190, autoreconnect=False)
    assert other.wait_heartbeat(timeout=5) is not None
    ours = text_chunks(1, WARNING)
    bad = ours[0][:2] + bytes([5]) + ours[0][3:]  # chunk index 5 of 2
    other.mav.tunnel_send(1, 1, 32801, len(bad), list(bad) + [0] * (128 - len(bad)))

    async def main():
        link = await hovering(fleet)
        announcement = await link.announce(text=WARNING)
        await link.close()
        return announcement, list(link.texts)

    try:
        announcement, texts = run(main())
    finally:
        other.close()
    assert [t for t in texts if t.startswith("Speaker:")] == \
        ["Speaker: text 1 garbled (chunk 5 of 2)", "Speaker: text 2, 47 chars x1 at 100%"]
    assert [p.text for p in vehicle.played] == [WARNING] == [announcement.text]


def test_a_text_too_long_is_refused_before_anything_is_sent(stepped):
    fleet = stepped()
    vehicle = fleet.vehicles[0]

    async def main():
        link = await hovering(fleet)
        try:
            with pytest.raises(PayloadError, match="201 characters"):
                await link.announce(text="请" * (MAX_TEXT_CHARS + 1))
            texts = list(link.texts)
        finally:
            await link.close()
        return texts

    texts = run(main())
    assert vehicle.played == []
    assert not any(t.startswith("Speaker:") for t in texts)


@pytest.mark.parametrize(
    ("clip_id", "text", "repeat", "volume", "message"),
    [
        (None, None, 1, 100, "exactly one of clip_id"),
        (1, "请离开", 1, 100, "exactly one of clip_id"),
        (0, None, 1, 100, "clip_id must be"),
        (65536, None, 1, 100, "clip_id must be"),
        (None, "   ", 1, 100, "text is empty"),
        (None, "请" * 201, 1, 100, "201 characters"),
        (1, None, 0, 100, "repeat must be"),
        (1, None, 11, 100, "repeat must be"),
        (1, None, True, 100, "repeat must be"),
        (1, None, 1, 0, "volume_pct must be"),
        (1, None, 1, 101, "volume_pct must be"),
    ],
)
def test_bad_requests(clip_id, text, repeat, volume, message):
    with pytest.raises(PayloadError, match=message):
        check_request(clip_id, text, repeat, volume)
    assert issubclass(PayloadError, ValueError)


@pytest.mark.parametrize(
    ("text", "sizes"),
    [
        ("a", [1]),
        ("请" * 40, [120]),  # exactly one full chunk
        ("请" * 41, [120, 3]),
        ("请" * 200, [120, 120, 120, 120, 120]),
    ],
)
def test_chunks_are_full_but_the_last(text, sizes):
    payloads = text_chunks(300, text)
    assert [len(p) - 8 for p in payloads] == sizes
    assert all(len(p) <= 8 + CHUNK_TEXT_BYTES for p in payloads)
    assert b"".join(p[8:] for p in payloads).decode() == text
    # header: handle 300 = 0x012C little-endian, index, count
    assert [tuple(p[:4]) for p in payloads] == [(0x2C, 0x01, i, len(sizes))
                                                 for i in range(len(sizes))]


def test_the_dispatcher_announces_through_the_drone_on_the_event(sim_fleet):
    fleet = sim_fleet([ORIGIN])
    planner = Planner(router(), [ORIGIN], alt_rel_m=20.0, arrival_radius_m=10.0)
    scene = at(150.0, 0.0)
    updates: list = []

    async def main():
        dispatcher = Dispatcher([FleetEntry("d1", fleet.vehicles[0].endpoint, *ORIGIN)], planner,
                                clock=fleet.clock, on_update=updates.append)
        assert await dispatcher.start(connect_timeout_s=5) == {}
        try:
            with pytest.raises(DroneUnavailable, match="no drone on it"):
                await dispatcher.announce("stall-1", clip_id=1)
            for _ in range(100):  # until the first telemetry makes the drone available
                if dispatcher.drones()[0].available:
                    break
                await asyncio.sleep(0.05)
            await dispatcher.dispatch(Incident("stall-1", *scene, target_s=180))
            for _ in range(3000):
                if any(u.kind == "on_scene" for u in updates):
                    break
                await asyncio.sleep(0.02)
            announcement = await dispatcher.announce("stall-1", text=WARNING, repeat=2)
            await dispatcher.release("stall-1")
            with pytest.raises(DroneUnavailable, match="returning"):
                await dispatcher.announce("stall-1", clip_id=1)
            return announcement
        finally:
            await dispatcher.stop()

    announcement = run(main())
    assert (announcement.drone_id, announcement.kind, announcement.repeat) == ("d1", "text", 2)
    [play] = fleet.vehicles[0].played
    assert play.text == WARNING
    # on scene means within the 10 m arrival radius of the stall; it holds over it
    east, north = FRAME.to_local(play.lat, play.lon)
    assert math.hypot(east - 150.0, north) < 10.0
    # the ACK arrived after the play, within one ACK round trip (well under the 1 s wall
    # ACK timeout, i.e. 10 mission s at the fixture's 10x speed-up)
    lag_s = (announcement.accepted_at - play.at).total_seconds()
    assert 0.0 <= lag_s < 10.0
