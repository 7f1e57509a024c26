"""``flyonce detect`` end to end: JSON lines out, or POSTs to a real HTTP server; ``train`` refusals."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import typer
from typer.testing import CliRunner

import detection.model
from detection.cli import detect, train, train_curves
from detection.errors import WeightsError
from detection.model import INFER_IMGSZ

pytestmark = pytest.mark.slow


def app_of(fn):
    app = typer.Typer()
    app.command()(fn)
    return app


class _Service(BaseHTTPRequestHandler):
    """A stand-in ingest endpoint: 201 for a new source_event_id, 200 for a retry; a run's
    report (POST /api/v1/detection/reports) is answered 200."""

    seen: ClassVar[dict] = {}
    requests: ClassVar[list] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, self.headers.get("Authorization"), body))
        if self.path == "/api/v1/detection/reports":
            status, out = 200, json.dumps({"source": body["source"], "frames_per_s": 1.0}).encode()
        else:
            status = 200 if body["source_event_id"] in self.seen else 201
            self.seen[body["source_event_id"]] = body
            out = json.dumps({"id": len(self.seen), **body}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture()
def service():
    _Service.seen, _Service.requests = {}, []
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
                             "snapshot_jpeg_b64"}
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
    # each run: its candidates, then one report of its frames (for the service's /metrics)
    paths = [path for path, _, _ in svc.requests]
    n = len(statuses1)
    assert paths == (["/api/v1/candidates"] * n + ["/api/v1/detection/reports"]) * 2
    report = svc.requests[n][2]
    assert report["source"] == "detector:drone-1"
    assert 0 < report["frames_used"] <= report["frames_in"] and report["total_s"] > 0


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
