"""The styles bench's paired comparison of two left-out models: object by object, who found
what, and the exact McNemar p-value, against hand-worked counts."""

from __future__ import annotations

import pytest

from tests.bench.bench_detection_styles import paired

STALL, FUEL = 0, 1


def test_only_the_discordant_objects_count_and_the_p_value_is_the_two_sided_binomial():
    # five fuel sales: a finds 1, 2, 3; b finds 3, 4; both miss 5. Only a: 2, only b: 1.
    # Two-sided exact test of 2 vs 1 of 3 at 1/2: every split is at least as likely, p = 1.
    a = [(FUEL, True), (FUEL, True), (FUEL, True), (FUEL, False), (FUEL, False), (STALL, True)]
    b = [(FUEL, False), (FUEL, False), (FUEL, True), (FUEL, True), (FUEL, False), (STALL, True)]
    out = paired(a, b, ("new", "old"))
    assert out["mobile_fuel_sale"] == {"only_new": 2, "only_old": 1, "mcnemar_p": 1.0}
    assert out["street_stall"] == {"only_new": 0, "only_old": 0, "mcnemar_p": 1.0}


def test_eight_to_none_is_p_2_over_256():
    # 8 discordant objects all one way: P = 2 * (1/2)^8 = 0.0078125
    out = paired([(STALL, True)] * 8 + [(STALL, False)] * 3, [(STALL, False)] * 11)
    assert out["street_stall"]["only_a"] == 8 and out["street_stall"]["only_b"] == 0
    assert out["street_stall"]["mcnemar_p"] == pytest.approx(2 / 256, abs=1e-4)


def test_the_two_lists_must_be_the_same_objects():
    with pytest.raises(ValueError):
        paired([(FUEL, True)] * 3, [(FUEL, True)] * 2)
