"""How much the loudspeaker saved: persuadable events, those resolved without a ground team,
and the team time saved (the model is in ``api.enforcement.persuasion``'s docstring)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from api.core.models import Event, Persuasion, Task


@dataclass(frozen=True)
class PersuasionFigures:
    persuadable: int
    resolved_without_team: int
    without_team_share: float | None
    team_s_saved: float
    team_s_median_by_type: dict[str, float]
    alone_by_type: dict[str, int]  # resolved by the drone alone (persuaded, no team task)
    team_by_type: dict[str, int]  # resolved with a ground team tasked


def persuasion_figures(events: Iterable[Event], persuasions: Iterable[Persuasion],
                       team_tasks: Iterable[Task]) -> PersuasionFigures:
    """The share of persuadable events resolved without a ground team, and team time saved
    (the model is in the module docstring). ``team_tasks`` are the events' team tasks."""
    events = list(events)
    decided = {p.event_id for p in persuasions if p.outcome != "pending"}
    tasked_at: dict[int, datetime] = {}
    for t in team_tasks:
        if t.kind == "team" and t.state != "cancelled" and t.created_at is not None:
            tasked_at[t.event_id] = min(t.created_at, tasked_at.get(t.event_id, t.created_at))
    team_s: dict[str, list[float]] = {}
    for e in events:
        if e.id in tasked_at and e.resolved_at is not None:
            team_s.setdefault(e.type, []).append((e.resolved_at - tasked_at[e.id]).total_seconds())
    medians = {k: statistics.median(v) for k, v in sorted(team_s.items())}
    all_s = [s for v in team_s.values() for s in v]
    overall = statistics.median(all_s) if all_s else 0.0
    persuadable = [e for e in events if e.id in decided]
    alone = [e for e in persuadable if e.disposition == "persuaded" and e.resolved_at is not None
             and e.id not in tasked_at]
    saved = sum(medians.get(e.type, overall) for e in alone)
    alone_by_type: dict[str, int] = {}
    for e in alone:
        alone_by_type[e.type] = alone_by_type.get(e.type, 0) + 1
    return PersuasionFigures(len(persuadable), len(alone),
                             len(alone) / len(persuadable) if persuadable else None, saved, medians,
                             alone_by_type, {k: len(v) for k, v in sorted(team_s.items())})


def load_figures(session: Session, events: Sequence[Event]) -> PersuasionFigures:
    """``persuasion_figures`` over ``events``, their plays and team tasks read from the database."""
    ids = [e.id for e in events if e.id is not None]
    persuasions: list[Persuasion] = []
    tasks: list[Task] = []
    for i in range(0, len(ids), 500):  # stay under every driver's bound-parameter limit
        chunk = ids[i:i + 500]
        persuasions += session.exec(select(Persuasion).where(Persuasion.event_id.in_(chunk))).all()
        tasks += session.exec(select(Task).where(Task.event_id.in_(chunk),
                                                 Task.kind == "team")).all()
    return persuasion_figures(events, persuasions, tasks)
