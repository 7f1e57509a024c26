"""Poses from DJI .SRT sidecars and CSV logs, interpolated per frame."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from detection.errors import TelemetryError
from detection.telemetry import read_telemetry
from simulators.camera.patrol import srt_block

NEW_SRT = """1
00:00:00,000 --> 00:00:00,500
<font size="28">FrameCnt: 1, DiffTime: 500ms
2025-06-01 09:00:00.000
[iso: 100] [shutter: 1/1000.0] [latitude: 29.5000000] [longitude: 120.9000000] [rel_alt: 60.000 abs_alt: 78.000] [gb_yaw: -90.0 gb_pitch: -90.0 gb_roll: 0.0] </font>

2
00:00:00,500 --> 00:00:01,000
<font size="28">FrameCnt: 2, DiffTime: 500ms
2025-06-01 09:00:00.500
[iso: 100] [shutter: 1/1000.0] [latitude: 29.5001000] [longitude: 120.9002000] [rel_alt: 62.000 abs_alt: 80.000] [gb_yaw: 170.0 gb_pitch: -80.0 gb_roll: 0.0] </font>

3
00:00:01,000 --> 00:00:01,500
<font size="28">FrameCnt: 3, garbled record with no position</font>
"""

# the older DJI layout (Phantom 4 / Mavic Pro): GPS(lon, lat, sats) and BAROMETER
OLD_SRT = """1
00:00:00,000 --> 00:00:01,000
HOME(120.8990,29.4990) 2019.05.04 10:00:01
GPS(120.9000,29.5000,19) BAROMETER:50.1

2
00:00:01,000 --> 00:00:02,000
HOME(120.8990,29.4990) 2019.05.04 10:00:02
GPS(120.9000,29.5010,19) BAROMETER:50.3
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_new_dji_srt_gives_position_altitude_gimbal_and_clock(tmp_path, monkeypatch):
    monkeypatch.delenv("FLYONCE_LOCAL_TZ", raising=False)
    track = read_telemetry(write(tmp_path, "clip.SRT", NEW_SRT))
    assert track.skipped == 1  # the garbled block
    p = track.at(0.0)
    assert (p.lat, p.lon, p.alt_rel_m, p.heading_deg, p.gimbal_pitch_deg) == (
        29.5, 120.9, 60.0, 270.0, -90.0)
    # DJI's 09:00 is the controller's local time: in Shanghai (UTC+8, no summer time) 01:00 UTC
    assert p.time == datetime(2025, 6, 1, 1, 0, tzinfo=UTC)
    assert track.start_time == datetime(2025, 6, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("zone,hour_utc", [
    ("Asia/Shanghai", 1),  # UTC+8
    ("Europe/Berlin", 7),  # UTC+2 on 1 June (summer time)
    ("UTC", 9),
])
def test_a_srt_clock_is_read_in_the_zone_given_or_flyonce_local_tz(tmp_path, monkeypatch, zone,
                                                                     hour_utc):
    path = write(tmp_path, "clip.SRT", NEW_SRT)
    monkeypatch.delenv("FLYONCE_LOCAL_TZ", raising=False)
    assert read_telemetry(path, tz=ZoneInfo(zone)).start_time == datetime(
        2025, 6, 1, hour_utc, 0, tzinfo=UTC)
    monkeypatch.setenv("FLYONCE_LOCAL_TZ", zone)
    assert read_telemetry(path).start_time == datetime(2025, 6, 1, hour_utc, 0, tzinfo=UTC)


def test_an_unknown_local_zone_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("FLYONCE_LOCAL_TZ", "Asia/Shangai")
    with pytest.raises(TelemetryError, match="unknown time zone 'Asia/Shangai'"):
        read_telemetry(write(tmp_path, "clip.SRT", NEW_SRT))


def test_a_shanghai_clip_from_the_camera_holds_its_first_frame_at_the_utc_instant(tmp_path,
                                                                                  monkeypatch):
    """The simulated camera writes its .SRT as a DJI drone in China does (Shanghai wall time, no
    zone): 2026-11-25 08:00 UTC is written 16:00, and read back as 08:00 UTC."""
    monkeypatch.delenv("FLYONCE_LOCAL_TZ", raising=False)
    when = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    text = "".join(srt_block(i + 1, i * 0.5, 0.5, when + timedelta(seconds=i * 0.5), 29.5,
                             120.9, 60.0, 90.0, -90.0) for i in range(3))
    assert "2026-11-25 16:00:00.000" in text
    track = read_telemetry(write(tmp_path, "shanghai.SRT", text))
    assert track.start_time == when and track.at(1.0).time == when + timedelta(seconds=1)


@pytest.mark.parametrize("t_s,lat,alt,heading", [
    (0.25, 29.50005, 61.0, 220.0),
])
def test_interpolation_is_linear_and_turns_the_short_way(tmp_path, t_s, lat, alt, heading):
    track = read_telemetry(write(tmp_path, "clip.SRT", NEW_SRT))
    p = track.at(t_s)
    assert p.lat == pytest.approx(lat)
    assert p.alt_rel_m == pytest.approx(alt)
    # 270 -> 170 is -100 deg the short way: halfway is 220
    assert p.heading_deg == pytest.approx(heading)
    assert p.gimbal_pitch_deg == pytest.approx(-85.0)


def test_old_dji_srt_heading_from_course_over_ground(tmp_path):
    track = read_telemetry(write(tmp_path, "old.srt", OLD_SRT))
    p = track.at(1.0)
    assert (p.lat, p.lon, p.alt_rel_m) == (29.501, 120.9, 50.3)
    assert p.heading_deg == pytest.approx(0.0)  # flying due north
    assert p.gimbal_pitch_deg == -90.0


def test_csv_with_iso_times(tmp_path):
    text = ("time,lat,lon,alt_rel_m,heading_deg\n"
            "2025-06-01T09:00:00Z,29.5,120.9,60,90\n"
            "2025-06-01T09:00:02Z,29.5,120.9002,60,90\n"
            "2025-06-01T09:00:03Z,not-a-number,120.9,60,90\n")
    track = read_telemetry(write(tmp_path, "log.csv", text))
    assert track.skipped == 1
    p = track.at(1.0)
    assert p.lon == pytest.approx(120.9001)
    assert p.time == datetime(2025, 6, 1, 9, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize("name,text,message", [
    ("none.SRT", None, "does not exist"),
    ("empty.SRT", "1\n00:00:00,000 --> 00:00:01,000\nnothing here\n", "no usable pose"),
    ("cols.csv", "a,b,c\n1,2,3\n", "lacks columns"),
    ("log.txt", "whatever", ".SRT, a .csv or a MAVLink .tlog"),
])
def test_bad_telemetry_says_what_is_wrong(tmp_path, name, text, message):
    path = tmp_path / name if text is None else write(tmp_path, name, text)
    with pytest.raises(TelemetryError, match=message):
        read_telemetry(path)


def test_time_outside_the_log_is_an_error(tmp_path):
    track = read_telemetry(write(tmp_path, "clip.SRT", NEW_SRT))
    with pytest.raises(TelemetryError, match="covers"):
        track.at(30.0)
