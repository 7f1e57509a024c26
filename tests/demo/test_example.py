"""`flyonce demo --example-only` as a newcomer runs it: over a folder an earlier demo left behind
and with its port taken, it empties the folder, links simulated copters for its drones and
serves on a free port it names."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from api.demo.cli import port_to_use
from tests.api.conftest import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_a_taken_port_is_swapped_for_a_free_one_and_said() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        port, note = port_to_use(busy)
        assert port != busy and note is not None and f"port {busy} is in use" in note
        assert f"free port {port}" in note
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert port_to_use(free) == (free, None)


def test_example_only_empties_its_folder_links_copters_and_moves_off_a_taken_port(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    (data / ".flyonce-demo").write_text("an earlier run\n")
    (data / "fleet.json").write_text('{"drones": [{"id": "drone-6", "url": "tcp:127.0.0.1:1", "dock": [29.5, 120.9]}]}')
    (data / "stale-report.html").write_text("old")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYONCE_")}
    env["PYTHONPATH"] = str(ROOT)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "api", "demo", "--example-only", "--port", str(busy), "--data-dir", str(data)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        try:
            lines: list[str] = []
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
                if "Uvicorn running" in line:
                    break
            out = "".join(lines)
            moved = re.search(rf"port {busy} is in use; serving on free port (\d+)", out)
            assert moved, out
            assert "3 simulated copters linked" in out, out
            assert not (data / "stale-report.html").exists()
            url = f"http://127.0.0.1:{moved.group(1)}"
            with httpx.Client(base_url=url, timeout=10) as http:
                token = http.post("/api/v1/auth/token", data={"username": "operator",
                                                              "password": DEMO_PASSWORD}).json()
                op = {"Authorization": f"Bearer {token['access_token']}"}
                assert http.get("/api/v1/events", headers=op).json()["total"] == 4
                drones: list[dict] = []
                while time.monotonic() < deadline:
                    drones = http.get("/api/v1/dispatch/drones", headers=op).json()
                    if len(drones) == 3 and all(d["last_heartbeat_at"] for d in drones):
                        break
                    time.sleep(0.3)
                assert sorted(d["id"] for d in drones) == ["drone-1", "drone-2", "drone-3"]
                assert all(d["status"] != "offline" and d["last_heartbeat_at"] for d in drones), drones
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
