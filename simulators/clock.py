"""Mission clocks: wall time scaled by a speed-up, or time that moves only when stepped.

Mission time is what the service measures response times in during simulation. ``SimClock``
makes it a pure function of wall time, ``start + (wall - wall_epoch) * speedup``, so a second
process given ``SimClock.spec()`` reads exactly the same mission time. ``SteppedClock`` is for
deterministic tests: the fleet moves it forward one physics step at a time, as fast as it can.
Anything that only needs "a clock" takes any object with ``now() -> datetime``.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

from simulators.errors import BadClockSpec

__all__ = ["MAX_SPEEDUP", "SimClock", "SteppedClock"]

MAX_SPEEDUP = 1000.0
_SPEC_PREFIX = "simclock/1"
# A fixed default start keeps stepped runs identical from one day to the next.
_STEPPED_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def _aware(start: datetime | None, default: datetime) -> datetime:
    if start is None:
        return default
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    return start.astimezone(UTC)


class SimClock:
    """Mission time running ``speedup`` times faster than the wall clock, from ``start``."""

    def __init__(
        self,
        speedup: float = 1.0,
        start: datetime | None = None,
        *,
        wall_epoch_s: float | None = None,
    ) -> None:
        if not (math.isfinite(speedup) and 0.0 < speedup <= MAX_SPEEDUP):
            raise ValueError(f"speedup must be in (0, {MAX_SPEEDUP:g}], got {speedup!r}")
        # The clock is the one place that reads the wall clock; everything else asks it.
        epoch_s = time.time() if wall_epoch_s is None else float(wall_epoch_s)
        self._start = _aware(start, datetime.fromtimestamp(epoch_s, UTC))
        # (wall epoch s, speedup) in one attribute: set_speedup replaces both in one store, so a
        # reader on another thread never pairs the new epoch with the old rate
        self._rate = (epoch_s, float(speedup))

    @property
    def speedup(self) -> float:
        """Mission seconds per wall second."""
        return self._rate[1]

    @property
    def start(self) -> datetime:
        """Mission time at the wall epoch."""
        return self._start

    def elapsed_s(self) -> float:
        """Mission seconds since ``start``."""
        epoch_s, speedup = self._rate
        return (time.time() - epoch_s) * speedup

    def now(self) -> datetime:
        """The current mission time, UTC and timezone-aware."""
        return self._start + timedelta(seconds=self.elapsed_s())

    def set_speedup(self, speedup: float) -> None:
        """Run at ``speedup`` from now on; mission time goes on from where it is (no jump).

        For a run that finds it cannot keep up (the demo's cameras): every reader of this
        object follows at once; a clock rebuilt elsewhere from an earlier ``spec()`` does not.
        """
        if not (math.isfinite(speedup) and 0.0 < speedup <= MAX_SPEEDUP):
            raise ValueError(f"speedup must be in (0, {MAX_SPEEDUP:g}], got {speedup!r}")
        epoch_s, old = self._rate
        wall = time.time()
        elapsed = (wall - epoch_s) * old
        self._rate = (wall - elapsed / speedup, float(speedup))

    def wall_s_until(self, elapsed_s: float) -> float:
        """Wall seconds to wait until mission time reaches ``elapsed_s`` (0 if already past)."""
        epoch_s, speedup = self._rate
        return max(0.0, epoch_s + elapsed_s / speedup - time.time())

    def spec(self) -> str:
        """A short string from which ``from_spec`` rebuilds this exact clock in any process."""
        return (
            f"{_SPEC_PREFIX};wall={self._rate[0]!r};start={self._start.isoformat()};"
            f"speedup={self._rate[1]!r}"
        )

    @classmethod
    def from_spec(cls, spec: str) -> SimClock:
        """The clock a ``spec()`` string describes; BadClockSpec if it is not one."""
        parts = spec.strip().split(";")
        if not parts or parts[0] != _SPEC_PREFIX:
            raise BadClockSpec(
                f"not a simulator clock spec: {spec!r}; expected '{_SPEC_PREFIX};wall=…;start=…;"
                "speedup=…' as printed by `flyonce sim`"
            )
        try:
            fields = dict(part.split("=", 1) for part in parts[1:])
            return cls(
                speedup=float(fields["speedup"]),
                start=datetime.fromisoformat(fields["start"]),
                wall_epoch_s=float(fields["wall"]),
            )
        except (KeyError, ValueError) as exc:
            raise BadClockSpec(f"clock spec {spec!r} is damaged ({exc}); copy it again") from exc

    def __repr__(self) -> str:
        return f"SimClock(speedup={self._rate[1]!r}, start={self._start.isoformat()!r})"


class SteppedClock:
    """Mission time that moves only when ``advance`` is called; for deterministic tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = _aware(start, _STEPPED_EPOCH)
        self._elapsed_s = 0.0

    @property
    def start(self) -> datetime:
        """Mission time before the first step."""
        return self._start

    def elapsed_s(self) -> float:
        """Mission seconds advanced so far."""
        return self._elapsed_s

    def now(self) -> datetime:
        """The current mission time, UTC and timezone-aware."""
        return self._start + timedelta(seconds=self._elapsed_s)

    def advance(self, dt_s: float) -> None:
        """Move mission time forward by ``dt_s`` seconds (the fleet calls this each step)."""
        if not dt_s >= 0.0:
            raise ValueError(f"a clock only moves forward; dt_s={dt_s!r}")
        self._elapsed_s += dt_s

    def __repr__(self) -> str:
        return f"SteppedClock(start={self._start.isoformat()!r}, elapsed_s={self._elapsed_s!r})"
