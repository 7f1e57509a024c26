"""The service's clock: wall time in production, the simulators' mission clock in simulation.

The service is handed one ``Clock`` at start-up (``api.app.create_app(clock=...)``) and asks it
for every time it stores or compares. Which clock that is, is the entry point's choice
(``api.main`` builds the simulators' clock from ``FLYONCE_SIM_CLOCK``): nothing else in the
service knows the simulators exist.
"""

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
