"""Ground teams: who is free, and which free team is nearest an event."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["TeamChoice", "TeamStatus", "nearest_team", "ranked_teams"]

_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class TeamStatus:
    """A ground team's last reported position and whether it can take a task."""

    id: str
    lat: float
    lon: float
    available: bool = True
    name: str = ""


@dataclass(frozen=True)
class TeamChoice:
    """A team and how far it is from the event, in metres along the ground's great circle."""

    team_id: str
    distance_m: float
    available: bool


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def ranked_teams(teams: Iterable[TeamStatus], lat: float, lon: float) -> list[TeamChoice]:
    """Every team by distance from (lat, lon): available ones first, nearest first."""
    choices = [TeamChoice(t.id, _haversine_m(t.lat, t.lon, lat, lon), t.available) for t in teams]
    return sorted(choices, key=lambda c: (not c.available, c.distance_m, c.team_id))


def nearest_team(teams: Iterable[TeamStatus], lat: float, lon: float) -> TeamChoice | None:
    """The nearest available team, or None when every team is busy."""
    ranked = ranked_teams(teams, lat, lon)
    return ranked[0] if ranked and ranked[0].available else None
