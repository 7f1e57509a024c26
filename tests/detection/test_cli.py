"""``flyonce detect`` end to end: JSON lines out, or POSTs to a real HTTP server; ``train`` refusals."""

import itertools
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import typer
from typer.testing import CliRunner

import detection.model
import detection.sources
from detection.cli import detect, is_live, train, train_curves
from detection.errors import WeightsError
from detection.model import INFER_IMGSZ

pytestmark = pytest.mark.slow


def app_of(fn):
    app = typer.Typer()
    app.command()(fn)
    return app


class _Service(BaseHTTPRequestHandler):
    """A stand-in batch ingest endpoint (POST /api/v1/candidates/batch): each candidate's
    outcome "new" for a source_event_id not seen before, "retry" for one seen; a run's report
    (POST /api/v1/detection/reports) is answered 200. ``read_at`` holds, for each request, how
    many frames ``frames_read`` held when it arrived (a test that fills it sees how far into
    the source each POST came)."""

    seen: ClassVar[dict] = {}
    requests: ClassVar[list] = []
    frames_read: ClassVar[list] = []
    read_at: ClassVar[list] = []
    refuse: ClassVar[set] = set()  # a batch holding one of these keys is answered 422

    def do_POST(self):
        type(self).read_at.append(len(self.frames_read))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, self.headers.get("Authorization"), body))
        if self.path == "/api/v1/detection/reports":
            status, out = 200, json.dumps({"source": body["source"], "frames_per_s": 1.0}).encode()
        elif self.refuse & {c["source_event_id"] for c in body["candidates"]}:
            status, out = 422, b'{"detail": "candidates[0]: lat must be within -90..90"}'
        else:
            outcomes = []
            for candidate in body["candidates"]:
                key = candidate["source_event_id"]
                outcomes.append("retry" if key in self.seen else "new")
                self.seen[key] = candidate
            status = 200
            out = json.dumps({"results": [], "outcomes": outcomes}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture()
def service():
    _Service.seen, _Service.requests, _Service.frames_read, _Service.read_at = {}, [], [], []
    _Service.refuse = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", _Service
    server.shutdown()


def test_detect_prints_one_json_line_per_candidate(clip):
    paths, _, _ = clip
    result = CliRunner().invoke(app_of(detect), [str(paths["video"]), "--rate-hz", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, "the clip holds violations"
    for body in lines:
        assert set(body) == {"source", "source_event_id", "type", "lat", "lon", "confidence",
                             "detected_at", "position_error_m", "sightings", "drone_id",
                             "snapshot_jpeg_b64", "box_xyxy", "model_version"}
        assert body["source"] == "detector:drone-1"
        assert body["detected_at"].endswith("+00:00")


def test_detect_posts_with_bearer_token_and_retries_are_duplicates(clip, service):
    paths, _, _ = clip
    url, svc = service
    args = [str(paths["video"]), "--telemetry", str(paths["srt"]), "--api", url]
    env = {"FLYONCE_API_TOKEN": "s3cret"}
    first = CliRunner().invoke(app_of(detect), args, env=env)
    second = CliRunner().invoke(app_of(detect), args, env=env)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    statuses1 = [json.loads(x)["status"] for x in first.stdout.splitlines() if x.startswith("{")]
    statuses2 = [json.loads(x)["status"] for x in second.stdout.splitlines() if x.startswith("{")]
    assert statuses1 and set(statuses1) == {201}
    assert statuses2 == [200] * len(statuses1)  # same ids: the service sees retries
    assert all(auth == "Bearer s3cret" for _, auth, _ in svc.requests)
    # each run: its candidates in one batch (fewer than 100), then one report of its frames
    # (for the service's /metrics)
    paths = [path for path, _, _ in svc.requests]
    n = len(statuses1)
    assert n < 100
    assert paths == ["/api/v1/candidates/batch", "/api/v1/detection/reports"] * 2
    assert len(svc.requests[0][2]["candidates"]) == n
    report = svc.requests[1][2]
    assert report["source"] == "detector:drone-1"
    assert 0 < report["frames_used"] <= report["frames_in"] and report["total_s"] > 0


def test_detect_live_posts_candidates_while_the_source_is_read(clip, detector, service,
                                                              monkeypatch):
    # --live: each candidate goes to the service once, as soon as it qualifies. With a round
    # at most every hour, the first round (at once) must arrive while frames are still read,
    # and the rest wait for the source to end, when what is left is sent. The source is the
    # clip's first 10 s at 1 frame/s (the first candidate qualifies on its second sighting).
    paths, _, _ = clip
    url, svc = service
    open_source = detection.sources.open_source

    def counted(*args, **kw):
        for frame in itertools.islice(open_source(*args, **kw), 10):
            svc.frames_read.append(frame.index)
            yield frame

    monkeypatch.setattr(detection.model, "Detector", lambda *a, **kw: detector)
    monkeypatch.setattr(detection.sources, "open_source", counted)
    args = [str(paths["video"]), "--rate-hz", "1"]
    clip_end = CliRunner().invoke(app_of(detect), args)  # the end-of-clip list, printed
    assert clip_end.exit_code == 0, clip_end.output
    end_ids = [json.loads(x)["source_event_id"] for x in clip_end.stdout.splitlines()
               if x.startswith("{")]
    frames = len(svc.frames_read)
    svc.frames_read.clear()
    live = CliRunner().invoke(app_of(detect), [*args, "--api", url, "--live",
                                               "--post-every-s", "3600"])
    assert live.exit_code == 0, live.output
    assert len(svc.frames_read) == frames  # the same frames read
    batches = [(at, [c["source_event_id"] for c in body["candidates"]])
               for (path, _, body), at in zip(svc.requests, svc.read_at, strict=True)
               if path == "/api/v1/candidates/batch"]
    assert len(batches) == 2
    (first_at, first), (flush_at, rest) = batches
    assert 0 < first_at < frames  # while the source was still read
    assert flush_at == frames  # what qualified later, sent once the source ended
    posted = first + rest
    assert len(posted) == len(set(posted))  # each cluster once
    assert end_ids and set(end_ids) <= set(posted)
    assert [p for p, _, _ in svc.requests][-1] == "/api/v1/detection/reports"
    statuses = [json.loads(x) for x in live.stdout.splitlines() if x.startswith("{")]
    assert [s["source_event_id"] for s in statuses] == posted
    assert {s["status"] for s in statuses} == {201}


@pytest.mark.parametrize(("source", "telemetry", "expected"), [
    ("rtsp://camera.local/stream", None, True),
    ("udp://0.0.0.0:5600", "cam.csv", True),
    ("patrol.mp4", "mavlink:tcp:127.0.0.1:5760", True),  # a live pose feed: a live flight
    ("patrol.mp4", "patrol.SRT", False),
    ("frames/", None, False),
])
def test_detect_posts_as_it_goes_by_default_for_streams_only(source, telemetry, expected):
    assert is_live(source, telemetry) is expected


def test_sigterm_while_live_raises_system_exit_so_the_last_candidates_are_posted():
    from detection.cli import _sigterm_as_exit

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped, _sigterm_as_exit():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert stopped.value.code == 128 + signal.SIGTERM  # 143, as a shell reports a SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize(("args", "expected"), [([], INFER_IMGSZ), (["--imgsz", "640"], 640)])
def test_detect_runs_frames_at_the_pipeline_size_unless_told(clip, monkeypatch, args, expected):
    paths, _, _ = clip
    seen = {}

    def fake_detector(weights, **kw):
        seen.update(kw)
        raise WeightsError("stopped before loading")

    monkeypatch.setattr(detection.model, "Detector", fake_detector)
    result = CliRunner().invoke(app_of(detect), [str(paths["video"]), *args])
    assert result.exit_code == 2 and "stopped before loading" in result.output
    assert seen["imgsz"] == expected


@pytest.mark.parametrize(("args", "expected"), [([], 1), (["--batch", "4"], 4)])
def test_detect_runs_one_frame_a_model_call_unless_told(clip, detector, monkeypatch, args,
                                                         expected):
    paths, _, _ = clip
    sizes = []
    track = detector.track

    def counting_track(images_bgr):
        sizes.append(len(images_bgr))
        return track(images_bgr)

    monkeypatch.setattr(detection.model, "Detector", lambda *a, **kw: detector)
    monkeypatch.setattr(detector, "track", counting_track)
    result = CliRunner().invoke(app_of(detect), [str(paths["video"]), "--rate-hz", "1", *args])
    assert result.exit_code == 0, result.output
    # every call but the last carries exactly the batch; all frames pass through
    assert sizes and set(sizes[:-1]) <= {expected} and 1 <= sizes[-1] <= expected
    assert sum(sizes) == json.loads(result.stderr.splitlines()[-1])["stats"]["frames_used"]


@pytest.mark.parametrize(("args", "tiled"), [([], False), (["--tiling", "off"], False),
                                             (["--tiling", "on"], True)])
def test_detect_tiles_by_the_tiling_option(clip, detector, monkeypatch, args, tiled):
    # the clip is flown at 60 m, where a 1.5 m stall is 22 px at the model's input: auto (the
    # default) leaves its frames whole, on tiles every one (2x2 at least)
    from detection.detections import Detections

    paths, _, _ = clip
    grids = []

    def recording_track_tiled(images_bgr, plans):
        grids.extend(p.grid for p in plans)
        return [Detections.empty() for _ in images_bgr]

    monkeypatch.setattr(detection.model, "Detector", lambda *a, **kw: detector)
    monkeypatch.setattr(detector, "track_tiled", recording_track_tiled)
    result = CliRunner().invoke(app_of(detect), [str(paths["video"]), "--rate-hz", "1", *args])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stderr.splitlines()[-1])["stats"]
    assert stats["frames_tiled"] == len(grids) == (stats["frames_used"] if tiled else 0)
    assert stats["tiles"] == sum(g * g for g in grids) and set(grids) <= {2}


def test_detect_rejects_an_unknown_tiling_mode(clip):
    paths, _, _ = clip
    result = CliRunner().invoke(app_of(detect), [str(paths["video"]), "--tiling", "maybe"])
    assert result.exit_code == 2 and "--tiling" in result.output


def test_detect_rejects_a_batch_under_one(clip):
    paths, _, _ = clip
    result = CliRunner().invoke(app_of(detect), [str(paths["video"]), "--batch", "0"])
    assert result.exit_code == 2 and "--batch" in result.output


def test_detect_rejects_a_mean_confidence_gate_outside_0_to_1(clip):
    paths, _, _ = clip
    result = CliRunner().invoke(app_of(detect), [str(paths["video"]), "--min-mean-conf", "1.5"])
    assert result.exit_code == 2 and "--min-mean-conf" in result.output


def test_detect_passes_the_mean_confidence_gate_to_the_merger(clip, detector, monkeypatch):
    # a gate of 1.0 asks every sighting to be certain: a detector's score never is, so the clip
    # that gives candidates at the default gives none
    paths, _, _ = clip
    monkeypatch.setattr(detection.model, "Detector", lambda *a, **kw: detector)
    lines = {}
    for gate in ("0.42", "1.0"):
        result = CliRunner().invoke(app_of(detect), [str(paths["video"]), "--rate-hz", "1",
                                                     "--min-mean-conf", gate])
        assert result.exit_code == 0, result.output
        lines[gate] = [x for x in result.stdout.splitlines() if x.startswith("{")]
    assert lines["0.42"] and lines["1.0"] == []


def test_detect_on_unreadable_source_exits_with_a_message(tmp_path):
    result = CliRunner().invoke(app_of(detect), [str(tmp_path / "nope.mp4")])
    assert result.exit_code == 2
    assert "error:" in result.stderr and "nope.mp4" in result.stderr


def test_post_to_a_dead_service_says_so(clip):
    paths, _, _ = clip
    result = CliRunner().invoke(app_of(detect), [str(paths["video"]), "--api",
                                                 "http://127.0.0.1:9", "--retries", "2",
                                                 "--retry-backoff-s", "0.01"])
    assert result.exit_code == 3 and "cannot reach" in result.stderr
    assert "after 2 tries" in result.stderr and "trying again in 0.01 s" in result.stderr


def test_train_without_dataset_says_how_to_make_one(tmp_path):
    result = CliRunner().invoke(app_of(train), [str(tmp_path / "data.yaml")])
    assert result.exit_code == 2 and "flyonce dataset" in result.stderr


def test_train_from_missing_weights_says_what_to_give(tmp_path):
    data = tmp_path / "data.yaml"
    data.write_text("path: .\n")
    result = CliRunner().invoke(app_of(train), [str(data), "--init-weights",
                                                str(tmp_path / "stage1.pt")])
    assert result.exit_code == 2 and "stage1.pt" in result.stderr and ".pt" in result.stderr


def test_train_curves_wants_label_equals_path(tmp_path):
    result = CliRunner().invoke(app_of(train_curves), ["stage 3", "--out", str(tmp_path / "c.png")])
    assert result.exit_code == 2 and "is not LABEL=PATH" in result.stderr
    assert not (tmp_path / "c.png").exists()


@pytest.mark.parametrize("args,expected", [([], 3), (["--close-mosaic", "0"], 0),
                                           (["--close-mosaic", "9", "--epochs", "5"], 4)])
def test_train_passes_close_mosaic_capped_below_the_epochs(tmp_path, monkeypatch, args, expected):
    from detection import train as training

    seen = {}

    def fake_train(data, out, settings):
        seen["close_mosaic"] = settings.close_mosaic
        return {"best": "x"}

    monkeypatch.setattr(training, "train", fake_train)
    result = CliRunner().invoke(app_of(train), [str(tmp_path / "data.yaml"), *args])
    assert result.exit_code == 0, result.output
    assert seen["close_mosaic"] == expected


@pytest.mark.parametrize("args,expected", [
    ([], (0, None, True)),
    (["--workers", "14", "--time-h", "0.1", "--no-deterministic"], (14, 0.1, False))])
def test_train_passes_loader_workers_time_budget_and_determinism(tmp_path, monkeypatch, args,
                                                                 expected):
    from detection import train as training

    seen = {}

    def fake_train(data, out, settings):
        seen["got"] = (settings.workers, settings.time_h, settings.deterministic)
        return {"best": "x"}

    monkeypatch.setattr(training, "train", fake_train)
    result = CliRunner().invoke(app_of(train), [str(tmp_path / "data.yaml"), *args])
    assert result.exit_code == 0, result.output
    assert seen["got"] == expected


def test_a_refused_candidate_is_left_out_the_rest_land_and_the_run_ends_with_exit_3(
        service, monkeypatch, tmp_path):
    # the posting alone (the model's part stubbed): the service refuses k1's body
    class Stub:
        def __init__(self, key):
            self.source_event_id = key

        def to_json(self):
            return {"source": "detector:drone-1", "source_event_id": self.source_event_id}

    stats = {"frames_in": 3, "frames_used": 3, "skipped": {}, "total_s": 1.0}
    monkeypatch.setattr("detection.cli.run_detect",
                        lambda *a, **kw: ([Stub("k0"), Stub("k1"), Stub("k2")], stats))
    url, svc = service
    svc.refuse = {"k1"}
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")  # never read: run_detect is stubbed
    result = CliRunner().invoke(app_of(detect), [str(clip), "--api", url, "--no-live"])
    assert result.exit_code == 3, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert [(x["source_event_id"], x["status"]) for x in lines] == [
        ("k0", 201), ("k1", 422), ("k2", 201)]
    assert sorted(svc.seen) == ["k0", "k2"]  # stored; k1 never was
    assert "refused candidate k1" in result.stderr and "lat must be within" in result.stderr
    assert "refused 1 candidate(s)" in result.stderr and result.stderr.count("k1") >= 2
    assert svc.requests[-1][0] == "/api/v1/detection/reports"  # the run's figures still go
