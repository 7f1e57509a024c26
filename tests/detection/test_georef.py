"""Georeference: pixels to ground offsets, by hand and against the simulator's own camera."""

import math

import numpy as np
import pytest

from detection.georef import CameraModel, Pose, ground_offsets_m, position_error_m
from simulators.camera.geometry import (
    CameraPose,
    Intrinsics,
    ground_to_image,
    image_to_ground,
    project,
)

CAM = CameraModel(84.0)
F_PX = 400 / math.tan(math.radians(42))  # 640x480 at 84 deg diagonal


def pose(alt=60.0, heading=0.0, pitch=-90.0):
    return Pose(None, 29.5, 120.9, alt, heading, pitch)


@pytest.mark.parametrize("uv,heading,expected", [
    ((320, 240), 0.0, (0.0, 0.0)),
    ((320, 240 - F_PX * 10 / 60), 0.0, (0.0, 10.0)),  # up the image = ahead = north
    ((320 + F_PX * 5 / 60, 240), 0.0, (5.0, 0.0)),  # right = east when heading north
    ((320, 240 - F_PX * 10 / 60), 90.0, (10.0, 0.0)),  # heading east: up the image = east
    ((320, 240 - F_PX * 10 / 60), 225.0, (-10 / math.sqrt(2), -10 / math.sqrt(2))),
])
def test_nadir_offsets_by_hand(uv, heading, expected):
    off = ground_offsets_m(CAM, pose(heading=heading), np.array([uv]), 640, 480)[0]
    assert off == pytest.approx(expected, abs=1e-9)


def test_focal_length_follows_frame_size():
    # the same view downscaled to half size: the same pixel fraction lands on the same ground
    full = ground_offsets_m(CAM, pose(), np.array([[600.0, 50.0]]), 640, 480)
    half = ground_offsets_m(CAM, pose(), np.array([[300.0, 25.0]]), 320, 240)
    assert half == pytest.approx(full)


def test_oblique_centre_lands_alt_over_tan_pitch_ahead():
    off = ground_offsets_m(CAM, pose(alt=40.0, heading=0.0, pitch=-60.0),
                           np.array([[320, 240]]), 640, 480)[0]
    assert off == pytest.approx([0.0, 40.0 / math.tan(math.radians(60))])


def test_rays_above_the_horizon_are_nan():
    off = ground_offsets_m(CAM, pose(pitch=-10.0), np.array([[320, 0]]), 640, 480)
    assert np.isnan(off).all()


@pytest.mark.parametrize("alt,heading,pitch", [(30, 10, -90), (60, 200, -75), (120, 300, -50),
                                               (80, 45, -60)])
def test_inverse_of_the_simulators_camera(alt, heading, pitch):
    # two implementations of one pinhole model: the simulator projects, detection unprojects
    sim_pose = CameraPose(0.0, 0.0, alt, heading, pitch)
    uv = np.array([[10.0, 470.0], [320.0, 240.0], [600.0, 60.0], [35.0, 20.0]])
    ground = image_to_ground(Intrinsics(640, 480, 84.0), sim_pose, uv)
    assert project(ground_to_image(Intrinsics(640, 480, 84.0), sim_pose), ground) == (
        pytest.approx(uv))
    back = ground_offsets_m(CAM, pose(alt, heading, pitch), uv, 640, 480)
    assert back == pytest.approx(ground, abs=1e-6)


def test_position_error_grows_with_range_and_is_gnss_at_least():
    offs = np.array([[0.0, 0.0], [0.0, 100.0]])
    err = position_error_m(CAM, pose(), offs, 640, 480)
    assert err[0] >= 1.5 and err[1] > err[0]
