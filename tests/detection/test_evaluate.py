"""AP50 by object size: COCO's rules on boxes whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from detection.evaluate import ImageBoxes, ap50_by_size, bin_label

NAMES = ("street_stall", "mobile_fuel_sale")


def boxes(*rows, conf=None) -> ImageBoxes:
    """Rows of (x0, y0, x1, y1, class_id)."""
    a = np.array(rows, float).reshape(-1, 5)
    return ImageBoxes(a[:, :4], a[:, 4].astype(int),
                      None if conf is None else np.array(conf, float))


# image 0: a 6x6 stall (small), a 20x20 stall (16-32 px), a 40x40 fuel sale (>=32 px)
TRUTH = [boxes((10, 10, 16, 16, 0), (100, 100, 120, 120, 0), (200, 200, 240, 240, 1))]


def test_perfect_detections_score_one_in_every_range():
    dets = [ImageBoxes(TRUTH[0].xyxy, TRUTH[0].class_id, np.array([0.9, 0.8, 0.7]))]
    out = ap50_by_size(TRUTH, dets, NAMES)
    assert out["all"] == {"objects": 3, "street_stall": 1.0, "mobile_fuel_sale": 1.0, "ap50": 1.0}
    assert out["<8px"] == {"objects": 1, "street_stall": 1.0, "ap50": 1.0}
    assert out["8-16px"] == {"objects": 0, "ap50": None}
    assert out["16-32px"] == {"objects": 1, "street_stall": 1.0, "ap50": 1.0}
    assert out[">=32px"] == {"objects": 1, "mobile_fuel_sale": 1.0, "ap50": 1.0}


def test_a_two_pixel_slip_loses_the_small_box_only():
    # shifted 2 px right and down: the 6x6 box overlaps 4x4 = 16 of 36 + 36 - 16 = 56 px,
    # IoU 0.29 < 0.5, a miss; the 20x20 one keeps 18x18 = 324 of 476, IoU 0.68, a hit
    shifted = boxes((12, 12, 18, 18, 0), (102, 102, 122, 122, 0), (200, 200, 240, 240, 1),
                    conf=[0.9, 0.8, 0.7])
    out = ap50_by_size(TRUTH, [shifted], NAMES)
    assert out["<8px"]["street_stall"] == 0.0
    assert out["16-32px"]["street_stall"] == 1.0
    # over all sizes the stalls have one hit in two, found after one false detection of higher
    # confidence: precision 1/2 at recall 1/2 and none beyond, so COCO's 101-point AP is
    # 51 points (recall 0 to 0.5) x 0.5 / 101
    assert out["all"]["street_stall"] == pytest.approx(51 * 0.5 / 101, abs=1e-4)


def test_a_detection_of_the_wrong_class_counts_for_nothing():
    wrong = boxes((200, 200, 240, 240, 0), conf=[0.9])
    out = ap50_by_size(TRUTH, [wrong], NAMES)
    assert out[">=32px"] == {"objects": 1, "mobile_fuel_sale": 0.0, "ap50": 0.0}


def test_no_detections_at_all_scores_zero_not_an_error():
    none = ImageBoxes(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))
    assert ap50_by_size(TRUTH, [none], NAMES)["all"]["ap50"] == 0.0


def test_images_of_truth_and_detections_must_pair_up():
    with pytest.raises(ValueError, match="1 images of truth but 2 of detections"):
        ap50_by_size(TRUTH, TRUTH * 2, NAMES)


@pytest.mark.parametrize(("lo", "hi", "label"), [(0, 8, "<8px"), (8, 16, "8-16px"),
                                                  (32, float("inf"), ">=32px")])
def test_ranges_are_named_by_their_edges(lo, hi, label):
    assert bin_label(lo, hi) == label
