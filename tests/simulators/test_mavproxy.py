"""MAVProxy, the ground station ArduPilot developers use, flies a simulated copter."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geofence.frame import LocalFrame
from simulators.fleet import Fleet
from tests.simulators.conftest import HANGZHOU

MAVPROXY = Path(sys.executable).with_name("mavproxy.py")


def wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.slow
def test_mavproxy_mode_guided_arm_throttle_takeoff_20(tmp_path):
    with Fleet.start([HANGZHOU], speedup=5, base_tcp_port=0) as fleet:
        vehicle = fleet.vehicles[0]
        proc = subprocess.Popen(
            [sys.executable, str(MAVPROXY), f"--master={vehicle.endpoint}", "--nodtr",
             "--default-modules=mode,arm,cmdlong,param,wp", f"--state-basedir={tmp_path}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=tmp_path,
        )

        def say(line: str) -> None:
            proc.stdin.write(line + "\n")
            proc.stdin.flush()

        try:
            # MAVProxy fetches every parameter once connected; modes work before that ends
            assert wait_for(lambda: fleet.stats().connections == 1, 30)
            say("mode guided")
            assert wait_for(lambda: vehicle.state.mode == "GUIDED", 20)
            say("arm throttle")
            assert wait_for(lambda: vehicle.state.armed, 10)
            say("takeoff 20")
            # 20 m at 2.5 m/s plus the acceleration phase: ~10.5 mission s, ~2 s wall at 5x
            assert wait_for(lambda: vehicle.state.alt_rel_m > 19.0, 15)
            # MAVProxy's `guided LAT LON ALT` sends MISSION_ITEM_INT with current=2
            lat, lon = LocalFrame(*HANGZHOU).to_wgs84(0.0, 100.0)
            say(f"guided {lat:.7f} {lon:.7f} 20")
            # 100 m at 12 m/s plus 4.8 s of speeding up and slowing down: ~13 mission s
            assert wait_for(lambda: vehicle.state.north_m > 98.0, 15)
            assert abs(vehicle.state.east_m) < 2.0 and vehicle.state.mode == "GUIDED"
            say("mode rtl")
            assert wait_for(lambda: vehicle.state.mode == "RTL", 10)
        finally:
            say("exit")
            try:
                out, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
        assert "Got COMMAND_ACK: NAV_TAKEOFF: ACCEPTED" in out
        assert math.isfinite(vehicle.state.alt_rel_m)
