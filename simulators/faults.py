"""Faults to inject into a fleet, written on the command line as ``SYSID:KIND[:ARG][@AT_S]``.

    2:drop_link:30        vehicle 2 loses its link for 30 s, at once
    1:fail_battery@120    vehicle 1's battery fails 120 s of mission time after start
    3:refuse_arm:Compass not calibrated
    2:lose_gps:20@60      vehicle 2 has no GPS fix from t=60 s to t=80 s
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulators.errors import BadFaultSpec

__all__ = ["FAULT_KINDS", "Fault", "inject", "parse_fault"]

# kind -> whether its ARG is a duration in seconds (True), free text (False) or absent (None)
FAULT_KINDS: dict[str, bool | None] = {
    "drop_link": True,
    "lose_gps": True,
    "fail_battery": None,
    "refuse_arm": False,
}
_FORM = "SYSID:KIND[:ARG][@AT_S], KIND one of drop_link:SECONDS, lose_gps:SECONDS, " \
        "fail_battery, refuse_arm[:REASON]; e.g. 2:drop_link:30@60"


@dataclass(frozen=True)
class Fault:
    """One fault: which vehicle, what, its argument, and the mission time it strikes."""

    sysid: int
    kind: str
    arg: str | None = None
    at_s: float = 0.0

    @property
    def duration_s(self) -> float:
        """The duration argument of drop_link / lose_gps."""
        return float(self.arg or 0.0)


def parse_fault(spec: str) -> Fault:
    """The fault ``spec`` describes; BadFaultSpec (saying the accepted form) if malformed."""
    body, _, at = spec.strip().partition("@")
    parts = body.split(":", 2)
    if len(parts) < 2:
        raise BadFaultSpec(f"fault {spec!r} is not {_FORM}")
    sysid_text, kind = parts[0].strip(), parts[1].strip()
    arg = parts[2].strip() if len(parts) == 3 else None
    if kind not in FAULT_KINDS:
        raise BadFaultSpec(f"fault {spec!r}: unknown kind {kind!r}; expected {_FORM}")
    try:
        sysid = int(sysid_text)
        at_s = float(at) if at else 0.0
    except ValueError as exc:
        raise BadFaultSpec(f"fault {spec!r}: system id and @time must be numbers; {_FORM}") from exc
    if sysid < 1 or not (math.isfinite(at_s) and at_s >= 0):
        raise BadFaultSpec(f"fault {spec!r}: system id must be >= 1 and @time >= 0")
    needs = FAULT_KINDS[kind]
    if needs is True:
        try:
            ok = arg is not None and float(arg) > 0 and math.isfinite(float(arg))
        except ValueError:
            ok = False
        if not ok:
            raise BadFaultSpec(f"fault {spec!r}: {kind} needs a duration in seconds > 0, "
                               f"e.g. {sysid}:{kind}:30")
    elif needs is None and arg:
        raise BadFaultSpec(f"fault {spec!r}: {kind} takes no argument")
    return Fault(sysid, kind, arg, at_s)


def inject(vehicle: object, fault: Fault) -> None:
    """Apply ``fault`` to a fleet vehicle handle (``simulators.fleet.SimVehicle``)."""
    if fault.kind == "drop_link":
        vehicle.drop_link(fault.duration_s)  # type: ignore[attr-defined]
    elif fault.kind == "lose_gps":
        vehicle.lose_gps(fault.duration_s)  # type: ignore[attr-defined]
    elif fault.kind == "fail_battery":
        vehicle.fail_battery()  # type: ignore[attr-defined]
    elif fault.kind == "refuse_arm":
        vehicle.refuse_arm(fault.arg or "Fault injected")  # type: ignore[attr-defined]
