"""Why an event missed its target, as the audit trail keeps it: one row, written and read here.

When a drone arrives after the event's target, the dispatch worker judges why
(``api.fleet.misses``) and adds an audit row whose reason starts ``missed target (<reason>):``
followed by the figures behind it; evaluation reads the reason back for its summary. Writer and
reader share this module, so the two cannot drift apart. No new column: the audit trail is
where a person already looks for why an event went as it did.

Reasons (``MISS_REASONS``, in the order they are judged):

- ``unreachable``: even an idle, charged drone at the best dock is over the scene after the
  target (``dispatch.misses``: the bound);
- ``review``: the event waited for review and dispatch so long that even that idle drone
  would have been late by then;
- ``flight``: the drone sent was planned in time but arrived late (it flew slower than its
  plan, or failed and was replaced);
- ``planner``, ``battery``, ``all_busy``: as ``dispatch.misses.MissReason``;
- ``unknown``: a miss with no such row (the service restarted between plan and arrival).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, select

from api.core.models import AuditEntry, Event

__all__ = ["MISS_REASONS", "UNKNOWN", "miss_audit", "miss_reasons"]

MISS_REASONS = ("unreachable", "review", "flight", "planner", "battery", "all_busy")
UNKNOWN = "unknown"
_PREFIX = "missed target ("
_PATTERN = re.compile(r"^missed target \(([a-z_]+)\):")


def miss_audit(event: Event, *, reason: str, detail: str, actor: str, at: datetime
               ) -> AuditEntry:
    """The audit row saying why ``event`` missed its target (the state stays; the caller adds it)."""
    if reason not in MISS_REASONS:
        raise ValueError(f"unknown miss reason {reason!r}; one of {MISS_REASONS}")
    return AuditEntry(event_id=event.id, at=at, actor=actor, from_state=event.state,
                      to_state=event.state, reason=f"{_PREFIX}{reason}): {detail}")


def miss_reasons(session: Session, event_ids: Iterable[int]) -> dict[int, str]:
    """The recorded miss reason of each of ``event_ids`` that has one (the latest row wins)."""
    ids = list(event_ids)
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):  # keep each IN list a size every database accepts
        rows = session.exec(select(AuditEntry.event_id, AuditEntry.reason)
                            .where(AuditEntry.event_id.in_(ids[start:start + 500]),
                                   AuditEntry.reason.startswith(_PREFIX))
                            .order_by(AuditEntry.id)).all()
        for event_id, text in rows:
            match = _PATTERN.match(text or "")
            if match and match.group(1) in MISS_REASONS:
                out[event_id] = match.group(1)
    return out
