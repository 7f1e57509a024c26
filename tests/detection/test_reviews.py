"""The pieces of review → retrain: held-out split, crops and labels, scoring, the gate, the
models folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from detection.detections import Detections
from detection.errors import TrainingError
from detection.reviews import (
    ReviewedImage,
    crop_box,
    export_reviews,
    is_heldout,
    score_samples,
    worse_classes,
)
from detection.versions import ModelRegistry, file_sha256, version_of

NAMES = ("street_stall", "mobile_fuel_sale")


def test_heldout_share_is_seeded_stable_and_near_the_share() -> None:
    keys = [f"event-{i}" for i in range(2000)]
    held = [k for k in keys if is_heldout(k, share=0.25, seed=0)]
    # 2000 Bernoulli(0.25) draws: sd = sqrt(2000 * 0.25 * 0.75) = 19.4; 4 sd either side
    assert abs(len(held) - 500) < 78
    assert held == [k for k in keys if is_heldout(k, share=0.25, seed=0)]
    assert held != [k for k in keys if is_heldout(k, share=0.25, seed=1)]
    # a larger share holds out a superset: a sample once held out is never trained on later
    assert set(held) <= {k for k in keys if is_heldout(k, share=0.4, seed=0)}


@pytest.mark.parametrize("image_wh,box,crop,expected", [
    ((640, 480), (300, 200, 340, 240), 320, (160, 60, 480, 380)),  # centred
    ((640, 480), (0, 0, 20, 20), 320, (0, 0, 320, 320)),  # pushed inside at the corner
    ((640, 480), (620, 460, 640, 480), 320, (320, 160, 640, 480)),
    ((200, 150), (50, 50, 70, 70), 320, (0, 0, 200, 150)),  # smaller than the crop: all of it
])
def test_crop_box(image_wh, box, crop, expected) -> None:
    assert crop_box(image_wh, box, crop) == expected


def _snapshot(path: Path, wh=(640, 480)) -> Path:
    cv2.imwrite(str(path), np.full((wh[1], wh[0], 3), 90, np.uint8))
    return path


def test_export_writes_labels_in_crop_coordinates_and_rejects_as_background(tmp_path) -> None:
    snap = _snapshot(tmp_path / "s.jpg")
    samples = [ReviewedImage(f"event-{i}", snap, "confirm" if i % 2 else "reject",
                             NAMES[i % 2], (300.0, 200.0, 340.0, 260.0)) for i in range(12)]
    summary = export_reviews(samples, tmp_path / "out", crop_px=320, heldout_share=0.25, seed=0)
    assert summary["samples"] == 12
    held = sum(is_heldout(f"event-{i}", share=0.25, seed=0) for i in range(12))
    assert sum(summary["heldout"].values()) == held
    manifest = json.loads((tmp_path / "out" / "reviews.json").read_text())
    for row in manifest["samples"]:
        label = (tmp_path / "out" / row["file"].replace("images/", "labels/")
                 ).with_suffix(".txt").read_text()
        image = cv2.imread(str(tmp_path / "out" / row["file"]))
        assert image.shape[:2] == (320, 320)
        # crop (160, 70)-(480, 390): the box is at 140..180 x 130..190 inside it
        assert row["box_xyxy"] == [140.0, 130.0, 180.0, 190.0]
        if row["verdict"] == "reject":
            assert label == ""
        else:
            assert label == "1 0.500000 0.500000 0.125000 0.187500\n"
    # an export replaces the last one: a sample no longer there leaves no file behind
    export_reviews(samples[:2], tmp_path / "out", heldout_share=0.0)
    assert len(list((tmp_path / "out" / "images" / "train").iterdir())) == 2
    assert "val: images/heldout" in (tmp_path / "out" / "data.yaml").read_text()


def test_export_refuses_an_unreadable_snapshot(tmp_path) -> None:
    with pytest.raises(TrainingError, match="cannot read the snapshot"):
        export_reviews([ReviewedImage("event-1", tmp_path / "gone.jpg", "confirm", NAMES[0],
                                      (1, 1, 5, 5))], tmp_path / "out")


def _dets(*boxes) -> Detections:
    if not boxes:
        return Detections.empty()
    xyxy = np.array([b[:4] for b in boxes], float)
    return Detections(xyxy, np.full(len(boxes), 0.8), np.array([b[4] for b in boxes]),
                      np.full(len(boxes), -1))


def test_score_counts_found_missed_and_repeated_false_alarms() -> None:
    box = [100.0, 100.0, 140.0, 140.0]
    rows = [
        {"type": "street_stall", "verdict": "confirm", "box_xyxy": box},  # found (IoU 35*35 / 1975 = 0.62)
        {"type": "street_stall", "verdict": "confirm", "box_xyxy": box},  # wrong class: missed
        {"type": "street_stall", "verdict": "confirm", "box_xyxy": box},  # IoU 100 / 3100 = 0.03: missed
        {"type": "street_stall", "verdict": "reject", "box_xyxy": box},  # fired again: fp
        {"type": "mobile_fuel_sale", "verdict": "reject", "box_xyxy": box},  # left alone: tn
    ]
    dets = [_dets((105, 105, 145, 145, 0)), _dets((100, 100, 140, 140, 1)),
            _dets((130, 130, 170, 170, 0)), _dets((100, 100, 140, 140, 0)), _dets()]
    s = score_samples(rows, dets, NAMES)
    assert {k: s["street_stall"][k] for k in ("tp", "fn", "fp", "tn", "errors")} == \
        {"tp": 1, "fn": 2, "fp": 1, "tn": 0, "errors": 3}
    assert (s["street_stall"]["precision"], s["street_stall"]["recall"]) == (0.5, 0.3333)
    assert {k: s["mobile_fuel_sale"][k] for k in ("tn", "errors")} == {"tn": 1, "errors": 0}
    assert s["mobile_fuel_sale"]["precision"] is None


@pytest.mark.parametrize("candidate,current,worse", [
    ((2, 1), (3, 1), []),  # better on one, equal on the other
    ((2, 2), (2, 1), ["mobile_fuel_sale"]),
    ((4, 0), (3, 5), ["street_stall"]),  # far better on fuel does not buy worse on stalls
])
def test_the_gate_refuses_a_candidate_worse_on_either_class(candidate, current, worse) -> None:
    def scores(errors):
        return {n: {"errors": e} for n, e in zip(NAMES, errors)}
    assert worse_classes(scores(candidate), scores(current)) == worse


def test_registry_falls_back_to_shipped_and_promotes_without_touching_it(tmp_path) -> None:
    shipped = tmp_path / "shipped.pt"
    shipped.write_bytes(b"shipped weights")
    candidate = tmp_path / "cand.pt"
    candidate.write_bytes(b"fine-tuned weights")
    reg = ModelRegistry(tmp_path / "models", shipped)
    assert reg.current_weights() == shipped and reg.versions() == []
    when = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    entry = reg.promote(candidate, now=when, figures={"x": 1}, parent=version_of(shipped))
    assert entry.version == file_sha256(candidate)[:12] == version_of(candidate)
    assert reg.current_weights().read_bytes() == b"fine-tuned weights"
    assert reg.current_weights().parent == tmp_path / "models"
    assert shipped.read_bytes() == b"shipped weights"
    # the lineage starts from the shipped weights, and says which is current
    assert [(v.version, v.parent) for v in reg.versions()] == [
        (version_of(shipped), None), (entry.version, version_of(shipped))]
    assert reg.current_version() == entry.version
    assert ModelRegistry(tmp_path / "models", shipped).current_version() == entry.version
