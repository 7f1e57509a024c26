"""`flyonce sim` as a user runs it: a subprocess, its printed endpoints, pymavlink, Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from pymavlink import mavutil

from geofence import sample_town
from simulators.clock import SimClock

RUN_SIM = [sys.executable, "-c", "import typer; from simulators.cli import sim; typer.run(sim)"]


def start_sim(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*RUN_SIM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
def test_sim_prints_one_line_per_vehicle_and_stops_on_ctrl_c():
    proc = start_sim("--drones", "4", "--base-port", "0", "--speedup", "10",
                     "--fault", "3:refuse_arm:Test fault")
    try:
        clock_line = proc.stdout.readline().split()
        lines = [proc.stdout.readline().split() for _ in range(4)]
        assert clock_line[0] == "clock" and SimClock.from_spec(clock_line[1]).speedup == 10.0
        docks = [d.id for d in sample_town().docks]
        # sysid N dock ID tcp:HOST:PORT; docks in turn, a 4th vehicle shares the 1st dock
        assert [(l[0], int(l[1]), l[2], l[3]) for l in lines] == [
            ("sysid", 1, "dock", docks[0]), ("sysid", 2, "dock", docks[1]),
            ("sysid", 3, "dock", docks[2]), ("sysid", 4, "dock", f"{docks[0]}#2")]
        links = []
        for sysid, line in enumerate(lines, start=1):
            link = mavutil.mavlink_connection(line[4], source_system=255)
            links.append(link)
            assert link.wait_heartbeat(timeout=10) is not None
            assert link.target_system == sysid
        # the fault from the command line is in force on vehicle 3 only
        links[2].mav.command_long_send(3, 1, 400, 0, 1, 0, 0, 0, 0, 0, 0)
        ack = links[2].recv_match(type="COMMAND_ACK", blocking=True, timeout=5)
        assert ack.result == 4  # FAILED
        links[1].mav.command_long_send(2, 1, 400, 0, 1, 0, 0, 0, 0, 0, 0)
        assert links[1].recv_match(type="COMMAND_ACK", blocking=True, timeout=5).result == 0
        for link in links:
            link.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "stopped" in err


@pytest.mark.parametrize("args, message", [
    (["--fault", "9:fail_battery", "--drones", "2"], "only 2 are started"),
    (["--fault", "1:explode"], "unknown kind"),
    (["--video-port", "0", "--video-size", "320x100"], "--video-size '320x100'"),
])
def test_sim_refuses_bad_input_with_a_message(args, message):
    proc = start_sim("--base-port", "0", *args)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert message in err


def test_sim_reports_a_busy_port():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = start_sim("--drones", "1", "--base-port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"TCP port {port}" in err and "in use" in err


def test_sim_starts_dji_docks_that_answer_the_cloud_api_on_the_printed_serial():
    from tests.simulators.dji_cloud import Cloud

    cloud = Cloud()
    proc = start_sim("--drones", "1", "--dji-docks", "1", "--base-port", "0", "--speedup", "10")
    try:
        assert proc.stdout.readline().startswith("clock ")
        assert proc.stdout.readline().startswith("sysid 1 dock ")
        # dji GATEWAY_SN aircraft AIRCRAFT_SN dock ID URL; the DJI dock takes the next dock
        words = proc.stdout.readline().split()
        assert (words[0], words[2], words[4], words[5]) == ("dji", "aircraft", "dock",
                                                             sample_town().docks[1].id)
        assert words[6] == f"dji+mqtt://127.0.0.1:1883/{words[1]}"
        assert cloud.call(words[1], "flight_authority_grab", {})["result"] == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        cloud.close()
    assert proc.returncode == 0


def test_sim_serves_each_copters_camera_as_mjpeg():
    import cv2
    import httpx
    import numpy as np

    from simulators.camera.timecode import read_ms

    proc = start_sim("--drones", "2", "--base-port", "0", "--video-port", "0",
                     "--video-size", "320x240", "--video-fps", "5")
    try:
        lines = [proc.stdout.readline().split() for _ in range(5)]
        video = [line for line in lines if line[0] == "video"]
        assert [line[1] for line in video] == ["1", "2"]
        with httpx.Client(timeout=10) as http, http.stream("GET", video[0][2]) as r:
            assert r.headers["content-type"].startswith("multipart/x-mixed-replace")
            buf = b""
            for chunk in r.iter_bytes():
                buf += chunk
                start, end = buf.find(b"\xff\xd8"), buf.find(b"\xff\xd9")
                if 0 <= start < end:
                    break
        image = cv2.imdecode(np.frombuffer(buf[start:end + 2], np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (240, 320, 3)
        # rendered (and stamped) within the last minute, by this machine's clock
        assert 0 <= __import__("time").time() * 1000 - read_ms(image) < 60_000
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
