"""Shared fixtures: the shipped detector and a rendered patrol clip over the sample town."""

import json

import numpy as np
import pytest

from detection.model import DEFAULT_WEIGHTS, Detector
from simulators.camera import DroneCamera
from simulators.camera.patrol import PatrolPlan, write_clip
from simulators.town.sample import sample_world


def rendered_crops(size_px: int = 320, seed: int = 0):
    """Rendered crops of a 300 m town (seed 7), each cut around a true box of its frame when it
    has one: ``(image_bgr, true boxes)``, without end."""
    from simulators.camera.dataset import crop, sample_pose
    from simulators.camera.randomise import Look
    from simulators.town import build_town

    cam = DroneCamera(build_town(7, bounds_m=(-150.0, -150.0, 150.0, 150.0)))
    rng = np.random.default_rng(seed)
    while True:
        frame = cam.render(sample_pose(cam.town, rng), Look.sample(rng), rng)
        yield crop(frame, size_px, rng, around=True)


@pytest.fixture(scope="session")
def detector():
    return Detector(DEFAULT_WEIGHTS)


@pytest.fixture(scope="session")
def world_plan():
    """A short nadir patrol at 60 m over the densest 80 m x 60 m patch of violations."""
    world = sample_world()
    pts = np.array([(g.east_m, g.north_m) for g in world.violations()])
    counts = [np.sum((np.abs(pts[:, 0] - e) < 40) & (np.abs(pts[:, 1] - n) < 30)) for e, n in pts]
    e, n = pts[int(np.argmax(counts))]
    plan = PatrolPlan(e - 40, n - 30, e + 40, n + 30, alt_rel_m=60.0, speed_mps=8.0, fps=2.0,
                      lane_spacing_m=80.0)
    return world, plan


@pytest.fixture(scope="session")
def clip(tmp_path_factory, world_plan):
    """The patrol written as a DJI-style clip: .mp4, .SRT and truth."""
    world, plan = world_plan
    paths = write_clip(DroneCamera(world), plan, tmp_path_factory.mktemp("clip") / "patrol",
                       seed=3)
    truth = json.loads(paths["truth"].read_text())["violations"]
    return paths, truth, world
