"""The simulated DJI dock against DJI's Cloud API documents, over a real Mosquitto broker.

A bare cloud client (tests/simulators/dji_cloud.py) sends the documented services and reads the
documented topics; the expected figures come from the documents (0.5 Hz osd, result codes) and
from the physics every simulated aircraft flies (WPNAV_SPEED 12 m/s cruise, the dock's 10 s
cover and 10 s readiness, 2.2 %/min charging).
"""

from __future__ import annotations

import itertools
import math
import time

import pytest
from shapely.geometry import box

from geofence.frame import LocalFrame
from simulators.clock import SimClock
from simulators.fleet import Fleet
from tests.simulators.dji_cloud import Cloud

HOME = (29.49, 120.90)
FRAME = LocalFrame(*HOME)


def _target(east_m: float, north_m: float, frame: LocalFrame = FRAME) -> tuple[float, float]:
    return frame.to_wgs84(east_m, north_m)


def takeoff(lat: float, lon: float, *, height: float = 40.0, **extra) -> dict:
    return {"flight_id": "f1", "target_latitude": lat, "target_longitude": lon,
            "target_height": height, "security_takeoff_height": 30.0, "rth_altitude": 30.0,
            "rth_mode": 1, "rc_lost_action": 2, "commander_mode_lost_action": 1,
            "commander_flight_mode": 1, "commander_flight_height": 30.0, "max_speed": 12,
            **extra}


@pytest.fixture
def cloud():
    c = Cloud()
    yield c
    c.close()


def test_osd_comes_at_the_documented_half_hertz_and_says_the_aircraft_is_home(cloud):
    with Fleet.start([], clock=SimClock(20.0), base_tcp_port=0, dji_docks=[HOME]) as fleet:
        sn = fleet.docks[0].gateway_sn
        time.sleep(1.2)  # 24 mission seconds
        osd = cloud.of(sn, "osd")
        aircraft = cloud.of(fleet.docks[0].aircraft_sn, "osd")
    stamps = [m["timestamp"] for m in osd]
    gaps_s = [(b - a) / 1000 for a, b in itertools.pairwise(stamps)]
    assert len(osd) >= 10 and all(abs(g - 2.0) <= 0.001 for g in gaps_s), gaps_s
    data = osd[-1]["data"]
    assert (data["cover_state"], data["drone_in_dock"], data["mode_code"]) == (0, 1, 0)
    assert (data["latitude"], data["longitude"], data["height"]) == (*HOME, 10.0)
    assert data["drone_charge_state"]["capacity_percent"] == 100
    assert aircraft == []  # powered off in the closed dock: the aircraft publishes no osd


@pytest.fixture(scope="module")
def docks():
    """Dock A (the cloud holds no authority), B (authority, a GEO zone 200-300 m north),
    C (authority, battery 20 %, below its 30 % take-off threshold)."""
    places = [HOME, _target(0, 3000), _target(0, 6000)]
    b_frame = LocalFrame(*places[1])
    south_west = b_frame.to_wgs84(-50.0, 200.0)
    north_east = b_frame.to_wgs84(50.0, 300.0)
    zone = box(south_west[1], south_west[0], north_east[1], north_east[0])
    c = Cloud()
    with Fleet.start([], clock=SimClock(20.0), base_tcp_port=0, dji_docks=places,
                     dji_config={"geo_zones": (zone,)}) as fleet:
        fleet.docks[2].set_battery(20.0)
        for dock in fleet.docks[1:]:
            assert c.call(dock.gateway_sn, "flight_authority_grab", {})["result"] == 0
        yield c, fleet, b_frame
    c.close()


FAR = 8000.0  # beyond the dock's 7 km flight area
REFUSALS = [
    ("A", "takeoff_to_point", lambda f: takeoff(*_target(0, 300, f)), 319030),
    ("B", "takeoff_to_point", lambda f: takeoff(*_target(0, FAR, f)), 321514),
    ("B", "takeoff_to_point", lambda f: takeoff(*_target(0, 500, f)), 321515),
    ("B", "takeoff_to_point", lambda f: takeoff(*_target(300, 0, f), max_speed=20), 514171),
    ("B", "takeoff_to_point", lambda f: takeoff(*_target(300, 0, f), flight_id="a/b"), 514171),
    ("B", "fly_to_point", lambda f: {"fly_to_id": "x", "max_speed": 12, "points": [
        {"latitude": _target(300, 0, f)[0], "longitude": _target(300, 0, f)[1],
         "height": 40.0}]}, 319022),
    ("B", "return_home", lambda f: {}, 316024),
    ("B", "speaker_tts_play_start", lambda f: {"psdk_index": 2, "tts": {
        "name": "w", "text": "请离开", "md5": "0" * 32}}, 514120),
    ("B", "speaker_play_volume_set", lambda f: {"psdk_index": 5, "play_volume": 50}, 514171),
    ("B", "live_start_push", lambda f: {"url_type": 0, "url": "x", "video_id": "a/b/c",
                                         "video_quality": 0}, 13013),
    ("B", "drone_emergency_dance", lambda f: {}, 514100),
    ("C", "takeoff_to_point", lambda f: takeoff(*_target(300, 0, f)), 319026),
]


@pytest.mark.parametrize(("who", "method", "data", "code"), REFUSALS,
                         ids=[f"{w}-{m}-{c}" for w, m, _, c in REFUSALS])
def test_a_refusal_comes_with_dji_s_documented_result_code(docks, who, method, data, code):
    cloud, fleet, b_frame = docks
    dock = fleet.docks["ABC".index(who)]
    frame = b_frame if who == "B" else LocalFrame(dock.home.lat, dock.home.lon)
    reply = cloud.call(dock.gateway_sn, method, data(frame))
    assert reply["result"] == code
    assert dock.osd["drone_in_dock"] == 1 and dock.state.armed is False  # nothing moved


def test_malformed_payloads_are_dropped_and_the_dock_keeps_answering(cloud):
    with Fleet.start([], clock=SimClock(20.0), base_tcp_port=0, dji_docks=[HOME]) as fleet:
        sn = fleet.docks[0].gateway_sn
        for raw in (b"not json", b"[1, 2]", b'{"method": "flight_authority_grab"}', b"\xff\xfe"):
            cloud.send(sn, None, None, raw=raw)
        bad = cloud.call(sn, "takeoff_to_point", None)  # no data at all: a parameter error
        tid = cloud.send(sn, "flight_authority_grab", "not an object")
        wrong = cloud.wait(lambda t, m: t.endswith("services_reply") and m["tid"] == tid)
        good = cloud.call(sn, "flight_authority_grab", {})
        assert fleet._dji.malformed == 5
    assert bad["result"] == 514171 and wrong["data"]["result"] == 514171
    assert good["result"] == 0
    assert len(cloud.of(sn, "services_reply")) == 3  # nothing answered the four without a tid


def test_a_take_off_fly_to_speech_and_return_follow_the_documents_and_the_physics(cloud):
    speed_mps, cover_s, ready_s = 12.0, 10.0, 10.0
    with Fleet.start([], clock=SimClock(30.0), base_tcp_port=0, dji_docks=[HOME]) as fleet:
        dock = fleet.docks[0]
        sn, asn = dock.gateway_sn, dock.aircraft_sn
        assert cloud.call(sn, "flight_authority_grab", {})["result"] == 0
        north = _target(0.0, 400.0)
        assert cloud.call(sn, "takeoff_to_point", takeoff(*north))["result"] == 0
        cloud.wait(lambda t, m: m.get("method") == "takeoff_to_point_progress" and
                   m["data"]["status"] == "task_finish", 30, sn=sn)
        # the cover opened cover_s after the take-off was accepted (task_ready), the aircraft
        # left the dock ready_s later
        t0_ms = cloud.of(sn, "events", "takeoff_to_point_progress")[0]["timestamp"]
        states = cloud.of(sn, "state")
        opened = next(m for m in states if m["data"]["cover_state"] == 1)
        left = next(m for m in states if m["data"]["drone_in_dock"] == 0)
        assert abs((opened["timestamp"] - t0_ms) / 1000 - cover_s) <= 0.3
        assert abs((left["timestamp"] - t0_ms) / 1000 - cover_s - ready_s) <= 0.4
        # at cruise, two osd 2 s apart are 24 m apart, 30 m up
        samples = [m for m in cloud.of(asn, "osd") if m["data"]["horizontal_speed"] >= 11.95]
        pairs = [(a, b) for a, b in itertools.pairwise(samples)
                 if b["timestamp"] - a["timestamp"] <= 2100]
        assert pairs
        for a, b in pairs:
            dt_s = (b["timestamp"] - a["timestamp"]) / 1000
            moved = math.dist(FRAME.to_local(a["data"]["latitude"], a["data"]["longitude"]),
                              FRAME.to_local(b["data"]["latitude"], b["data"]["longitude"]))
            assert moved == pytest.approx(speed_mps * dt_s, abs=1.0)
            assert b["data"]["elevation"] == pytest.approx(30.0, abs=0.6)
            assert b["data"]["mode_code"] == 17  # live flight controls
        progress = [m["data"]["status"] for m in
                    cloud.of(sn, "events", "takeoff_to_point_progress")]
        assert progress[0] == "task_ready" and progress[-2:] == ["wayline_ok", "task_finish"]
        here = dock.state
        assert math.dist(FRAME.to_local(here.lat, here.lon), (0.0, 400.0)) <= 1.5

        # fly_to_point 300 m east: remaining_distance falls 12 m a second at cruise
        east = _target(300.0, 400.0)
        reply = cloud.call(sn, "fly_to_point", {"fly_to_id": "east", "max_speed": 12, "points": [
            {"latitude": east[0], "longitude": east[1], "height": 40.0}]})
        assert reply["result"] == 0
        cloud.wait(lambda t, m: m.get("method") == "fly_to_point_progress" and
                   m["data"]["status"] == "wayline_ok", 30, sn=sn)
        left_m = [m["data"]["remaining_distance"] for m in
                  cloud.of(sn, "events", "fly_to_point_progress")
                  if m["data"]["status"] == "wayline_progress"]
        steps = [a - b for a, b in itertools.pairwise(left_m) if 40 < b < 250]
        assert steps and all(s == pytest.approx(speed_mps, abs=0.6) for s in steps), steps

        # TTS in Chinese through the PSDK speaker: 1 s + 14 characters / 4 = 4.5 s of speech,
        # reported once a second from its start, so "ok" comes with the report at 5 s
        text = "此处禁止占道经营，请立即离开"
        reply = cloud.call(sn, "speaker_tts_play_start", {"psdk_index": 2, "tts": {
            "name": "w", "text": text, "md5": "a" * 32}})
        assert reply["result"] == 0
        ok = cloud.wait(lambda t, m: m.get("method") == "speaker_tts_play_start_progress" and
                        m["data"]["output"]["status"] == "ok", 10, sn=sn)
        assert [p.text for p in dock.played] == [text]
        started_ms = fleet.clock.start.timestamp() * 1000 + dock.played[0].started_s * 1000
        assert (ok["timestamp"] - started_ms) / 1000 == pytest.approx(5.0, abs=0.01)
        assert ok["need_reply"] == 1

        # home: RETURN_AUTO, lands in the dock, the cover closes, then it charges at 2.2 %/min
        assert cloud.call(sn, "return_home", {})["result"] == 0
        cloud.wait(lambda t, m: t.endswith(f"{asn}/osd") and m["data"]["mode_code"] == 9, 10)
        cloud.wait(lambda t, m: t.endswith(f"{sn}/state") and m["data"]["drone_in_dock"] == 1
                   and m["data"]["cover_state"] == 0, 60, since=len(cloud.messages))
        time.sleep(0.2)
        t1, pct1 = fleet.time_s, dock.state.battery_pct
        time.sleep(2.0)  # about a mission minute
        t2, pct2 = fleet.time_s, dock.state.battery_pct
    assert (pct2 - pct1) / (t2 - t1) * 60 == pytest.approx(2.2, abs=0.01)
