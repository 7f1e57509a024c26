"""Fleet files, availability rules and ground-team choice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.errors import FleetFileError
from dispatch.fleet import availability, load_fleet
from dispatch.link import Telemetry
from dispatch.teams import TeamStatus, nearest_team, ranked_teams

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_a_toml_fleet_file_lists_its_drones(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text('[[drone]]\nid = "d1"\nurl = "tcp:127.0.0.1:5760"\ndock = [29.5, 120.9]\n\n'
                    '[[drone]]\nid = "d2"\nname = "Two"\nurl = "udpin:0.0.0.0:14560"\n'
                    'dock_lat = 29.49\ndock_lon = 120.91\n')
    entries = load_fleet(path)
    assert [(e.id, e.url, e.dock_lat, e.dock_lon, e.name) for e in entries] == [
        ("d1", "tcp:127.0.0.1:5760", 29.5, 120.9, ""),
        ("d2", "udpin:0.0.0.0:14560", 29.49, 120.91, "Two")]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "lists no drones"),
        ('[[drone]]\nid = "d1"\ndock = [29.5, 120.9]\n', "lacks 'url'"),
        ('[[drone]]\nid = "d1"\nurl = "nowhere"\ndock = [29.5, 120.9]\n', "is not a drone URL"),
        ('[[drone]]\nid = "d1"\nurl = "tcp:h:1"\ndock = [120.9, 29.5]\n', "not a WGS84"),
        (('[[drone]]\nid = "d1"\nurl = "tcp:h:1"\ndock = [1, 2]\n[[drone]]\nid = "d1"\n'
         'url = "tcp:h:2"\ndock = [1, 2]\n'), "unique"),
        ("[[drone]\n", "not valid"),
        ('[[drone]]\nid = "d1"\nurl = "tcp:h:1"\ndock = [29.5, 120.9]\nvideo = "ftp://cam/1"\n',
         "video 'ftp://cam/1' is not a stream URL"),
        ('[[drone]]\nid = "d1"\nurl = "tcp:h:1"\ndock = [29.5, 120.9]\nvideo = "cam1"\n',
         "is not a stream URL"),
    ],
)
def test_a_bad_fleet_file_says_what_to_fix(tmp_path, text, says):
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    with pytest.raises(FleetFileError) as info:
        load_fleet(path)
    assert says in str(info.value)


@pytest.mark.parametrize("video", ["rtsp://10.0.0.21:8554/live", "rtmp://srv/live/d1",
                                   "srt://10.0.0.5:9000", "http://gw/d1.flv",
                                   "http://127.0.0.1:8080/video/1.mjpg", "file:///data/d1.mp4",
                                   "/data/d1.mp4", ""])
def test_a_drone_may_name_its_video_stream(tmp_path, video):
    path = tmp_path / "fleet.toml"
    path.write_text(f'[[drone]]\nid = "d1"\nurl = "tcp:h:1"\ndock = [29.5, 120.9]\n'
                    f'video = "{video}"\n')
    assert [e.video for e in load_fleet(path)] == [video]


def test_a_missing_fleet_file_is_named(tmp_path):
    with pytest.raises(FleetFileError, match="cannot read fleet file"):
        load_fleet(tmp_path / "absent.toml")


GOOD = Telemetry(lat=29.5, lon=120.9, battery_pct=80.0, connected=True, system_status="STANDBY",
                 last_heartbeat_at=NOW - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("telemetry", "kw", "expected"),
    [
        (GOOD, {}, (True, "")),
        (GOOD.__class__(**{**GOOD.__dict__, "last_heartbeat_at": NOW - timedelta(seconds=4)}), {},
         (False, "link lost (4 s since the last heartbeat)")),
        (GOOD.__class__(**{**GOOD.__dict__, "system_status": "CRITICAL",
                           "last_text": "Battery Failsafe"}), {},
         (False, "failsafe (Battery Failsafe)")),
        (GOOD, {"busy_with": "event 7"}, (False, "busy with event 7")),
        (GOOD, {"fault": "refused arm"}, (False, "refused arm")),
        (GOOD.__class__(**{**GOOD.__dict__, "connected": False}), {}, (False, "no link")),
    ],
)
def test_availability_says_why_a_drone_cannot_go(telemetry, kw, expected):
    assert availability(telemetry, NOW, **kw) == expected


def test_a_clock_silence_shorter_than_the_wall_floor_is_not_a_lost_link():
    # 4 clock seconds since the heartbeat, but it came 0.1 s ago in wall time (a 10x clock)
    heard = GOOD.__class__(**{**GOOD.__dict__, "last_heartbeat_at": NOW - timedelta(seconds=4),
                              "heartbeat_mono": time.monotonic() - 0.1})
    assert availability(heard, NOW) == (True, "")
    # the same 4 s, 1.5 s ago in wall time: past the 1 s floor, lost
    old = GOOD.__class__(**{**heard.__dict__, "heartbeat_mono": time.monotonic() - 1.5})
    assert availability(old, NOW) == (False, "link lost (4 s since the last heartbeat)")


def test_the_nearest_free_team_gets_the_task():
    teams = [TeamStatus("near-busy", 29.5001, 120.9, available=False),
             TeamStatus("far", 29.51, 120.9), TeamStatus("near", 29.502, 120.9)]
    choice = nearest_team(teams, 29.5, 120.9)
    assert choice.team_id == "near"
    # 0.002° of latitude is 222 m (one degree is 111.2 km on the mean sphere)
    assert choice.distance_m == pytest.approx(222.4, abs=0.5)
    assert [c.team_id for c in ranked_teams(teams, 29.5, 120.9)] == ["near", "far", "near-busy"]
    assert nearest_team(teams[:1], 29.5, 120.9) is None
