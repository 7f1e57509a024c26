"""The watch pacer against a real SimClock: mission time runs at 1x while a scene check is late."""

from __future__ import annotations

import time

import pytest

from api.demo.pacer import WatchPacer
from simulators.clock import SimClock


class Late:
    """How late (mission s) the cameras say their most overdue scene check is."""

    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self, now_s: float) -> float:
        return self.s


def test_a_late_check_holds_mission_time_at_real_time_until_it_is_taken():
    clock, late, firsts = SimClock(12.0), Late(), []
    pacer = WatchPacer(clock, late, clock.elapsed_s, late_s=5.0,
                       on_first_hold=lambda s, speed: firsts.append((s, speed)))
    late.s = 4.9
    pacer.step()
    assert clock.speedup == 12.0 and not pacer.holding  # under the 5 s allowed
    late.s = 6.0
    before = clock.elapsed_s()
    pacer.step()
    assert clock.speedup == 1.0 and pacer.holding
    assert clock.elapsed_s() - before < 0.5  # no jump: mission time goes on from where it was
    time.sleep(0.3)
    pacer.step()  # still late: still held, not held twice
    late.s = 0.0
    pacer.step()
    assert clock.speedup == 12.0 and not pacer.holding
    stats = pacer.stats
    assert stats.holds == 1 and stats.worst_late_s == 6.0 and firsts == [(6.0, 12.0)]
    # at 1x a wall second is a mission second
    assert stats.held_wall_s >= 0.3
    assert stats.held_mission_s == pytest.approx(stats.held_wall_s, abs=0.02)
    late.s = 7.0
    pacer.step()
    assert pacer.stats.holds == 2 and firsts == [(6.0, 12.0)]  # the note comes once
    pacer.stop()  # a hold in force ends with the pacer
    assert clock.speedup == 12.0 and not pacer.holding


def test_a_clock_no_faster_than_real_time_is_never_held():
    clock, late = SimClock(0.5), Late()
    pacer = WatchPacer(clock, late, clock.elapsed_s, late_s=5.0)
    late.s = 60.0
    pacer.step()
    assert clock.speedup == 0.5 and pacer.stats.holds == 0


def test_the_pacer_thread_holds_within_a_poll_even_while_the_camera_is_stuck():
    clock, late = SimClock(12.0), Late()
    pacer = WatchPacer(clock, late, clock.elapsed_s, late_s=5.0, poll_s=0.02)
    pacer.start()
    try:
        late.s = 30.0  # a camera thread stuck in a long frame: the pacer polls on its own
        deadline = time.monotonic() + 2.0
        while not pacer.holding and time.monotonic() < deadline:
            time.sleep(0.01)
        assert clock.speedup == 1.0
        late.s = 0.0
        deadline = time.monotonic() + 2.0
        while pacer.holding and time.monotonic() < deadline:
            time.sleep(0.01)
        assert clock.speedup == 12.0
    finally:
        pacer.stop()


def test_a_failing_poll_never_leaves_the_clock_held():
    clock = SimClock(12.0)
    calls = {"n": 0}

    def overdue(now_s: float) -> float:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("camera state unreadable")
        return 30.0

    pacer = WatchPacer(clock, overdue, clock.elapsed_s, late_s=5.0, poll_s=0.02)
    pacer.step()
    assert pacer.holding
    pacer.start()
    try:
        deadline = time.monotonic() + 2.0
        while pacer.holding and time.monotonic() < deadline:
            time.sleep(0.01)
        assert clock.speedup == 12.0 and not pacer.holding
    finally:
        pacer.stop()
