"""The event lifecycle as data: the allowed transitions and the one function that applies them.

    detected ─▶ alerted ─▶ confirmed ─▶ assigned ─▶ on_scene ─▶ resolved ─▶ evaluated
        │           │
        └───────────┴─▶ rejected ─▶ evaluated

`detected → rejected` is the zone rules' refusal (a stall inside a permitted market, say);
`alerted → rejected` is an operator's. Rejected events are false positives and go to evaluation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from api.core.errors import IllegalTransition
from api.core.models import AuditEntry, Event


class State(StrEnum):
    DETECTED = "detected"
    ALERTED = "alerted"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    EVALUATED = "evaluated"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.DETECTED: frozenset({State.ALERTED, State.REJECTED}),
    State.ALERTED: frozenset({State.CONFIRMED, State.REJECTED}),
    State.CONFIRMED: frozenset({State.ASSIGNED}),
    State.REJECTED: frozenset({State.EVALUATED}),
    State.ASSIGNED: frozenset({State.ON_SCENE}),
    State.ON_SCENE: frozenset({State.RESOLVED}),
    State.RESOLVED: frozenset({State.EVALUATED}),
    State.EVALUATED: frozenset(),
}

# The Event column that records when each state was entered.
STAGE_TIME_FIELD: dict[State, str] = {
    State.DETECTED: "detected_at",
    State.ALERTED: "alerted_at",
    State.CONFIRMED: "reviewed_at",
    State.REJECTED: "reviewed_at",
    State.ASSIGNED: "assigned_at",
    State.ON_SCENE: "on_scene_at",
    State.RESOLVED: "resolved_at",
    State.EVALUATED: "evaluated_at",
}

TERMINAL: frozenset[State] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
OPEN_STATES: frozenset[State] = frozenset(
    {State.ALERTED, State.CONFIRMED, State.ASSIGNED, State.ON_SCENE}
)


def allowed_next(state: str) -> frozenset[State]:
    """The states an event in `state` may move to."""
    return TRANSITIONS[State(state)]


def creation(event: Event, *, actor: str, at: datetime, reason: str | None = None) -> AuditEntry:
    """Stamp a new event as `detected`; its first audit row (not added to any session)."""
    event.state = State.DETECTED
    event.detected_at = at
    return AuditEntry(event=event, at=at, actor=actor, from_state=None, to_state=State.DETECTED,
                      reason=reason)


def transition(event: Event, to_state: State | str, *, actor: str, at: datetime,
               reason: str | None = None) -> AuditEntry:
    """Move `event` to `to_state` and stamp the stage time; its audit row (not added to any
    session). Raises IllegalTransition (and changes nothing) when the lifecycle forbids it."""
    target = State(to_state)
    current = State(event.state)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(event.id or 0, current, target, TRANSITIONS[current])
    event.state = target
    setattr(event, STAGE_TIME_FIELD[target], at)
    return AuditEntry(event=event, at=at, actor=actor, from_state=current, to_state=target,
                      reason=reason)


def record_creation(
    session: Session, event: Event, *, actor: str, at: datetime, reason: str | None = None
) -> AuditEntry:
    """Stamp a new event as `detected` and add its first audit row (the caller commits)."""
    entry = creation(event, actor=actor, at=at, reason=reason)
    session.add_all([event, entry])
    return entry


def apply_transition(
    session: Session,
    event: Event,
    to_state: State | str,
    *,
    actor: str,
    at: datetime,
    reason: str | None = None,
) -> AuditEntry:
    """Move `event` to `to_state`, stamp the stage time and add its audit row; the caller commits.

    Raises IllegalTransition (and changes nothing) when the lifecycle does not allow the move.
    The caller must hold the event's row lock (`SELECT … FOR UPDATE`) so two reviewers cannot
    both pass this check.
    """
    entry = transition(event, to_state, actor=actor, at=at, reason=reason)
    session.add_all([event, entry])
    return entry
