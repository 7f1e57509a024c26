"""The bazaar, dusk and varied scene styles: the same frame from the same seed, labels where the
pixels were drawn, look-alikes left unlabelled, sizes that follow the ground sampling distance,
and `flyonce dataset --style` writing YOLO files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulators import bazaar, dusk
from simulators.camera.geometry import CameraPose, Intrinsics, ground_to_image, project
from simulators.styles import STYLES, TRAINING_STYLES, render_style
from simulators.varied import paint as varied

SMALL = Intrinsics(640, 480, 84.0)
FULL = Intrinsics()
# the focal length of the 1280x960, 84 deg camera: half its 1600 px diagonal over tan(42 deg)
F_PX = 800 / math.tan(math.radians(42))
LOOKALIKES = {"bazaar": ("empty_pickup", "parcel_tricycle", "cafe_umbrellas", "permitted_market"),
              "dusk": ("bare_flatbed", "box_van", "parcel_trike", "cafe_parasols",
                       "permitted_market"),
              "varied": varied.LOOKALIKE_KINDS}
SEEDED = ["bazaar", "dusk", "varied"]


@pytest.fixture(scope="module")
def frames():
    """Six frames a style, small, with the id of the top thing under each pixel."""
    return {s: [render_style(s, seed, SMALL, with_ids=True) for seed in range(6)]
            for s in SEEDED}


def test_the_styles_are_the_town_and_the_two_new_ones_and_one_that_only_trains():
    assert STYLES == ("town", "bazaar", "dusk")
    assert TRAINING_STYLES == ("varied",)
    with pytest.raises(ValueError, match="no seeded renderer"):
        render_style("town", 0)


@pytest.mark.parametrize("style", SEEDED)
def test_a_seed_draws_the_same_frame_and_another_seed_another(style, frames):
    again = render_style(style, 3, SMALL)
    first = frames[style][3]
    assert np.array_equal(again.image_bgr, first.image_bgr)
    assert [b.xyxy for b in again.boxes] == [b.xyxy for b in first.boxes]
    assert not np.array_equal(frames[style][4].image_bgr, first.image_bgr)
    assert first.image_bgr.shape == (480, 640, 3)


@pytest.mark.parametrize("style", SEEDED)
def test_every_label_box_holds_the_pixels_of_its_thing(style, frames):
    checked = 0
    for f in frames[style]:
        for b in f.boxes:
            ys, xs = np.nonzero(f.ids == b.object_id + 1)
            assert len(xs), f"labelled thing {b.object_id} has no pixel"
            x0, y0, x1, y1 = b.xyxy
            # its pixels lie in the box (a pixel centre is at most 1 px past a polygon edge)
            assert xs.min() >= x0 - 1 and xs.max() <= x1 + 1
            assert ys.min() >= y0 - 1 and ys.max() <= y1 + 1
            # and the box is not much larger than what shows of it (nothing hides half of it
            # and the frame edge cuts at most half, by the labelling rule)
            assert (xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1) >= \
                0.25 * (x1 - x0) * (y1 - y0)
            checked += 1
    assert checked >= 10  # six frames a style hold 2 to 10 violations each


@pytest.mark.parametrize("style", SEEDED)
def test_lookalikes_are_drawn_and_never_labelled(style, frames):
    seen = set()
    for f in frames[style]:
        labelled = {b.object_id for b in f.boxes}
        for d in f.drawn:
            if d.kind in LOOKALIKES[style]:
                seen.add(d.kind)
                assert d.label is None and d.item_id not in labelled
            if d.label is not None:
                assert d.kind not in LOOKALIKES[style]
    assert len(seen) >= 3, seen


# varied: 30-95 m drawn; the pose is the camera of the view, whose zoom (1 to 1 / 0.9) brings it
# down to 0.9 of that and whose oblique quad lifts it up to 1.05 times (the most in 3,000 views)
@pytest.mark.parametrize(("style", "low", "high"), [("bazaar", 40, 90), ("dusk", 40, 90),
                                                  ("varied", 27, 95 * 1.05)])
def test_frames_are_at_their_altitudes_and_labels_are_both_classes(style, low, high, frames):
    alts = [f.pose.alt_rel_m for f in frames[style]]
    assert all(low <= a <= high for a in alts)
    classes = {b.class_id for f in frames[style] for b in f.boxes}
    assert classes == {0, 1}


def test_a_5_by_2_m_pickup_at_90_m_is_49_by_20_px_in_the_bazaar():
    # nadir, heading north: its 5 m length runs up the image, f * 5 / 90 = 49.36 px
    rng = np.random.default_rng(0)
    scene = bazaar.Scene((0.0, 0.0), 0.0, 8.0, 4.0, None,
                         {"road": "asphalt", "walk": "slabs", "block": "grass"},
                         {"asphalt": (70, 70, 70), "slabs": (180, 180, 180),
                          "grass": (60, 120, 80)})
    scene.things.append(bazaar.Thing("pickup_drums", 0.0, 0.0, 0.0, [bazaar.Part(
        np.array([[2.5, -1.0], [2.5, 1.0], [-2.5, 1.0], [-2.5, -1.0]]), (240, 240, 240), 1.0)],
        "mobile_fuel_sale"))
    f = bazaar.render(scene, CameraPose(0, 0, 90.0, 0.0, -90.0), FULL, rng, with_ids=True,
                      sensor=False)
    (box,) = f.boxes
    x0, y0, x1, y1 = box.xyxy
    assert y1 - y0 == pytest.approx(5.0 * F_PX / 90, abs=0.1)
    assert x1 - x0 == pytest.approx(2.0 * F_PX / 90, abs=0.1)
    assert (x0 + x1) / 2 == pytest.approx(640, abs=0.1)
    # the drawn pixels: OpenCV fills every pixel an edge touches, so up to one more each side
    ys, xs = np.nonzero(f.ids == 1)
    assert 49.4 - 1 <= ys.max() - ys.min() + 1 <= 49.4 + 2
    assert 19.7 - 1 <= xs.max() - xs.min() + 1 <= 19.7 + 2


def test_a_flat_dusk_sheet_at_90_m_follows_the_gsd_and_the_shared_ground_homography():
    rng = np.random.default_rng(0)
    street = dusk.Street(0.0, 8.0, 4.0, False, "gravel", "brick", "grass",
                         {k: (1.0, 1.0, 1.0) for k in ("road", "walk", "verge")})
    # a 2.6 x 1.6 m ground sheet, 4 cm thick, 10 m north and 5 m east of the point below
    street.bodies.append(dusk.Body("ground_sheet", 5.0, 10.0, 0.0, [dusk.scene.box(
        2.6, 1.6, 0.0, 0.04, (0.9, 0.2, 0.2))], "street_stall"))
    pose = CameraPose(0, 0, 90.0, 0.0, -90.0)
    f = dusk.render(street, pose, FULL, rng, with_ids=True, weather=False)
    (box,) = f.boxes
    x0, y0, x1, y1 = box.xyxy
    # its top is 4 cm nearer the camera: f * 2.6 / 89.96 px long, f * 1.6 / 89.96 px wide
    assert y1 - y0 == pytest.approx(2.6 * F_PX / 89.96, abs=0.05)
    assert x1 - x0 == pytest.approx(1.6 * F_PX / 89.96, abs=0.05)
    # on the ground, dusk's own 3-D projection agrees with the camera's ground homography
    for pitch in (-90.0, -70.0, -55.0):
        p = CameraPose(3.0, -40.0, 60.0, 30.0, pitch)
        en = np.array([[5.0, 10.0], [-7.0, 2.0]])
        uv, depth = dusk.camera_points(FULL, p, np.column_stack([en, [0.0, 0.0]]))
        assert uv == pytest.approx(project(ground_to_image(FULL, p), en), abs=1e-6)
        assert (depth > 0).all()


def test_an_oblique_dusk_frame_keeps_its_labels_on_the_things():
    # seeds with an oblique pose (pitch above -80) still put every label on its pixels
    oblique = [f for f in (render_style("dusk", s, SMALL, with_ids=True) for s in range(6, 14))
               if f.pose.gimbal_pitch_deg > -80]
    assert oblique
    for f in oblique:
        assert -90.0 <= f.pose.gimbal_pitch_deg <= -55.0
        for b in f.boxes:
            ys, xs = np.nonzero(f.ids == b.object_id + 1)
            assert xs.min() >= b.xyxy[0] - 1 and xs.max() <= b.xyxy[2] + 1
            assert ys.min() >= b.xyxy[1] - 1 and ys.max() <= b.xyxy[3] + 1


def test_h264_leaves_a_frame_close_but_not_equal():
    rng = np.random.default_rng(1)
    img = (rng.uniform(0, 255, (64, 96, 3))).astype(np.uint8)
    img = np.repeat(np.repeat(img[::8, ::8], 8, 0), 8, 1)[:64, :96]  # blocky, easy to code
    out = dusk.h264(img, 30)
    assert out.shape == img.shape
    err = np.abs(out.astype(int) - img.astype(int)).mean()
    assert 0 < err < 20


@pytest.mark.parametrize("style", SEEDED)
def test_dataset_command_writes_yolo_files_for_the_style(style, tmp_path):
    import typer
    from typer.testing import CliRunner

    from simulators.camera.cli import dataset

    app = typer.Typer()
    app.command()(dataset)
    out = tmp_path / style
    result = CliRunner().invoke(app, [str(out), "--style", style, "--train-frames", "2",
                                      "--val-frames", "1", "--test-frames", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out / "data.yaml")  # the bar is on stderr
    counts = {}
    for split, want in (("train", 4), ("val", 2), ("test", 1)):  # crops: 2 a frame
        images = sorted((out / "images" / split).glob("*.jpg"))
        labels = sorted((out / "labels" / split).glob("*.txt"))
        assert [p.stem for p in images] == [p.stem for p in labels]
        assert len(images) == want
        for lab in labels:
            for line in lab.read_text().splitlines():
                c, *xywh = line.split()
                assert c in ("0", "1") and len(xywh) == 4
                cx, cy, w, h = map(float, xywh)
                assert 0 < w <= 1 and 0 < h <= 1
                assert 0 <= cx - w / 2 + 1e-6 and cx + w / 2 <= 1 + 1e-6
                assert 0 <= cy - h / 2 + 1e-6 and cy + h / 2 <= 1 + 1e-6
                counts[split] = counts.get(split, 0) + 1
    text = (out / "data.yaml").read_text()
    assert "0: street_stall" in text and "1: mobile_fuel_sale" in text
    assert counts.get("train", 0) >= 1  # the crops are cut around a violation
    bad = CliRunner().invoke(app, [str(tmp_path / "x"), "--style", "watercolour"])
    assert bad.exit_code != 0 and "no style" in bad.output


def test_the_varied_view_puts_the_canvas_centre_at_the_frame_centre_at_the_gsd():
    # nadir (no tilt drawn): the homography is a turn and a zoom of 1 to 1/0.9 about the centre,
    # so a metre on the ground (f / alt px on the canvas) is f / alt to f / alt / 0.9 px
    side = varied._canvas_px(1280, 960)
    for seed in range(40):
        rng = np.random.default_rng(seed)
        H = varied._view(rng, 1280, 960, side)
        pitch = varied.view_camera(H, FULL, F_PX / 30.0).pitch_deg

        def px(x, y, H=H):
            p = H @ [side / 2 + x, side / 2 + y, 1.0]
            return p[:2] / p[2]

        if pitch < -90.0 + 1e-3:  # nadir, to the float32 homography's rounding
            assert px(0, 0) == pytest.approx([640, 480], abs=1e-3)
            assert 100.0 - 1e-3 <= float(np.hypot(*(px(100, 0) - [640, 480]))) <= 100.0 / 0.9 + 1e-3
        else:  # oblique, up to 16 deg from nadir: the far (top) edge takes in more ground
            assert -90.0 < pitch <= -74.0
            inv = np.linalg.inv(H)

            def ground(u, v, inv=inv):
                g = inv @ [u, v, 1.0]
                return g[:2] / g[2]

            top = np.hypot(*(ground(1280, 0) - ground(0, 0)))
            bottom = np.hypot(*(ground(1280, 960) - ground(0, 960)))
            assert top > bottom * (1 + 1e-6)


def test_the_camera_of_a_nadir_view_stands_over_the_canvas_centre_at_the_zoomed_altitude():
    # a nadir view maps canvas px to frame px by a turn and a zoom of 1 / z about the centre, so
    # a ground metre (ppm canvas px) is ppm / z frame px = f / height: height = f z / ppm
    side = varied._canvas_px(1280, 960)
    ppm = F_PX / 40.0  # drawn for 40 m
    seen = 0
    for seed in range(20):
        H = varied._view(np.random.default_rng(seed), 1280, 960, side)
        camera = varied.view_camera(H, FULL, ppm)
        if camera.pitch_deg > -90.0 + 1e-3:
            # oblique: the camera stands back from the far (wider) edge, so nearer the near one
            inv = np.linalg.inv(H)
            far, near = (inv @ [640, 0, 1.0]), (inv @ [640, 960, 1.0])
            far, near = far[:2] / far[2], near[:2] / near[2]
            assert np.linalg.norm(camera.nadir_px - near) < np.linalg.norm(camera.nadir_px - far)
            continue
        seen += 1
        zoom = float(np.hypot(*(np.linalg.inv(H)[:2, :2] @ [1.0, 0.0])))  # canvas px a frame px
        assert camera.nadir_px == pytest.approx([side / 2, side / 2], abs=1e-3)  # float32 H
        assert camera.height_m == pytest.approx(40.0 * zoom, rel=1e-5)
        assert 0.9 - 1e-6 <= zoom <= 1.0 + 1e-6
    assert seen >= 5


def test_a_solid_leans_away_from_the_nadir_by_its_height_over_the_camera_height():
    # a 5 x 2 m box van, 2 m tall, its centre 20 m east of the nadir, the camera 30 m up: a
    # point h up is drawn where the ray through it meets the ground, r * 30 / (30 - h) from
    # the nadir. So its roof spans 17.5-22.5 m * 30 / 28 = 18.75-24.107 m east and +-1.071 m,
    # its base 17.5-22.5 m and +-1 m; what is drawn is both and the sides between them:
    # 17.5 to 24.107 m east, -1.071 to 1.071 m north-south.
    ppm, side = 10.0, 800
    nadir = np.array([100.0, 400.0])
    camera = varied.ViewCamera(nadir, 30.0, -90.0)
    look = varied.make_look(np.random.default_rng(1))
    look.outline = None
    van = varied.Item("van", "mobile_fuel_sale",
                      [varied.Shape(varied.rect(5.0, 2.0), (200, 200, 200), 2.0, depth_m=2.0)],
                      1, 30.0, 40.0)  # scene metres: the nadir (10, 40) + 20 m east
    placed = [[van.place(sh.pts) * ppm for sh in van.shapes]]
    canvas = np.zeros((side, side, 3), np.uint8)
    ids = np.zeros((side, side), np.uint16)
    outlines = varied.draw_items(canvas, ids, [van], placed, look, camera, ppm)
    ys, xs = np.nonzero(ids == 1)
    east = (np.array([xs.min(), xs.max() + 1]) - nadir[0]) / ppm
    north = (np.array([ys.min(), ys.max() + 1]) - nadir[1]) / ppm
    assert east == pytest.approx([17.5, 22.5 * 30 / 28], abs=0.15)  # a pixel and a half
    assert north == pytest.approx([-30 / 28, 30 / 28], abs=0.15)
    box = np.concatenate(outlines[0])
    assert (box.min(axis=0) - nadir) / ppm == pytest.approx([17.5, -30 / 28], abs=1e-9)
    assert (box.max(axis=0) - nadir) / ppm == pytest.approx([22.5 * 30 / 28, 30 / 28], abs=1e-9)
    # the side that faces the camera (the west face, seen between 17.5 and 18.75 m) is shaded,
    # the roof is the van's own colour
    row = int(nadir[1])
    assert tuple(canvas[row, int(nadir[0] + 18.1 * ppm)]) == varied._shade((200, 200, 200),
                                                                          look.side_k)
    assert tuple(canvas[row, int(nadir[0] + 21.0 * ppm)]) == (200, 200, 200)


def test_a_varied_drum_is_0_58_m_across_and_a_fuel_sale_holds_drums_or_a_tank():
    rng = np.random.default_rng(3)
    look = varied.make_look(rng)
    look.drum_lying = 0.0
    (body, *_top) = varied.drum(rng, look, 0.0, 0.0, 1.0)
    assert np.ptp(body.pts, axis=0) == pytest.approx([0.58, 0.58], abs=0.01)
    for form in varied.FUEL_FORMS:
        for _ in range(5):
            shapes = varied.fuel_sale(rng, look, form)
            # drums (0.58 m discs) or a tank (a 1.0-1.2 m square) are part of every fuel sale
            sizes = [np.ptp(sh.pts, axis=0) for sh in shapes if not sh.line_m]
            assert any(abs(w - 0.58) < 0.01 and abs(h - 0.58) < 0.01 for w, h in sizes) or \
                any(1.0 - 1e-6 <= w <= 1.2 + 1e-6 for w, _ in sizes), form
    for kind in ("empty_truck", "cargo_truck", "cargo_tricycle"):
        for _ in range(5):
            shapes, _layer = varied.lookalike(rng, look, kind)
            assert not any(abs(w - 0.58) < 0.01 and abs(h - 0.58) < 0.01
                           for w, h in (np.ptp(sh.pts, axis=0) for sh in shapes)), kind
