"""The whole pipeline with the shipped weights on a rendered patrol clip, and its bad inputs."""

import math
from datetime import UTC, datetime

import cv2
import pytest

from detection.cli import run_detect
from detection.errors import SourceError, TelemetryError, WeightsError
from detection.model import DEFAULT_WEIGHTS, FRAME_WH, INFER_IMGSZ, Detector, letterbox_shape
from detection.pipeline import Pipeline
from detection.sources import open_source
from simulators.camera import CameraPose, DroneCamera, Intrinsics
from simulators.camera.patrol import live_frames

pytestmark = pytest.mark.slow

# Raise with better weights; see detection/weights/MODEL_CARD.md for the measured figures. The
# shipped weights find 15 of this clip's 16 violations (0.94; the previous weights 12, then 9,
# then 7); 0.8 (13 of 16) leaves two violations of margin for other BLAS/ONNX builds and catches
# a real regression (the previous weights' 12 would fail it).
RECALL_FLOOR = 0.8


def distance_m(lat0, lon0, lat1, lon1):
    return math.hypot((lat1 - lat0) * 111_195.0,
                      (lon1 - lon0) * 111_195.0 * math.cos(math.radians(lat0)))


def test_clip_finds_the_violations_it_flew_over(clip, detector):
    paths, truth, _ = clip
    candidates, stats = run_detect(paths["video"], detector=detector, rate_hz=2.0)
    assert stats["frames_skipped"] == 0 and stats["frames_used"] == stats["frames_in"] > 10
    assert truth, "the patrol was placed over violations"
    # a floor for the shipped CPU-trained weights (the benchmark measures the real figure): at
    # least RECALL_FLOOR of the true violations found and placed within 6 m, and no duplicates
    assert found_fraction(candidates, truth) >= RECALL_FLOOR
    for a in candidates:
        for b in candidates:
            if a is not b and a.type == b.type:
                assert distance_m(a.lat, a.lon, b.lat, b.lon) > 4.0
    for c in candidates:
        assert c.detected_at.tzinfo is not None
        assert c.detected_at >= datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
        assert c.sightings >= 2 and c.snapshot_jpeg[:2] == b"\xff\xd8"


def found_fraction(candidates, truth, within_m=6.0):
    """Share of true violations with a candidate of the same type within ``within_m``."""
    hits = sum(any(c.type == t["type"] and distance_m(t["lat"], t["lon"], c.lat, c.lon) < within_m
                   for c in candidates) for t in truth)
    return hits / len(truth)


def test_simulated_camera_is_a_live_source(clip, world_plan, detector):
    _, truth, _ = clip
    world, plan = world_plan
    detector.reset_tracker()
    pipe = Pipeline(detector, world.frame, source="detector:sim", drone_id="sim")
    candidates = pipe.run(live_frames(DroneCamera(world), plan, seed=3))
    assert pipe.stats.skipped == {} and pipe.stats.frames_used == pipe.stats.frames_in
    assert found_fraction(candidates, truth) >= RECALL_FLOOR


def test_rerun_gives_the_same_event_ids(clip, detector):
    paths, _, _ = clip
    a, _ = run_detect(paths["video"], detector=detector, rate_hz=1.0)
    b, _ = run_detect(paths["video"], detector=detector, rate_hz=1.0)
    assert [c.source_event_id for c in a] == [c.source_event_id for c in b]


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_letterbox_shape_is_the_frame_scaled_to_imgsz_and_padded_to_the_stride():
    assert letterbox_shape(1280) == (960, 1280)  # the survey camera's frame as it is
    assert letterbox_shape(640) == (480, 640)
    assert letterbox_shape(832, (640, 480)) == (640, 832)  # 480 x 1.3 = 624, padded to 640
    assert letterbox_shape(1280, (1920, 1080)) == (736, 1280)  # 1080 x 1280/1920 = 720 -> 736


def test_the_weights_frame_size_is_the_simulated_cameras():
    # detection cannot import simulators; the frames the weights learned from are its camera's
    assert FRAME_WH == (Intrinsics().width_px, Intrinsics().height_px)


def test_the_shipped_onnx_file_takes_the_shape_pytorch_runs_frames_at():
    import onnx

    graph = onnx.load(str(DEFAULT_WEIGHTS.with_suffix(".onnx"))).graph
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, *letterbox_shape(INFER_IMGSZ)]


def test_shipped_model_sees_a_close_violation_and_onnx_agrees(world_plan, detector):
    world, _ = world_plan
    cam = DroneCamera(world)
    hits = 0
    onnx = Detector(DEFAULT_WEIGHTS.with_suffix(".onnx"))
    for g in world.violations()[:6]:  # 30 m straight above each: the easiest view there is
        frame = cam.render(CameraPose(g.east_m, g.north_m, 30.0, 0.0, -90.0))
        truth = next(b for b in frame.boxes if b.object_id == g.object_id)
        a = detector.predict([frame.image_bgr])[0]
        b = onnx.predict([frame.image_bgr])[0]
        for dets in (a, b):  # both backends: no box of the wrong class on the object itself
            for box, cls in zip(dets.xyxy, dets.class_id, strict=True):
                if iou(box, truth.xyxy) > 0.5:
                    assert cls == truth.class_id
        hits += any(iou(box, truth.xyxy) > 0.5 for box in a.xyxy)
        # the same weights on two runtimes: every confident PyTorch box has its ONNX twin
        for box, conf in zip(a.xyxy, a.confidence, strict=True):
            if conf >= 0.5:
                assert any(iou(box, other) > 0.7 for other in b.xyxy)
    assert hits >= 1


def test_corrupt_images_in_a_folder_are_skipped_and_counted(clip, detector, tmp_path):
    paths, _, _ = clip
    frames = [f.image_bgr for f in open_source(paths["video"])][:6]
    for i, img in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"f{i:03d}.jpg"), img)
    (tmp_path / "f002.jpg").write_bytes(b"not a jpeg at all")
    _, stats = run_detect(tmp_path, telemetry=paths["srt"], detector=detector, rate_hz=None,
                          folder_fps=2.0)
    assert stats["frames_in"] == 6
    assert stats["skipped"] == {"frame": 1} and stats["frames_used"] == 5


def test_frames_beyond_the_telemetry_are_skipped_not_fatal(clip, detector, tmp_path):
    paths, _, _ = clip
    lines = paths["srt"].read_text().split("\n\n")
    short = tmp_path / "short.SRT"
    short.write_text("\n\n".join(lines[:4]) + "\n\n")  # 4 records: 0..1.5 s of the clip
    _, stats = run_detect(paths["video"], telemetry=short, detector=detector, rate_hz=2.0)
    # frames at 0..2.0 s are covered (a record is trusted 0.5 s past its time), the rest are not
    assert stats["frames_used"] == 5
    assert stats["skipped"]["telemetry"] == stats["frames_in"] - 5


@pytest.mark.parametrize("make,error,message", [
    (lambda p: p / "missing.mp4", SourceError, "neither a file"),
    (lambda p: (p / "bad.mp4").write_bytes(b"\x00" * 100) and p / "bad.mp4", SourceError,
     "cannot open video"),
])
def test_unreadable_video_is_a_clear_error(tmp_path, make, error, message, clip, detector):
    source = make(tmp_path)
    with pytest.raises(error, match=message):
        run_detect(source, telemetry=clip[0]["srt"], detector=detector)


def test_missing_telemetry_is_a_clear_error(tmp_path, detector):
    video = tmp_path / "lonely.mp4"
    video.write_bytes(b"")
    with pytest.raises(TelemetryError, match="--telemetry"):
        run_detect(video, detector=detector)


def test_missing_weights_are_a_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        Detector(tmp_path / "nope.pt")
