"""Pre-positioning idle drones toward the hour's hot spots, on a two-dock layout worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dispatch.planner import DroneStatus, Planner
from dispatch.preposition import Demand, expected_coverage, preposition
from geofence import Dock
from tests.dispatch.layouts import at, router

# Docks 4 km apart; the hour's hot spot is 500 m from B and 4.03 km from A, beyond the
# 1981 m a drone flies within the 180 s residential target.
DOCK_A, DOCK_B = Dock("A", "dock A", *at(0, 0)), Dock("B", "dock B", *at(4000, 0))
HOT = [Demand(*at(4000, 500), per_hour=2.0, target_s=180.0)]
PLANNER = Planner(router(), [at(0, 0), at(4000, 0)])


def idle_at_a(*ids: str, pct: float = 100.0) -> list[DroneStatus]:
    return [DroneStatus(i, *at(0, 0), battery_pct=pct) for i in ids]


def test_an_idle_drone_moves_to_the_dock_that_reaches_the_hot_spot():
    # Before: no idle drone reaches it: 0. One at B: 2 × (1 - 0.5) = 1.0 expected incident.
    [move] = preposition(PLANNER, idle_at_a("d1", "d2"), [DOCK_A, DOCK_B], HOT, min_gain=0.6)
    assert (move.drone_id, move.dock_id) == ("d1", "B")
    assert move.covered_before == 0.0 and move.covered_after == pytest.approx(1.0)
    # 15 s launch + 4000/12 + 4.8 s braking to rest + 38.33 s landing (5 loiter, 20 m at
    # 1.5 m/s, 10 m at 0.5 m/s)
    assert move.flight_s == pytest.approx(15 + 4000 / 12 + 4.8 + 5 + 20 / 1.5 + 10 / 0.5)
    assert move.length_m == pytest.approx(4000.0, abs=0.01)
    # Energy: climb 1.5905 Wh + 338.13 s at 415.2 W + 38.33 s hover at 300 W = 43.78 Wh, so
    # 150 - 43.78 Wh left; on 4 cells of 10 Ah, E(p) = 132 p + 18 p² Wh.
    used_wh = 300 * 15 / 3600 + 2.5 * 9.80665 * 30 / 0.6 / 3600 + \
        415.2 * (4000 / 12 + 4.8) / 3600 + 300 * (5 + 20 / 1.5 + 10 / 0.5) / 3600
    left_wh = 150.0 - used_wh
    expected_pct = 100 * (-132 + math.sqrt(132 ** 2 + 4 * 18 * left_wh)) / 36
    assert move.pct_after == pytest.approx(expected_pct, abs=0.01)
    assert move.reason.startswith("pre-positioned d1 from dock A to dock B (4.0 km, 391 s, "
                                  "battery 100 -> 73 %)")
    assert "reach 1.00 of the 2.00 incidents expected this hour within target (was 0.00)" in \
        move.reason


def test_a_second_drone_follows_while_it_still_gains_enough():
    # Two at B: 2 × (1 - 0.25) = 1.5, a gain of 0.5 over one.
    moves = preposition(PLANNER, idle_at_a("d1", "d2"), [DOCK_A, DOCK_B], HOT, min_gain=0.4)
    assert [(m.drone_id, m.dock_id) for m in moves] == [("d1", "B"), ("d2", "B")]
    assert moves[1].covered_after == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("drones", "why"),
    [
        (idle_at_a("low", pct=30.0), "the 43.8 Wh move would eat into the 25 % reserve"),
        ([DroneStatus("up", *at(0, 0), battery_pct=100.0, airborne=True)], "already flying"),
        ([DroneStatus("busy", *at(0, 0), battery_pct=100.0, available=False)], "not idle"),
    ],
)
def test_no_move_for_a_drone_that_cannot_or_should_not(drones, why):
    assert preposition(PLANNER, drones, [DOCK_A, DOCK_B], HOT) == [], why


def test_no_move_when_the_gain_is_below_the_threshold():
    assert preposition(PLANNER, idle_at_a("d1"), [DOCK_A, DOCK_B], HOT, min_gain=1.01) == []


def test_expected_coverage_counts_each_place_by_its_idle_coverers():
    # place 0 reached by two drones, place 1 by none, place 2 by one; q = 0.5
    covers = np.array([[True, False, True], [True, False, False]])
    assert expected_coverage(covers, np.array([1.0, 3.0, 2.0]), 0.5) == pytest.approx(
        1.0 * 0.75 + 0.0 + 2.0 * 0.5)
