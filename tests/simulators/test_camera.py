"""The drone camera: pinhole geometry by hand, rendered boxes where the truth is, YOLO export."""

import math
from pathlib import Path

import numpy as np
import pytest

from simulators.camera import CameraPose, DroneCamera, Intrinsics, Look
from simulators.camera.dataset import SplitSpec, export_yolo
from simulators.camera.geometry import ground_to_image, image_to_ground, project
from simulators.town import build_town

INTR = Intrinsics(640, 480, 84.0)
# half diagonal 400 px over tan(42 deg): the focal length of an 84 deg, 640x480 camera
F_PX = 400 / math.tan(math.radians(42))


@pytest.fixture(scope="module")
def town():
    return build_town(11, bounds_m=(-250, -250, 250, 250))


def test_focal_length_of_84_degree_camera():
    assert INTR.focal_px == pytest.approx(F_PX)
    assert F_PX == pytest.approx(444.25, abs=0.01)


def test_the_default_camera_is_1280x960_and_shows_a_2_m_stall_at_120_m_as_15_px():
    cam = Intrinsics()
    assert (cam.width_px, cam.height_px, cam.diag_fov_deg) == (1280, 960, 84.0)
    # half diagonal 800 px over tan(42 deg) = 888.5 px; 2 m at 120 m: 2 * 888.5 / 120 = 14.8 px
    assert 2.0 * cam.focal_px / 120.0 == pytest.approx(14.81, abs=0.01)


@pytest.mark.parametrize("alt", [30.0, 60.0, 120.0])
def test_nadir_footprint_is_image_size_times_altitude_over_focal(alt):
    pose = CameraPose(0, 0, alt, 0.0, -90.0)
    corners = image_to_ground(INTR, pose, np.array([[0, 0], [640, 0], [640, 480], [0, 480]]))
    width = corners[:, 0].max() - corners[:, 0].min()
    depth = corners[:, 1].max() - corners[:, 1].min()
    assert width == pytest.approx(640 * alt / F_PX)
    assert depth == pytest.approx(480 * alt / F_PX)


@pytest.mark.parametrize("heading,point,expected_uv", [
    # heading north, a point 10 m north at 60 m: up the image by f*10/60 px
    (0.0, (0.0, 10.0), (320.0, 240.0 - F_PX * 10 / 60)),
    # heading east: east is up the image, north is to the left
    (90.0, (10.0, 0.0), (320.0, 240.0 - F_PX * 10 / 60)),
    (90.0, (0.0, 10.0), (320.0 - F_PX * 10 / 60, 240.0)),
    # heading south: north is down the image
    (180.0, (0.0, 10.0), (320.0, 240.0 + F_PX * 10 / 60)),
])
def test_nadir_projection_follows_the_heading(heading, point, expected_uv):
    h = ground_to_image(INTR, CameraPose(0, 0, 60.0, heading, -90.0))
    assert project(h, np.array([point]))[0] == pytest.approx(expected_uv)


def test_oblique_centre_ray_meets_ground_at_alt_over_tan_pitch():
    # pitch -45: the optical axis meets the ground as far ahead as the drone is high
    pose = CameraPose(100.0, 200.0, 50.0, 90.0, -45.0)
    centre = image_to_ground(INTR, pose, np.array([[320.0, 240.0]]))[0]
    assert centre == pytest.approx([150.0, 200.0])


@pytest.mark.parametrize("pose", [CameraPose(3, -7, 35, 17, -90), CameraPose(0, 0, 110, 250, -60),
                                  CameraPose(-50, 20, 80, 123, -45)])
def test_project_and_back_round_trip(pose):
    uv = np.array([[0, 0], [639, 10], [320, 240], [17, 470]], dtype=float)
    ground = image_to_ground(INTR, pose, uv)
    assert project(ground_to_image(INTR, pose), ground) == pytest.approx(uv, abs=1e-6)


def test_rendered_boxes_sit_where_the_violations_are(town):
    g = town.violations()[3]
    cam = DroneCamera(town, INTR)
    pose = CameraPose(g.east_m + 4.0, g.north_m - 6.0, 50.0, 30.0, -90.0)
    frame = cam.render(pose)
    box = next(b for b in frame.boxes if b.object_id == g.object_id)
    cx, cy = (box.xyxy[0] + box.xyxy[2]) / 2, (box.xyxy[1] + box.xyxy[3]) / 2
    back = image_to_ground(INTR, pose, np.array([[cx, cy]]))[0]
    # a rectangle's box centre is its centre under a nadir view (affine)
    assert back == pytest.approx([g.east_m, g.north_m], abs=0.05)
    assert frame.image_bgr.shape == (480, 640, 3)


def test_every_box_is_inside_the_frame_and_labelled(town):
    cam = DroneCamera(town, INTR)
    rng = np.random.default_rng(4)
    g = town.violations()[0]
    frame = cam.render(CameraPose(g.east_m, g.north_m - 40, 70, 0, -55), Look.sample(rng), rng)
    assert frame.boxes
    for b in frame.boxes:
        x0, y0, x1, y1 = b.xyxy
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
        assert b.label in ("street_stall", "mobile_fuel_sale")
        assert b.class_id == ("street_stall", "mobile_fuel_sale").index(b.label)


@pytest.mark.parametrize("pitch,alt", [(-30.0, 60.0), (-95.0, 60.0), (-90.0, 0.5)])
def test_impossible_poses_are_refused_with_a_reason(town, pitch, alt):
    with pytest.raises(ValueError, match="pitch|altitude"):
        DroneCamera(town, INTR).render(CameraPose(0, 0, alt, 0, pitch))


def test_randomised_looks_change_the_pixels_not_the_boxes(town):
    cam = DroneCamera(town, INTR)
    pose = CameraPose(0, 0, 60, 0, -90)
    clear = cam.render(pose)
    rng = np.random.default_rng(1)
    hazy = cam.render(pose, Look.sample(rng), rng)
    assert [b.xyxy for b in hazy.boxes] == [b.xyxy for b in clear.boxes]
    assert np.abs(hazy.image_bgr.astype(int) - clear.image_bgr.astype(int)).mean() > 3


def test_yolo_export_writes_normalised_labels(tmp_path):
    splits = {"train": SplitSpec((1,), 3, 1, crop_px=320), "val": SplitSpec((2,), 2, 2),
              "test": SplitSpec((3,), 2, 3)}
    data = export_yolo(tmp_path, splits, town_size_m=300)
    text = data.read_text()
    assert "train: images/train" in text and "0: street_stall" in text
    assert "1: mobile_fuel_sale" in text
    assert len(list((tmp_path / "images" / "train").glob("*.jpg"))) == 6  # 2 crops a frame
    assert len(list((tmp_path / "images" / "test").glob("*.jpg"))) == 2
    rows = [line.split() for p in (tmp_path / "labels").rglob("*.txt")
            for line in p.read_text().splitlines()]
    assert rows, "the rendered frames should hold at least one violation"
    for r in rows:
        assert r[0] in ("0", "1") and len(r) == 5
        assert all(0.0 <= float(v) <= 1.0 for v in r[1:])


def test_a_per_town_split_renders_the_same_files_in_one_process_or_two(tmp_path):
    """Each town of a per_town split draws from its own stream, seeded by (split seed, town),
    so the images do not depend on how many processes render them. 5 frames over 2 towns: the
    first town takes the remainder, 3 frames (6 crops), the second 2 (4 crops)."""
    spec = SplitSpec((1, 2), 5, 1, crop_px=320, per_town=True)
    export_yolo(tmp_path / "one", {"train": spec}, town_size_m=300, workers=1)
    export_yolo(tmp_path / "two", {"train": spec}, town_size_m=300, workers=2)
    one = sorted(p.name for p in (tmp_path / "one" / "images" / "train").glob("*.jpg"))
    assert sum(n.startswith("train_t1_") for n in one) == 6
    assert sum(n.startswith("train_t2_") for n in one) == 4
    two = sorted(p.name for p in (tmp_path / "two" / "images" / "train").glob("*.jpg"))
    assert one == two
    for name in one:
        assert ((tmp_path / "one" / "images" / "train" / name).read_bytes()
                == (tmp_path / "two" / "images" / "train" / name).read_bytes()), name


@pytest.mark.parametrize("frames,towns", [(3, 4), (10, 0)])
def test_a_large_train_split_needs_a_frame_for_every_town(frames, towns):
    from simulators.camera.dataset import large_train_split

    with pytest.raises(ValueError, match="at least one frame a town"):
        large_train_split(frames, towns)


def test_a_later_first_town_gives_new_towns_but_never_the_held_out_ones():
    from simulators.camera.dataset import large_train_split

    assert large_train_split(80, 40, first_town=141).town_seeds == tuple(range(141, 181))
    # 181..220 would take the val town 201; 300..302 the test towns
    with pytest.raises(ValueError, match=r"held-out town\(s\) \[201\]"):
        large_train_split(80, 40, first_town=181)
    with pytest.raises(ValueError, match=r"\[301, 302\]"):
        large_train_split(3, 3, first_town=300)
    with pytest.raises(ValueError, match="1 or more, got 0"):
        large_train_split(3, 3, first_town=0)


def test_dataset_command_renders_a_larger_train_split_and_only_the_splits_asked(tmp_path):
    import typer
    from typer.testing import CliRunner

    from simulators.camera.cli import dataset

    app = typer.Typer()
    app.command()(dataset)
    result = CliRunner().invoke(app, [str(tmp_path / "ds"), "--train-frames", "2",
                                      "--train-towns", "2", "--only", "train"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "ds" / "images" / "train").glob("*.jpg"))
    # towns 101 and 102, one frame each, two crops a frame
    assert names == ["train_t101_00000_0.jpg", "train_t101_00000_1.jpg",
                     "train_t102_00000_0.jpg", "train_t102_00000_1.jpg"]
    assert not (tmp_path / "ds" / "images" / "val").exists()
    assert "val:" not in (tmp_path / "ds" / "data.yaml").read_text()
    later = CliRunner().invoke(app, [str(tmp_path / "ds2"), "--train-frames", "1",
                                     "--train-towns", "1", "--first-town", "141",
                                     "--only", "train"])
    assert later.exit_code == 0, later.output
    assert sorted(p.name for p in (tmp_path / "ds2" / "images" / "train").glob("*.jpg")) == [
        "train_t141_00000_0.jpg", "train_t141_00000_1.jpg"]
    clash = CliRunner().invoke(app, [str(tmp_path / "x"), "--train-frames", "2",
                                     "--first-town", "200", "--train-towns", "2"])
    assert clash.exit_code != 0 and "held-out" in clash.output
    bad = CliRunner().invoke(app, [str(tmp_path / "x"), "--only", "tset"])
    assert bad.exit_code != 0 and "no split named tset" in bad.output


def test_clip_command_writes_video_sidecar_and_truth(tmp_path):
    import json

    import cv2
    import typer
    from typer.testing import CliRunner

    from simulators.camera.cli import clip

    app = typer.Typer()
    app.command()(clip)
    result = CliRunner().invoke(app, [str(tmp_path / "p"), "--size-m", "40", "--east-m", "100"])
    assert result.exit_code == 0, result.output
    paths = json.loads(result.stdout)
    cap = cv2.VideoCapture(paths["video"])
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    # one 40 m leg at 8 m/s, 2 frames a second: 10 frames, one SRT block each
    assert frames == 10
    assert Path(paths["srt"]).read_text().count("-->") == 10
    assert "violations" in json.loads(Path(paths["truth"]).read_text())


def test_dataset_command_shows_progress_on_stderr_and_prints_the_yaml(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from simulators.camera import dataset as dataset_module
    from simulators.camera.cli import dataset

    monkeypatch.setattr(dataset_module, "DEFAULT_SPLITS", {
        "train": SplitSpec((1,), 3, 1, crop_px=320), "val": SplitSpec((2,), 2, 2)})
    app = typer.Typer()
    app.command()(dataset)
    result = CliRunner().invoke(app, [str(tmp_path / "ds")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "ds" / "data.yaml")
    # each split's bar ends at its frame count (3 frames of train, 2 of val)
    assert "3/3" in result.stderr and "2/2" in result.stderr
    assert len(list((tmp_path / "ds" / "images" / "train").glob("*.jpg"))) == 6


def test_views_aimed_at_an_object_hold_it_and_its_crop_does_too(town):
    """A view aimed at an object is centred within 0.35 x altitude of it; a nadir frame spans
    +-240/444 = +-0.54 x altitude across its short side, so the object is in the frame (oblique
    views step back to centre the same spot, mostly). The crop cut around it keeps it within 35 % of the
    side from its centre, shifted inward at the frame's edge, so it is always in the crop."""
    from simulators.camera.dataset import crop, sample_view

    cam = DroneCamera(town, INTR)
    rng = np.random.default_rng(5)
    kinds = {o.object_id: o.kind for o in town.objects}
    by_place = {(o.east_m, o.north_m): o.object_id for o in town.objects}
    aimed, inside, lookalike_views = 0, 0, 0
    for _ in range(60):
        pose, target = sample_view(town, rng)
        if target is None:
            continue
        aimed += 1
        lookalike_views += kinds[by_place[target]] in ("van", "delivery_tricycle", "market_stall")
        u, v = project(ground_to_image(INTR, pose), np.array([target]))[0]
        if not (0 <= u < 640 and 0 <= v < 480):
            continue
        inside += 1
        frame = cam.render(pose)
        image, _ = crop(frame, 320, rng, around=True, centre_px=(u, v))
        assert image.shape == (320, 320, 3)
        # the crop is the frame's pixels at some offset: find it and check the object is inside
        left, top = _offset_of(image, frame.image_bgr)
        assert left <= u < left + 320 and top <= v < top + 320
    # 80 % of views are aimed (48 of 60 here), a quarter of those at look-alikes: 12 expected
    # of 60, binomial sd 3.1; seed 5 gives 7
    assert aimed >= 40 and lookalike_views >= 5
    # an oblique view (below -75 deg) sees less ground on its near side than 0.35 x altitude, so
    # an object aimed at can fall just outside it (1 of 48 here; its crop falls back to a
    # random violation)
    assert inside >= 0.95 * aimed


def _offset_of(crop_bgr, frame_bgr):
    import cv2

    res = cv2.matchTemplate(frame_bgr, crop_bgr, cv2.TM_SQDIFF)
    _, _, (x, y), _ = cv2.minMaxLoc(res)
    return x, y
