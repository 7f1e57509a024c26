"""`flyonce dataset --from-reviews`, `flyonce train --from-reviews` and `flyonce model promote`
run as a person would, on verdicts stored by the service, with the models folder in a
temporary directory (the shipped weights are never written)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.core.auth import create_token
from api.core.settings import Settings
from detection.merge import snapshot_jpeg
from detection.model import DEFAULT_WEIGHTS
from detection.versions import file_sha256, version_of
from simulators.camera.dataset import SplitSpec, export_yolo
from tests import review_loop as loop
from tests.api.conftest import TEST_SECRET, ManualClock, seed_fleet


def flyonce(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLYONCE_DATA_DIR": str(data_dir), "FLYONCE_SECRET_KEY": TEST_SECRET,
           "FLYONCE_MODELS_DIR": str(data_dir / "models")}
    env.pop("FLYONCE_DATABASE_URL", None)
    env.pop("FLYONCE_MEDIA_DIR", None)
    return subprocess.run([sys.executable, "-m", "api", *args], check=False, env=env, capture_output=True,
                          text=True, timeout=300)


def _store_verdicts(data_dir: Path) -> dict[str, int]:
    """Each true object of 3 frames posted with its true box and confirmed; one empty patch of
    road a frame posted as a stall and rejected."""
    settings = Settings(_env_file=None, data_dir=data_dir, secret_key=TEST_SECRET,
                        merge_radius_m=0.0)
    app = create_app(settings, clock=ManualClock())
    h = {n: {"Authorization": "Bearer " + create_token(n, r, secret=TEST_SECRET, ttl_s=600)}
         for n, r in (("op", "operator"), ("det", "detector"))}
    counts = {"confirm": 0, "reject": 0}
    with TestClient(app) as client:
        seed_fleet(app.state.engine)
        for k, frame in enumerate(loop.render_frames("hue120", 401, 3, seed=7)):
            finds = [(b.xyxy, b.label, "confirm") for b in frame.boxes]
            finds.append(((8.0, 8.0, 40.0, 40.0), "street_stall", "reject"))
            for i, (xyxy, label, verdict) in enumerate(finds):
                jpeg, box = snapshot_jpeg(frame.image_bgr, xyxy)
                r = client.post("/api/v1/candidates", headers=h["det"], json={
                    "source": "detector:cli", "source_event_id": uuid.uuid4().hex, "type": label,
                    "lat": 29.4 + 0.002 * k, "lon": 120.8 + 0.002 * i, "confidence": 0.6,
                    "snapshot_jpeg_b64": base64.b64encode(jpeg).decode(), "box_xyxy": list(box),
                    "model_version": version_of(DEFAULT_WEIGHTS)})
                assert r.status_code == 201, r.text
                body = ({"decision": "confirm"} if verdict == "confirm"
                        else {"decision": "reject", "reason": "bare road"})
                r = client.post(f"/api/v1/events/{r.json()['id']}/review", json=body,
                                headers=h["op"])
                assert r.status_code == 200, r.text
                counts[verdict] += 1
    return counts


def test_dataset_train_and_promote_from_reviews(tmp_path: Path) -> None:
    shipped_sha = file_sha256(DEFAULT_WEIGHTS)
    counts = _store_verdicts(tmp_path)
    rendered = export_yolo(tmp_path / "rendered", {"train": SplitSpec((101,), 1, 1, crop_px=320)})

    done = flyonce("dataset", "--from-reviews", str(tmp_path / "reviews"), "--heldout-share",
                   "0.3", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    export = json.loads(done.stdout)
    assert export["samples"] == counts["confirm"] + counts["reject"]
    assert {v: export["train"][v] + export["heldout"][v] for v in counts} == counts
    assert sum(export["heldout"].values()) >= 1

    run = tmp_path / "run"
    done = flyonce("train", str(rendered), "--from-reviews", str(tmp_path / "reviews"),
                   "--epochs", "1", "--batch", "8", "--review-repeat", "1", "--out", str(run),
                   data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["parent_version"] == version_of(DEFAULT_WEIGHTS)  # the shipped: none promoted
    assert summary["heldout_samples"] == sum(export["heldout"].values())
    report = json.loads((run / "review-report.json").read_text())
    held = report["current_scores"]
    assert sum(c["samples"] for c in held.values()) == summary["heldout_samples"]

    # the gate, on this run's own scores
    done = flyonce("model", "promote", str(run), data_dir=tmp_path)
    if report["worse_on"]:
        assert done.returncode == 3 and "refused" in done.stderr, done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["promoted"] == summary["candidate_version"]
        listed = [json.loads(line) for line in
                  flyonce("model", "list", data_dir=tmp_path).stdout.splitlines()]
        assert [v["version"] for v in listed if v["current"]] == [summary["candidate_version"]]
    assert file_sha256(DEFAULT_WEIGHTS) == shipped_sha  # the shipped file is never written

    # a candidate worse on a class is refused, and says on which and by how much
    worse = dict(report, parent_version=version_of(DEFAULT_WEIGHTS))
    worse["candidate_scores"] = json.loads(json.dumps(held))
    worse["candidate_scores"]["street_stall"]["errors"] = held["street_stall"]["errors"] + 1
    (tmp_path / "worse").mkdir()
    (tmp_path / "worse" / "review-report.json").write_text(json.dumps(worse))
    env_dir = tmp_path / "other-data"  # no models promoted there: the shipped are current
    env_dir.mkdir()
    done = flyonce("model", "promote", str(tmp_path / "worse" / "review-report.json"),
                   data_dir=env_dir)
    assert done.returncode == 3
    expected = (f"street_stall: {held['street_stall']['errors'] + 1} errors against the current "
                f"model's {held['street_stall']['errors']}")
    assert "refused" in done.stderr and expected in done.stderr, done.stderr

    # a candidate scored against other weights than the current ones must be scored again
    stale = dict(report, parent_version="000000000000")
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / "review-report.json").write_text(json.dumps(stale))
    done = flyonce("model", "promote", str(tmp_path / "stale"), data_dir=env_dir)
    assert done.returncode == 2 and "scored against model 000000000000" in done.stderr


def test_without_from_reviews_train_and_dataset_run_as_before(tmp_path: Path) -> None:
    done = flyonce("train", str(tmp_path / "none.yaml"), "--epochs", "1", data_dir=tmp_path)
    assert done.returncode == 2 and f"no dataset at {tmp_path / 'none.yaml'}" in done.stderr
    done = flyonce("dataset", str(tmp_path / "ds"), "--only", "nope", data_dir=tmp_path)
    assert done.returncode == 2 and "no split named nope" in done.stderr
    done = flyonce("dataset", "--from-reviews", str(tmp_path / "r"), data_dir=tmp_path)
    assert done.returncode == 2 and "no reviewed samples yet" in done.stderr
