"""Why a missed event missed: each reason on a case small enough to check by eye."""

from __future__ import annotations

import math

import pytest

from dispatch.misses import Chance, MissReason, miss_reason, tally

TARGET_S = 180.0


@pytest.mark.parametrize(
    ("bound_eta_s", "chances", "expected"),
    [
        # The best dock is 200 s out with an idle, charged drone: physics, whatever the fleet did.
        (200.0, [Chance("a", 0.0, 60.0, True)], MissReason.UNREACHABLE),
        # Free at the alert, 100 s out, charged: the planner should have sent it.
        (100.0, [Chance("a", 0.0, 100.0, True)], MissReason.PLANNER),
        # Busy 50 s more, then 100 s out: 150 s <= 180 s, so waiting for it would have made it.
        (100.0, [Chance("a", 50.0, 100.0, True)], MissReason.PLANNER),
        # Busy 90 s more, then 100 s out: 190 s, too late; nobody else: the fleet was busy.
        (100.0, [Chance("a", 90.0, 100.0, True)], MissReason.ALL_BUSY),
        # In time, but its charge does not cover the trip; the charged one is too far.
        (100.0, [Chance("low", 0.0, 100.0, False), Chance("far", 0.0, 250.0, True)],
         MissReason.BATTERY),
        # A charged drone in time outranks a battery reason from another.
        (100.0, [Chance("low", 0.0, 100.0, False), Chance("ok", 20.0, 150.0, True)],
         MissReason.PLANNER),
        # Exactly on the target counts as in time (response <= target is within target).
        (100.0, [Chance("a", 80.0, 100.0, True)], MissReason.PLANNER),
        (180.0, [], MissReason.ALL_BUSY),
        (math.inf, [], MissReason.UNREACHABLE),  # no dock has a route at all
        (100.0, [Chance("lost", math.inf, math.inf, False)], MissReason.ALL_BUSY),
    ],
)
def test_the_first_reason_that_holds(bound_eta_s, chances, expected):
    assert miss_reason(TARGET_S, bound_eta_s, chances) is expected


def test_tally_lists_every_reason_in_order():
    reasons = [MissReason.BATTERY, MissReason.ALL_BUSY, MissReason.BATTERY]
    assert tally(reasons) == {"unreachable": 0, "planner": 0, "battery": 2, "all_busy": 1}


def test_a_target_must_be_positive():
    with pytest.raises(ValueError, match="target_s"):
        miss_reason(0.0, 10.0, [])
