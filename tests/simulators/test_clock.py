from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from simulators.clock import SimClock, SteppedClock
from simulators.errors import BadClockSpec

START = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("speedup, wall_ago_s, mission_s", [(1.0, 3.0, 3.0), (20.0, 2.0, 40.0),
                                                            (0.5, 4.0, 2.0)])
def test_mission_time_is_wall_time_times_speedup(speedup, wall_ago_s, mission_s):
    clock = SimClock(speedup, START, wall_epoch_s=time.time() - wall_ago_s)
    assert clock.elapsed_s() == pytest.approx(mission_s, abs=0.05 * speedup)
    assert clock.now() - START == pytest.approx(timedelta(seconds=mission_s),
                                                abs=timedelta(seconds=0.05 * speedup))
    assert clock.now().tzinfo is not None


def test_spec_rebuilds_the_same_clock_in_another_process():
    clock = SimClock(17.5, START)
    copy = SimClock.from_spec(clock.spec())
    assert (copy.speedup, copy.start) == (17.5, START)
    # both are pure functions of the same wall epoch: the readings agree to within the
    # wall time between the two calls (well under 10 ms, i.e. 0.175 mission s)
    assert abs(copy.elapsed_s() - clock.elapsed_s()) < 0.175


@pytest.mark.parametrize("spec", ["", "simclock/2;wall=1;start=2025-01-01T00:00:00+00:00;speedup=1",
                                  "simclock/1;wall=x;start=2025-01-01T00:00:00+00:00;speedup=1",
                                  "simclock/1;wall=1;speedup=1"])
def test_bad_spec_says_what_to_do(spec):
    with pytest.raises(BadClockSpec, match="spec"):
        SimClock.from_spec(spec)


@pytest.mark.parametrize("speedup", [0.0, -1.0, float("nan"), 5000.0])
def test_bad_speedup_is_refused(speedup):
    with pytest.raises(ValueError, match="speedup"):
        SimClock(speedup)


def test_naive_start_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(1.0, datetime(2025, 1, 1))


def test_stepped_clock_moves_only_when_advanced():
    clock = SteppedClock(START)
    assert clock.now() == START
    for _ in range(25):
        clock.advance(0.1)
    assert clock.elapsed_s() == pytest.approx(2.5)
    assert clock.now() == START + timedelta(seconds=2.5)
    with pytest.raises(ValueError):
        clock.advance(-1.0)


def test_set_speedup_slows_the_clock_without_a_jump() -> None:
    clock = SimClock(10.0, wall_epoch_s=time.time() - 3.0)  # 30 mission s in
    before = clock.elapsed_s()
    clock.set_speedup(2.5)
    after = clock.elapsed_s()
    assert 29.9 <= before <= after <= before + 0.5  # continuous: no jump back or forward
    time.sleep(0.2)
    # 0.2 wall s at 2.5x is 0.5 mission s (not 2 s at the old 10x)
    assert 0.45 <= clock.elapsed_s() - after <= 0.7
    assert clock.speedup == 2.5
    rebuilt = SimClock.from_spec(clock.spec())
    assert abs(rebuilt.elapsed_s() - clock.elapsed_s()) < 0.05
    with pytest.raises(ValueError):
        clock.set_speedup(0.0)


def test_the_fleet_keeps_the_most_its_physics_fell_behind_the_clock():
    """A fleet thread held off for 0.5 s wall at 10x falls 5 mission seconds behind, then
    catches up: the lag now is back under a few steps, the record keeps the 5 s."""
    from geofence import sample_town
    from simulators.fleet import Fleet

    fleet = Fleet.start(sample_town().docks[:1], clock=SimClock(10.0), base_tcp_port=0)
    try:
        time.sleep(0.3)
        with fleet._lock:  # what a starved process does to the fleet thread
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while fleet.stats().lag_s > 1.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = fleet.stats()
        assert stats.lag_s <= 1.0
        assert 4.5 <= stats.max_lag_s <= 5.0 + 0.5 * 10  # 5 s, plus what a loaded CI adds
    finally:
        fleet.stop()
