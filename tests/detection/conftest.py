"""Shared fixtures: the shipped detector and a rendered patrol clip over the sample town."""

import json

import numpy as np
import pytest

from detection.model import DEFAULT_WEIGHTS, Detector
from simulators.camera import DroneCamera
from simulators.camera.patrol import PatrolPlan, write_clip
from simulators.town.sample import sample_world


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
