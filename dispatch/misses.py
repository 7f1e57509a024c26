"""Why an event missed its target: physics, a busy fleet, a battery, or the planner's choice.

Judged from the event's alert, with what each drone could have done (``Chance``): when it was,
or would come, free, its ETA from where it then was, and whether its charge then covered the
trip above the reserve. The first reason that holds, in this order:

1. ``unreachable``: even an idle, charged drone at the best dock is over the scene after the
   target (docks too far, climb, the detour round no-fly zones) — the bound.
2. ``planner``: some drone, free in time and charged enough, would have been on scene within
   the target; the planner (or the order it was asked in) chose otherwise.
3. ``battery``: a drone free in time could have made it but lacked the charge.
4. ``all_busy``: every drone that could have made it was busy on other events until too late.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Chance", "MissReason", "miss_reason", "tally"]


class MissReason(StrEnum):
    UNREACHABLE = "unreachable"
    PLANNER = "planner"
    BATTERY = "battery"
    ALL_BUSY = "all_busy"


@dataclass(frozen=True)
class Chance:
    """What one drone could have done for an event, as seen from the event's alert."""

    drone_id: str
    free_after_s: float  # seconds after the alert it was free (0: free then; inf: never)
    eta_s: float  # its ETA from where it was once free (inf: no route)
    battery_ok: bool  # its charge once free covered out, hold and back above the reserve

    def in_time(self, target_s: float) -> bool:
        """Whether it would have been on scene within the target had it gone once free."""
        return self.free_after_s + self.eta_s <= target_s


def miss_reason(target_s: float, bound_eta_s: float, chances: Iterable[Chance]) -> MissReason:
    """The reason an event with this target missed it; ``bound_eta_s``: idle, charged, best dock."""
    if not (math.isfinite(target_s) and target_s > 0):
        raise ValueError(f"target_s must be a positive number of seconds, got {target_s!r}")
    if not bound_eta_s <= target_s:
        return MissReason.UNREACHABLE
    capable = [c for c in chances if c.in_time(target_s)]
    if any(c.battery_ok for c in capable):
        return MissReason.PLANNER
    if capable:
        return MissReason.BATTERY
    return MissReason.ALL_BUSY


def tally(reasons: Iterable[MissReason]) -> dict[str, int]:
    """How many misses had each reason, every reason listed (zeros included), in order."""
    counts = Counter(reasons)
    return {reason.value: counts.get(reason, 0) for reason in MissReason}
