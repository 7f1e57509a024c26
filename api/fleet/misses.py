"""Why a drone arrived after the event's target: judged from what the fleet could have done.

When the dispatch worker first plans an event it notes, for every drone, what it could do then
(``Seen``: ``dispatch.misses.Chance`` each, counted from the event's alert); when a drone
arrives late, ``judge`` names the reason with the figures behind it, and the worker writes them
to the audit trail (``api.lifecycle.misses``, where the reasons are listed).

A drone the service cannot fly now (on another event, offline, in failsafe) counts as busy: the
service does not know when it will be free, so it could not have come in time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dispatch.misses import Chance, MissReason, miss_reason
from dispatch.planner import DroneStatus, Incident, Planner

__all__ = ["Seen", "bound_eta_s", "judge", "seen_now"]


@dataclass(frozen=True)
class Seen:
    """What each drone could do for an event when it was first planned, ``waited_s`` after alert."""

    waited_s: float
    chances: tuple[Chance, ...]


def seen_now(planner: Planner, incident: Incident, statuses: Sequence[DroneStatus]) -> Seen:
    """Each drone's chance at ``incident`` as the planner sees the fleet now."""
    options = {o.drone_id: o for o in planner.options(incident, statuses)}
    chances = []
    for status in statuses:
        option = options.get(status.id)
        if not status.available or option is None:
            chances.append(Chance(status.id, math.inf, math.inf, False))
        else:
            chances.append(Chance(status.id, incident.waited_s, option.eta_s, option.feasible))
    return Seen(incident.waited_s, tuple(chances))


def bound_eta_s(planner: Planner, lat: float, lon: float, target_s: float) -> float:
    """The best ETA of an idle, fully charged drone at any of the planner's docks (inf: none)."""
    idle = [DroneStatus(f"idle-{k}", dock_lat, dock_lon, 100.0)
            for k, (dock_lat, dock_lon) in enumerate(planner.docks)]
    options = planner.options(Incident("bound", lat, lon, target_s), idle)
    return min((o.eta_s for o in options if o.feasible), default=math.inf)


def judge(*, target_s: float, response_s: float, bound_s: float, seen: Seen | None,
          sent: tuple[str, float, float] | None) -> tuple[str, str] | None:
    """(reason, the figures behind it) for a miss; None when nothing noted can tell.

    ``bound_s``: ``bound_eta_s`` at the event; ``sent``: the first drone the plan sent (one
    that failed and was replaced included), its planned ETA and how long after the alert.
    """
    if not bound_s <= target_s:
        return "unreachable", (f"the best idle drone at any dock needs {_s(bound_s)}; the target "
                               f"is {target_s:.0f} s")
    if seen is not None and seen.waited_s + bound_s > target_s:
        return "review", (f"first planned {seen.waited_s:.0f} s after the alert; even the best "
                          f"idle drone then needs {bound_s:.0f} s of a {target_s:.0f} s target")
    if sent is not None:
        drone_id, eta_s, sent_after_s = sent
        if sent_after_s + eta_s <= target_s:
            return "flight", (f"drone {drone_id} was sent {sent_after_s:.0f} s after the alert "
                              f"with an eta of {eta_s:.0f} s, in time; the scene was reached "
                              f"at {response_s:.0f} s")
    if seen is None:
        return None
    reason = miss_reason(target_s, bound_s, seen.chances)
    capable = [c for c in seen.chances if c.in_time(target_s)]
    if reason is MissReason.PLANNER:
        names = ", ".join(f"{c.drone_id} (eta {c.eta_s:.0f} s)" for c in capable if c.battery_ok)
        return reason.value, (f"idle, charged drones could have been on scene in time: {names}; "
                              f"the plan sent {sent[0] if sent else 'none'}")
    if reason is MissReason.BATTERY:
        names = ", ".join(c.drone_id for c in capable)
        return reason.value, f"drones free in time lacked the charge for the trip: {names}"
    return reason.value, (f"every drone able to be there in time was busy or unavailable "
                          f"({len(seen.chances)} in the fleet)")


def _s(seconds: float) -> str:
    return f"{seconds:.0f} s" if math.isfinite(seconds) else "longer than any charge allows"
