"""Simulated fleets for dispatch tests: real TCP sockets, mission time sped up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.clock import SimClock
from simulators.fleet import Fleet

SPEEDUP = 10.0  # mission seconds per wall second: fast, yet a stalled thread on 2 busy cores
# (0.3 s wall) stays inside the 3 s link timeout


@pytest.fixture
def sim_fleet() -> Iterator:
    """``sim_fleet(homes, speedup=…, params=…)`` -> a running Fleet (stopped after the test)."""
    fleets: list[Fleet] = []

    def start(homes, *, speedup: float = SPEEDUP, **kw) -> Fleet:
        fleet = Fleet.start(homes, clock=SimClock(speedup), base_tcp_port=0, **kw)
        fleets.append(fleet)
        return fleet

    yield start
    for fleet in fleets:
        fleet.stop()


def drain_battery(fleet: Fleet, index: int, pct: float) -> None:
    """Set vehicle ``index``'s charge to ``pct`` percent, as if it had flown (test set-up only)."""
    with fleet._lock:
        battery = fleet._endpoints[index].vehicle.battery
        battery.consumed_mah = battery.capacity_mah * (1 - pct / 100.0)
