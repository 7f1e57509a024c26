"""What crosses the HTTP edge for the evaluator: closed-loop figures and hot spots."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Summary(BaseModel):
    """Closed-loop figures over a set of events."""

    events: int
    by_state: dict[str, int]
    by_type: dict[str, int]
    reviewed: int
    confirmed: int
    review_precision: float | None
    reached: int
    within_target: int
    within_target_share: float | None
    response_time_p50_s: float | None
    response_time_p90_s: float | None
    time_to_resolve_p50_s: float | None
    within_target_share_by_zone_kind: dict[str, float]
    dispositions: dict[str, int]
    # one violation, one event (api/lifecycle/merge.py): candidates per event, and how many
    # candidates joined an event that existed (each one an alert an operator was spared)
    sightings_per_event: float | None = None
    merged_sightings: int = 0
    # remote persuasion (api/enforcement/persuasion.py: persuasion_figures says how these are counted)
    persuadable: int = 0
    resolved_without_team: int = 0
    without_team_share: float | None = None
    team_hours_saved: float = 0.0
    # why drones arrived after the target (api/lifecycle/misses.py lists the reasons): every
    # reason, zeros included, over the events reached late
    misses_by_reason: dict[str, int] = Field(default_factory=dict)


class PatrolWindow(BaseModel):
    """An hour of day (local time) worth patrolling, and the violations seen in it."""

    start: str = Field(description="HH:MM, local time")
    end: str = Field(description="HH:MM, local time")
    violations: int


class HotSpot(BaseModel):
    """Confirmed violations that recur at one place: where, how many, at which hours of day."""

    lat: float
    lon: float
    count: int
    radius_m: float = Field(description="Farthest violation from the centre.")
    by_type: dict[str, int]
    hours: list[int] = Field(description="Violations per local hour of day, 0..23.")
    patrol_windows: list[PatrolWindow] = Field(description="Suggested patrol times, busiest first.")
    first_at: datetime
    last_at: datetime
    latest_event_ids: list[int] = Field(description="Up to 10, newest first.")


class HotSpots(BaseModel):
    tz: str
    link_m: float = Field(description="Violations this close are one place (chained).")
    violations: int = Field(description="Confirmed violations in the period, clustered or not.")
    items: list[HotSpot]
