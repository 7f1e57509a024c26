"""The loudspeaker over plain pymavlink: 217 script messages and TUNNEL text uploads, over TCP."""

from __future__ import annotations

import math
import struct
import zlib
from datetime import UTC, datetime

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from geofence.frame import LocalFrame
from simulators.errors import CommandDenied, CommandFailed
from simulators.speaker import Speaker
from tests.simulators.conftest import HANGZHOU
from tests.simulators.test_mavlink_flight import take_off

SCRIPT_MESSAGE = mav.MAV_CMD_DO_SEND_SCRIPT_MESSAGE  # 217
PLAY_CLIP, PLAY_TEXT, STOP = 1, 2, 3
TEXT_PAYLOAD = 32801
ACCEPTED, DENIED, UNSUPPORTED, FAILED = (mav.MAV_RESULT_ACCEPTED, mav.MAV_RESULT_DENIED,
                                         mav.MAV_RESULT_UNSUPPORTED, mav.MAV_RESULT_FAILED)
# 47 characters, 45 of them 3 UTF-8 bytes each and 2 digits of 1: 137 bytes, two TUNNEL chunks
# (120 + 17 bytes), split inside a character (bytes 119-121 are one "，")
WARNING = "您好，这里是城市管理无人机01号。此处禁止占道经营，请您立即收摊离开，配合城市管理，谢谢合作！"


def chunks(handle: int, text: str) -> list[bytes]:
    """The TUNNEL payloads of ``text``, built by hand from the layout in docs/dispatch.md."""
    raw = text.encode("utf-8")
    parts = [raw[i:i + 120] for i in range(0, len(raw), 120)]
    crc = zlib.crc32(raw)
    return [struct.pack("<HBBI", handle, i, len(parts), crc) + part for i, part in enumerate(parts)]


def send_chunk(client, payload: bytes) -> None:
    client.m.mav.tunnel_send(client.sysid, 1, TEXT_PAYLOAD, len(payload),
                             list(payload) + [0] * (128 - len(payload)))


def airborne(stepped_fleet, clients, *, east_m: float = 0.0, **kw):
    """A stepped fleet whose copter hovers at 20 m, ``east_m`` east of home; and its client."""
    fleet = stepped_fleet(**kw)
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    take_off(client, fleet)
    if east_m:
        lat, lon = LocalFrame(*HANGZHOU).to_wgs84(east_m, 0.0)
        client.m.mav.set_position_target_global_int_send(
            0, client.sysid, 1, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0x0FF8,
            int(lat * 1e7), int(lon * 1e7), 20.0, 0, 0, 0, 0, 0, 0, 0, 0)
        assert fleet.advance_until(
            lambda: math.hypot(vehicle.state.east_m - east_m, vehicle.state.north_m) < 1.0, 120)
        fleet.advance(3.0)  # settle
    return fleet, vehicle, client


def test_a_plain_pymavlink_client_plays_a_clip_and_the_play_is_logged(stepped_fleet, clients):
    fleet, vehicle, client = airborne(stepped_fleet, clients, east_m=150.0)
    before = vehicle.state
    assert client.command(SCRIPT_MESSAGE, PLAY_CLIP, 1, 2, 80) == ACCEPTED
    assert "Speaker: clip 1 x2 at 80%" in client.texts()
    [play] = vehicle.played
    after = vehicle.state
    # the fleet stands still between steps, so the play happened at this very mission time
    assert before.time_s == after.time_s == play.time_s
    assert play.at == fleet.clock.now()
    assert (play.kind, play.clip_id, play.text, play.repeat, play.volume_pct) == \
        ("clip", 1, None, 2, 80)
    # where the drone was: 150 m east of home at 20 m (within the 1 m arrival + hover jitter)
    east, north = LocalFrame(*HANGZHOU).to_local(play.lat, play.lon)
    assert math.hypot(east - 150.0, north) < 1.5
    assert (play.lat, play.lon) == pytest.approx((after.lat, after.lon), abs=1e-9)
    assert play.alt_rel_m == pytest.approx(20.0, abs=0.6)
    # clip 1 is 12 s long: played twice it sounds until 24 s after the command
    assert play.ends_s == pytest.approx(play.time_s + 24.0)
    assert vehicle.speaker.now_playing(play.time_s + 23.9) == play
    assert vehicle.speaker.now_playing(play.time_s + 24.0) is None


def test_empty_params_mean_once_at_full_volume(stepped_fleet, clients):
    # what `long DO_SEND_SCRIPT_MESSAGE 1 3` in MAVProxy sends: params 3 and 4 are 0
    _fleet, vehicle, client = airborne(stepped_fleet, clients)
    assert client.command(SCRIPT_MESSAGE, PLAY_CLIP, 3) == ACCEPTED
    # and as COMMAND_INT, which a script blocking 217 receives the same way
    assert client.command_int(SCRIPT_MESSAGE, 0, PLAY_CLIP, 2, 0, 0, 0) == ACCEPTED
    assert [(p.clip_id, p.repeat, p.volume_pct) for p in vehicle.played] == \
        [(3, 1, 100), (2, 1, 100)]


def test_chinese_text_uploaded_in_two_chunks_is_spoken_byte_exact(stepped_fleet, clients):
    _fleet, vehicle, client = airborne(stepped_fleet, clients)
    payloads = chunks(7, WARNING)
    assert len(payloads) == 2 and len(payloads[1]) == 8 + 17
    for payload in payloads:
        send_chunk(client, payload)
    assert client.command(SCRIPT_MESSAGE, PLAY_TEXT, 7) == ACCEPTED
    assert "Speaker: text 7, 47 chars x1 at 100%" in client.texts()
    [play] = vehicle.played
    assert play.kind == "text" and play.text == WARNING and play.clip_id is None
    assert play.duration_s == pytest.approx(47 / 4.0)  # 4 characters a second


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ("drop_first", "Speaker: text 7 incomplete (1 of 2 chunks)"),
        ("flip_a_byte", "Speaker: text 7 garbled (checksum)"),
        ("short_first", "Speaker: text 7 garbled (chunk 0: 119 bytes)"),
        ("nothing_sent", "Speaker: no text 7 uploaded"),
    ],
)
def test_a_damaged_upload_fails_the_play_and_the_copter_flies_on(stepped_fleet, clients, damage,
                                                                 why):
    fleet, vehicle, client = airborne(stepped_fleet, clients)
    first, second = chunks(7, WARNING)
    if damage == "drop_first":
        sent = [second]
    elif damage == "flip_a_byte":
        sent = [first[:20] + bytes([first[20] ^ 0x01]) + first[21:], second]
    elif damage == "short_first":
        sent = [first[:-1], second]
    else:
        sent = []
    for payload in sent:
        send_chunk(client, payload)
    assert client.command(SCRIPT_MESSAGE, PLAY_TEXT, 7) == FAILED
    assert why in client.texts()
    assert vehicle.played == []
    fleet.advance(5.0)
    state = vehicle.state
    assert (state.mode, state.armed, state.landed_state) == ("GUIDED", True, "IN_AIR")
    assert state.alt_rel_m == pytest.approx(20.0, abs=0.6)


@pytest.mark.parametrize(
    ("params", "result", "text"),
    [
        ((PLAY_CLIP, 9), FAILED, "Speaker: no clip 9 on the card"),
        ((PLAY_CLIP, 1, 11), DENIED, "Speaker: repeat must be 1-10"),
        ((PLAY_CLIP, 1, 1, 101), DENIED, "Speaker: volume must be 1-100 %"),
        ((PLAY_CLIP, 1.5), DENIED, "Speaker: bad clip or text number 1.5"),
        ((42, 1), DENIED, "Speaker: unknown message id 42"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(stepped_fleet, clients, params, result, text):
    _fleet, vehicle, client = airborne(stepped_fleet, clients)
    assert client.command(SCRIPT_MESSAGE, *params) == result
    assert text in client.texts()
    assert vehicle.played == []


def test_on_the_ground_the_speaker_refuses(stepped_fleet, clients):
    fleet = stepped_fleet()
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    assert client.command(SCRIPT_MESSAGE, PLAY_CLIP, 1) == DENIED
    assert "Speaker: not flying, play refused" in client.texts()
    # armed but still on the ground is refused too
    assert client.set_mode(4) == ACCEPTED
    assert client.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == ACCEPTED
    assert client.command(SCRIPT_MESSAGE, PLAY_CLIP, 1) == DENIED
    assert vehicle.played == []


def test_a_copter_without_the_speaker_script_answers_unsupported(stepped_fleet, clients):
    fleet = stepped_fleet(speakers=[False])
    vehicle = fleet.vehicles[0]
    client = clients(vehicle.endpoint)
    assert vehicle.speaker is None
    assert client.command(SCRIPT_MESSAGE, PLAY_CLIP, 1) == UNSUPPORTED
    assert vehicle.played == []


def test_stop_silences_the_play(stepped_fleet, clients):
    fleet, vehicle, client = airborne(stepped_fleet, clients)
    assert client.command(SCRIPT_MESSAGE, PLAY_CLIP, 2, 3) == ACCEPTED  # 3 x 10 s
    fleet.advance(2.0)
    assert vehicle.speaker.now_playing(fleet.time_s) is not None
    assert client.command(SCRIPT_MESSAGE, STOP) == ACCEPTED
    assert vehicle.speaker.now_playing(fleet.time_s) is None


def test_the_speaker_keeps_only_the_latest_uploads():
    speaker = Speaker()
    at = datetime(2025, 1, 1, tzinfo=UTC)
    here = (30.0, 120.0, 20.0)
    for handle in range(1, 10):  # nine texts, room for eight
        for payload in chunks(handle, f"第{handle}条"):
            speaker.receive_chunk(payload)
    with pytest.raises(CommandFailed, match="no text 1 uploaded"):
        speaker.command(PLAY_TEXT, 1, 0, 0, time_s=0.0, at=at, flying=True, position=here)
    assert speaker.command(PLAY_TEXT, 9, 0, 0, time_s=0.0, at=at, flying=True,
                           position=here) == "Speaker: text 9, 3 chars x1 at 100%"
    # a new text under a used handle replaces the old one
    for payload in chunks(9, "请离开"):
        speaker.receive_chunk(payload)
    speaker.command(PLAY_TEXT, 9, 0, 0, time_s=1.0, at=at, flying=True, position=here)
    assert [p.text for p in speaker.played] == ["第9条", "请离开"]
    with pytest.raises(CommandDenied):
        speaker.command(PLAY_TEXT, 9, 0, 0, time_s=2.0, at=at, flying=False, position=here)
