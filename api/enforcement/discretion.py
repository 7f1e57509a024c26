"""The discretion baseline (自由裁量基准) and the reminder slip (温馨提示单) for first minor offences.

A proposed penalty is weighed against the penalties already decided for the same violation
type in the same zone kind: their median and spread (the middle half, 25th to 75th
percentile). Fewer than `MIN_SAMPLES` there and the baseline widens to the type in every zone
kind, and says so (`scope`); fewer than that still and there is no baseline (`none`), so
nothing is flagged. A penalty departs from the baseline when it is more than `FACTOR` times the
median or less than the median divided by it; a departing penalty is recorded only with a
reason, which goes into the event's audit trail with the figures.

A **first minor offence** is not fined (行政处罚法 第三十三条: 初次违法且危害后果轻微并及时改正的，
可以不予行政处罚): the first-offence decision (`api.lifecycle.offences`) marks it, and for the
minor types (`MINOR_TYPES`: a street stall; selling fuel from a vehicle is a hazardous-chemicals
offence, never minor) a penalty is refused and the printable reminder slip is given instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
from sqlmodel import Session, select

from api.core.errors import BadInput, Conflict
from api.core.models import AuditEntry, Event, Penalty
from api.lifecycle.offences import FIRST, is_confirmed_violation

FACTOR = 2.0
MIN_SAMPLES = 5
MINOR_TYPES = frozenset({"street_stall"})


@dataclass(frozen=True)
class Baseline:
    scope: str  # "type+zone" | "type" | "none"
    n: int
    median_cny: float | None
    p25_cny: float | None
    p75_cny: float | None
    factor: float = FACTOR

    def departs(self, amount_cny: float) -> bool:
        if self.median_cny is None:
            return False
        return amount_cny > self.median_cny * self.factor or \
            amount_cny < self.median_cny / self.factor

    def describe(self) -> str:
        if self.median_cny is None:
            return f"no baseline (fewer than {MIN_SAMPLES} earlier penalties of this type)"
        return (f"median {self.median_cny:g} CNY, middle half {self.p25_cny:g}–{self.p75_cny:g} "
                f"CNY over {self.n} earlier penalties ({self.scope})")


def is_first_minor(event: Event) -> bool:
    """Whether the event is a first offence of a minor type (a reminder slip, no penalty)."""
    return event.offence == FIRST and event.type in MINOR_TYPES


def baseline_for(session: Session, event_type: str, zone_kind: str | None) -> Baseline:
    """The baseline of earlier penalties for the type in the zone kind (widened; see above)."""
    rows = session.exec(select(Penalty.amount_cny, Penalty.zone_kind)
                        .where(Penalty.event_type == event_type)).all()
    same_zone = [a for a, z in rows if z == zone_kind]
    for scope, amounts in (("type+zone", same_zone), ("type", [a for a, _ in rows])):
        if len(amounts) >= MIN_SAMPLES:
            p25, median, p75 = np.percentile(amounts, [25, 50, 75])
            return Baseline(scope, len(amounts), float(median), float(p25), float(p75))
    return Baseline("none", len(rows), None, None, None)


def _penalisable(event: Event) -> None:
    if not is_confirmed_violation(event):
        raise Conflict(f"event {event.id} is '{event.state}': only a violation reviewed as real "
                       "can be penalised")
    if is_first_minor(event):
        raise Conflict(f"event {event.id} is a first minor offence: it gets the reminder slip "
                       f"(GET /api/v1/events/{event.id}/reminder-slip), not a penalty")


def weigh(session: Session, event: Event, amount_cny: float) -> dict:
    """The baseline for a proposed penalty on `event`, and whether `amount_cny` departs from it."""
    _penalisable(event)
    base = baseline_for(session, event.type, event.zone_kind)
    return {**asdict(base), "amount_cny": amount_cny, "departs": base.departs(amount_cny),
            "text": base.describe()}


def decide(session: Session, event: Event, amount_cny: float, reason: str | None, *,
           actor: str, now: datetime) -> Penalty:
    """Record the penalty with its baseline and an audit row (the caller holds the event's row
    lock and commits); BadInput when it departs without a reason, Conflict when the event has
    one already or may not be penalised."""
    _penalisable(event)
    if session.exec(select(Penalty.id).where(Penalty.event_id == event.id)).first() is not None:
        raise Conflict(f"event {event.id} has its penalty already")
    base = baseline_for(session, event.type, event.zone_kind)
    departs = base.departs(amount_cny)
    reason = " ".join(reason.split()) if reason else None
    if departs and not (reason and len(reason) >= 5):
        raise BadInput(f"{amount_cny:g} CNY departs from the baseline by more than ×{FACTOR:g} "
                       f"({base.describe()}): give the reason for it")
    penalty = Penalty(event_id=event.id, event_type=event.type, zone_kind=event.zone_kind,
                      amount_cny=amount_cny, baseline_scope=base.scope, baseline_n=base.n,
                      baseline_median_cny=base.median_cny, baseline_p25_cny=base.p25_cny,
                      baseline_p75_cny=base.p75_cny, departs=departs, reason=reason,
                      decided_by=actor, at=now)
    session.add(penalty)
    text = f"penalty {amount_cny:g} CNY against {base.describe()}"
    if departs:
        text += f"; DEPARTS (×{FACTOR:g}): {reason}"
    elif reason:
        text += f"; {reason}"
    session.add(AuditEntry(event_id=event.id, at=now, actor=actor, from_state=event.state,
                           to_state=event.state, reason=text))
    return penalty


def reminder_view(event: Event) -> Event:
    """The event, if it is a first minor offence (Conflict otherwise): the slip's subject."""
    if not is_confirmed_violation(event) or not is_first_minor(event):
        raise Conflict(f"event {event.id} is not a first minor offence (offence: "
                       f"{event.offence or 'not decided'}, type {event.type}): no reminder slip")
    return event
