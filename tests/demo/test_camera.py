"""The patrol camera against the detection pipeline's geometry, with an oracle in the model's seat.

The oracle returns each frame's true boxes, so what is measured is the demo's own plumbing:
the pose a frame is rendered from must be the pose detection georeferences it with.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest

from api.demo.camera import PatrolCameras
from api.demo.scenario import Scenario
from detection.detections import Detections

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class Oracle:
    """A detector that sees exactly the true boxes of the frame just rendered."""

    names = ("street_stall", "mobile_fuel_sale")

    def __init__(self) -> None:
        self.boxes: list = []

    def predict(self, images):
        n = len(self.boxes)
        return [Detections(np.array([b.xyxy for b in self.boxes], float).reshape(n, 4),
                           np.full(n, 0.9), np.array([b.class_id for b in self.boxes], int),
                           np.full(n, -1))] * len(images)

    def reset_tracker(self) -> None:
        pass


class Drone:
    def __init__(self, scenario: Scenario, east: float, north: float, heading: float) -> None:
        self.frame = scenario.town.frame
        self.move(east, north, heading)

    def move(self, east: float, north: float, heading: float, mode: str = "AUTO") -> None:
        lat, lon = self.frame.to_wgs84(east, north)
        self.state = SimpleNamespace(mode=mode, alt_rel_m=60.0, lat=float(lat), lon=float(lon),
                                     east_m=east, north_m=north, heading_deg=heading)


@pytest.fixture(scope="module")
def scenario():
    return Scenario(seed=7, duration_s=600, zone_ids=["com-gushan"], incidents=3,
                    present_share=1.0)


@pytest.mark.parametrize("heading_deg", [0.0, 30.0, 90.0, 215.0])
def test_a_seen_violation_is_placed_where_it_stands(scenario, heading_deg):
    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m + 12.0, inc.north_m - 7.0, heading_deg)
    oracle, posted = Oracle(), []
    cams = PatrolCameras(scenario, [("drone-1", drone)], now=lambda: NOW,
                         post=lambda cs: posted.extend(cs) or len(cs), patrol_alt_m=60.0,
                         detector=oracle)
    render = cams.camera.render

    def render_and_tell(pose, *a, **kw):
        frame = render(pose, *a, **kw)
        oracle.boxes = frame.boxes
        return frame

    cams.camera.render = render_and_tell
    assert cams.step() is True
    assert inc.object_id in cams.stats.first_seen_s
    mine = [c for c in posted
            if math.dist(scenario.town.frame.to_local(c.lat, c.lon), (inc.east_m, inc.north_m)) < 5]
    assert len(mine) == 1
    east, north = scenario.town.frame.to_local(mine[0].lat, mine[0].lon)
    # nadir: the box centre is the footprint's centre; only pixel rounding remains
    assert math.hypot(east - inc.east_m, north - inc.north_m) < 1.0
    assert mine[0].type == inc.type


def test_frames_come_once_per_spacing_and_only_on_patrol(scenario):
    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m, inc.north_m, 90.0)
    cams = PatrolCameras(scenario, [("drone-1", drone)], now=lambda: NOW,
                         post=len, patrol_alt_m=60.0, overlap=0.2, detector=Oracle())
    # 480 px of image along the track at 60 m, 84 deg diagonal: 60 * 480 / 444.2 = 64.8 m
    assert cams.spacing_m == pytest.approx(0.8 * 60 * 480 / (400 / math.tan(math.radians(42))),
                                           rel=1e-6)
    assert cams.step() is True
    assert cams.step() is False  # it has not moved
    drone.move(inc.east_m + cams.spacing_m * 0.9, inc.north_m, 90.0)
    assert cams.step() is False
    drone.move(inc.east_m + cams.spacing_m * 1.01, inc.north_m, 90.0)
    assert cams.step() is True
    drone.move(inc.east_m + cams.spacing_m * 3, inc.north_m, 90.0, mode="GUIDED")
    assert cams.step() is False  # off patrol (flying to an event): no frames
    assert cams.stats.frames == 2
