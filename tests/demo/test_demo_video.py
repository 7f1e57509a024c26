"""`flyonce demo --video-fps`: each drone's camera served as MJPEG, named in the fleet file, and
read by the demo's own service (docs/video.md)."""

from __future__ import annotations

import json

import pytest

from api.demo.orchestrator import Demo, DemoConfig
from tests.api.conftest import wait_for

pytestmark = pytest.mark.slow


def test_the_demo_serves_and_shows_each_drones_camera(tmp_path) -> None:
    config = DemoConfig(seed=7, drones=2, duration_min=1, data_dir=tmp_path / "demo", port=0,
                        video_fps=2)
    with Demo(config) as demo:
        demo._stage()  # the fleet, its cameras and the service; no mission flown
        fleet = json.loads((demo.run_dir / "fleet.json").read_text())
        videos = {d["id"]: d.get("video") for d in fleet["drones"]}
        assert sorted(videos) == ["drone-1", "drone-2"]
        assert all(url.startswith("http://127.0.0.1:") and url.endswith(f"/video/{did}.mjpg")
                   for did, url in videos.items())
        streams = wait_for(
            lambda: demo.client.get("/api/v1/video/drones", headers=demo.headers["operator"]).json(),
            lambda s: len(s) == 2 and all(x["state"] == "live" and x["frames"] >= 2 for x in s),
            wall_s=60, poll_s=0.5)
        assert [s["drone_id"] for s in streams] == ["drone-1", "drone-2"]
