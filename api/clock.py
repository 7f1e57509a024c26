"""The service's clock: wall time in production, the simulators' mission clock in simulation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC and timezone-aware."""
        ...


class SystemClock:
    """Wall-clock UTC time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def clock_from_spec(spec: str | None) -> Clock:
    """The system clock, or — given a `SimClock.spec()` string — the simulators' mission clock."""
    if not spec:
        return SystemClock()
    from simulators.clock import SimClock  # only simulation needs the simulators package

    return SimClock.from_spec(spec)
