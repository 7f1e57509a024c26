"""Leave-one-style-out scoring: one-to-one matching at IoU 0.3 by hand, tallies by size, and
the data.yaml over several styles' folders."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from detection.loso import Tally, iou_matrix, match_frame, write_pair_yaml


def test_iou_by_hand():
    # 10x10 boxes overlapping 5x10: 50 / (100 + 100 - 50) = 1/3
    assert iou_matrix([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)
    assert iou_matrix([[0, 0, 10, 10]], [[20, 20, 30, 30]])[0, 0] == 0.0


def test_match_is_one_to_one_same_class_most_confident_first():
    truth = np.array([[0, 0, 10, 10], [100, 100, 120, 120]], float)
    truth_cls = np.array([0, 1])
    dets = np.array([[5, 0, 15, 10],        # IoU 1/3 with truth 0: a match (>= 0.3)
                     [1, 0, 11, 10],        # IoU 9/11 with truth 0, but less confident: taken
                     [100, 100, 120, 120],  # exact on truth 1, wrong class
                     [6, 0, 16, 10]], float)  # IoU 4/16 = 0.25 with truth 0: too little
    found, correct = match_frame(truth, truth_cls, dets, [0, 0, 0, 0], [0.9, 0.8, 0.7, 0.95])
    assert found.tolist() == [True, False]
    assert correct.tolist() == [True, False, False, False]


def test_tally_by_class_and_size():
    t = Tally(("street_stall", "mobile_fuel_sale"))
    # a 12x12 stall found, a 40x40 fuel sale missed, a false 20x20 stall
    t.add(np.array([[0, 0, 12, 12], [50, 50, 90, 90]], float), np.array([0, 1]),
          np.array([[0, 0, 12, 12], [200, 200, 220, 220]], float), np.array([0, 0]),
          np.array([0.9, 0.5]))
    s = t.summary()
    assert s["street_stall"]["recall"] == 1.0 and s["street_stall"]["precision"] == 0.5
    assert s["mobile_fuel_sale"]["recall"] == 0.0
    assert s["mobile_fuel_sale"]["precision"] is None  # nothing reported as a fuel sale
    assert s["street_stall"]["by_size"]["8-16px"] == {"recall": 1.0, "objects": 1,
                                                      "precision": 1.0, "detections": 1}
    assert s["street_stall"]["by_size"]["16-32px"]["precision"] == 0.0
    assert s["mobile_fuel_sale"]["by_size"][">=32px"]["objects"] == 1


def test_pair_yaml_lists_the_styles_folders(tmp_path):
    for s in ("bazaar", "dusk"):
        (tmp_path / s / "images" / "train").mkdir(parents=True)
    out = write_pair_yaml(tmp_path, ["bazaar", "dusk"], tmp_path / "no-town.yaml")
    spec = yaml.safe_load(out.read_text())
    assert spec["train"] == [str(tmp_path / s / "images" / "train") for s in ("bazaar", "dusk")]
    assert spec["val"] == [str(tmp_path / s / "images" / "val") for s in ("bazaar", "dusk")]
    assert spec["names"] == {0: "street_stall", 1: "mobile_fuel_sale"}
    with pytest.raises(FileNotFoundError, match="town"):
        write_pair_yaml(tmp_path, ["town", "dusk"], tmp_path / "x.yaml")


def test_pair_yaml_can_keep_an_even_share_of_each_style(tmp_path):
    for s in ("bazaar", "dusk"):
        for split, n in (("train", 10), ("val", 3)):
            d = tmp_path / s / "images" / split
            d.mkdir(parents=True)
            for i in range(n):
                (d / f"{s}_{i:02d}.jpg").write_bytes(b"")
    out = write_pair_yaml(tmp_path, ["bazaar", "dusk"], tmp_path / "y" / "small.yaml",
                          max_train=4, max_val=5)
    spec = yaml.safe_load(out.read_text())
    train = (tmp_path / "y" / "small.train.txt").read_text().split()
    assert spec["train"] == str(tmp_path / "y" / "small.train.txt")
    # 4 of 10, evenly spaced: indices 0, 3, 6, 9 of each style
    assert [p.rsplit("/", 1)[1] for p in train] == [
        f"{s}_{i:02d}.jpg" for s in ("bazaar", "dusk") for i in (0, 3, 6, 9)]
    assert len((tmp_path / "y" / "small.val.txt").read_text().split()) == 6  # all 3 each


def test_the_style_names_are_the_simulators():
    from detection.loso import STYLES, TRAINING_STYLES
    from simulators.styles import STYLES as RENDERED
    from simulators.styles import TRAINING_STYLES as RENDERED_TRAINING

    assert STYLES == RENDERED
    assert TRAINING_STYLES == RENDERED_TRAINING


def test_yaml_with_a_training_only_style_adds_it_to_the_styles_left_in(tmp_path, capsys):
    import json

    from detection.loso import main

    for s in ("town", "bazaar", "varied"):
        for split in ("train", "val"):
            (tmp_path / s / "images" / split).mkdir(parents=True)
    main(["yaml", str(tmp_path), "--leave-out", "dusk", "--with", "varied",
          "--out", str(tmp_path / "no-dusk.yaml")])
    said = json.loads(capsys.readouterr().out)
    assert said["train_styles"] == ["town", "bazaar", "varied"] and said["left_out"] == "dusk"
    with pytest.raises(SystemExit):  # varied only trains: it is never the style left out
        main(["yaml", str(tmp_path), "--leave-out", "varied", "--out", str(tmp_path / "x.yaml")])


def test_read_split_turns_yolo_labels_back_into_pixel_boxes(tmp_path):
    # a 101 x 77 frame (odd sides, so no halving can round them): one box of class 1 whose
    # label says centre (0.5, 0.5), size (0.2, 0.4): 20.2 x 30.8 px around (50.5, 38.5)
    import cv2

    from detection.loso import read_split

    (tmp_path / "images" / "test").mkdir(parents=True)
    (tmp_path / "labels" / "test").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "test" / "a.jpg"), np.zeros((77, 101, 3), np.uint8))
    (tmp_path / "labels" / "test" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    [(path, xyxy, classes)] = read_split(tmp_path)
    assert path.name == "a.jpg" and classes.tolist() == [1]
    assert xyxy[0].tolist() == pytest.approx([40.4, 23.1, 60.6, 53.9])
