"""Hard-example mining: box matching checked by hand, and a real mining run with the shipped
weights over crops whose answer is known (a blank crop, a blank crop claiming an object, a
rendered violation whose label was taken away)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from api.cli import app
from detection.detections import Detections
from detection.errors import DetectionError
from detection.mine import crop_errors, mine, read_yolo_labels
from tests.detection.conftest import rendered_crops


def _found(boxes, classes, confs=None) -> Detections:
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    n = len(boxes)
    confs = np.linspace(0.9, 0.5, n) if confs is None else np.asarray(confs, float)
    return Detections(boxes, confs, np.asarray(classes, int), np.full(n, -1))


TRUTH = np.array([[100, 100, 140, 130], [200, 200, 220, 215]], float)
CLASSES = np.array([0, 1])


def test_reports_on_every_true_box_of_its_class_are_no_error():
    e = crop_errors(TRUTH, CLASSES, _found(TRUTH + 2, CLASSES), (320, 320))
    assert (e.false, e.missed, e.hard) == (0, 0, False)


def test_the_wrong_class_is_a_false_report_and_a_miss():
    e = crop_errors(TRUTH[:1], CLASSES[:1], _found(TRUTH[:1], [1]), (320, 320))
    assert (e.false, e.missed, e.hard) == (1, 1, True)


def test_a_second_report_on_one_object_is_false_and_the_likelier_one_keeps_the_match():
    # the 0.9 report sits 25 px off (IoU 450/1950 = 0.23 < 0.3): the 0.6 one on the box matches
    off = TRUTH[0] + [25, 0, 25, 0]
    e = crop_errors(TRUTH[:1], CLASSES[:1], _found([off, TRUTH[0]], [0, 0], [0.9, 0.6]),
                    (320, 320))
    assert (e.false, e.missed) == (1, 0)


def test_a_van_called_a_violation_in_an_empty_crop_is_false():
    e = crop_errors(np.zeros((0, 4)), np.zeros(0), _found([[150, 150, 180, 170]], [1]),
                    (320, 320))
    assert (e.false, e.missed) == (1, 0)


def test_a_report_cut_by_the_crop_edge_and_a_speck_of_truth_are_not_counted():
    # the report reaches x = 319 of a 320 px crop: the crop may have dropped its truth; the
    # missed truth is 5 px high, under the 6 px floor
    speck = np.array([[50, 50, 60, 55]], float)
    e = crop_errors(speck, [0], _found([[290, 100, 319, 130]], [0]), (320, 320))
    assert (e.false, e.missed, e.hard) == (0, 0, False)


def test_yolo_labels_become_pixel_boxes(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("0 0.5 0.5 0.25 0.5\n1 0.1 0.2 0.1 0.1\n")
    xyxy, cls = read_yolo_labels(p, (320, 320))
    assert xyxy == pytest.approx(np.array([[120, 80, 200, 240], [16, 48, 48, 80]]))
    assert cls.tolist() == [0, 1]
    assert read_yolo_labels(tmp_path / "none.txt", (320, 320))[0].shape == (0, 4)
    p.write_text("0 half 0.5 0.2 0.2\n")
    with pytest.raises(DetectionError, match="a.txt: not a YOLO label file"):
        read_yolo_labels(p, (320, 320))


def _write(root, stem, image, lines):
    cv2.imwrite(str(root / "images" / "train" / f"{stem}.jpg"), image)
    (root / "labels" / "train" / f"{stem}.txt").write_text("".join(f"{x}\n" for x in lines))


def _violation_crop(detector) -> np.ndarray:
    """A rendered 320 px crop in which the shipped weights report a violation at 0.5 or more."""
    for _, (image, true) in zip(range(30), rendered_crops(320, seed=1)):
        found = detector.predict([image])[0] if true else Detections.empty()
        if len(found) and found.confidence.max() >= 0.5:
            return image
    raise AssertionError("no rendered crop in 30 with a confident report")


def test_mining_keeps_what_the_weights_get_wrong_and_a_share_of_the_rest(tmp_path, detector):
    root = tmp_path / "ds"
    for sub in ("images", "labels"):
        (root / sub / "train").mkdir(parents=True)
    grey = np.full((320, 320, 3), 128, np.uint8)
    # nothing there and nothing claimed: right, twice
    _write(root, "a_blank", grey, [])
    _write(root, "b_blank", grey, [])
    # a 40 px object claimed on a blank crop: nothing to see, so a miss
    _write(root, "c_claimed", grey, ["0 0.5 0.5 0.125 0.125"])
    # a violation the weights report at 0.5 or more, its label taken away: a false report
    _write(root, "d_unlabelled", _violation_crop(detector), [])
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/train\nval: images/train\n"
                                    "names:\n  0: street_stall\n  1: mobile_fuel_sale\n")
    out = tmp_path / "mined"
    s = mine(root / "data.yaml", None, out, easy_per_hard=0.5, batch=3)
    assert (s["crops"], s["hard"], s["with_missed"], s["with_false"]) == (4, 2, 1, 1)
    assert s["missed"] == 1 and s["false"] >= 1
    # one easy crop for two hard ones
    kept = (out / "train.txt").read_text().split()
    assert s["easy_kept"] == 1 and len(kept) == 3
    names = sorted(p.rsplit("/", 1)[1] for p in kept)
    assert names[1:] == ["c_claimed.jpg", "d_unlabelled.jpg"]
    assert names[0] in ("a_blank.jpg", "b_blank.jpg")
    spec = yaml.safe_load((out / "data.yaml").read_text())
    assert spec["train"] == str((out / "train.txt").resolve())
    assert spec["val"] == "images/train" and spec["path"] == str(root.resolve())
    assert spec["names"] == {0: "street_stall", 1: "mobile_fuel_sale"}
    assert json.loads((out / "mining.json").read_text()) == s


def test_mine_cli_says_what_is_missing(tmp_path):
    r = CliRunner().invoke(app, ["mine", str(tmp_path / "nope.yaml"), "--out",
                                 str(tmp_path / "m")])
    assert r.exit_code == 2
    assert "no dataset at" in r.output and "flyonce dataset" in r.output
