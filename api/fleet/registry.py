"""The fleet's registry: drones and ground teams as the service stores them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, select

from api.core.errors import Conflict, NotFound
from api.core.models import Drone, GroundTeam
from api.fleet.schemas import DroneIn, TeamIn


def _ensure_unique(session: Session, model: type, key: str, what: str) -> None:
    if session.get(model, key) is not None:
        raise Conflict(f"{what} '{key}' already exists")


def drones(session: Session) -> Sequence[Drone]:
    """Every registered drone, by id."""
    return session.exec(select(Drone).order_by(Drone.id)).all()


def add_drone(session: Session, body: DroneIn) -> Drone:
    """Register a drone; Conflict when its id is taken. The caller commits."""
    _ensure_unique(session, Drone, body.id, "drone")
    drone = Drone(**body.model_dump())
    session.add(drone)
    return drone


def teams(session: Session, *, team_id: str | None = None) -> Sequence[GroundTeam]:
    """Every ground team by id; only ``team_id`` when it is given (a ground team sees its own)."""
    query = select(GroundTeam).order_by(GroundTeam.id)
    if team_id is not None:
        query = query.where(GroundTeam.id == team_id)
    return session.exec(query).all()


def add_team(session: Session, body: TeamIn, *, now: datetime) -> GroundTeam:
    """Register a ground team; Conflict when its id is taken. The caller commits."""
    _ensure_unique(session, GroundTeam, body.id, "ground team")
    team = GroundTeam(**body.model_dump(), updated_at=now)
    session.add(team)
    return team


def no_team(team_id: str) -> NotFound:
    """The answer for a team that does not exist (and, to a ground team, for another team)."""
    return NotFound(f"no ground team '{team_id}'; list teams with GET /api/v1/teams")


def move_team(session: Session, team_id: str, *, lat: float, lon: float,
              now: datetime) -> GroundTeam:
    """Record where a team is now; NotFound for an unknown team. The caller commits."""
    team = session.get(GroundTeam, team_id)
    if team is None:
        raise no_team(team_id)
    team.lat, team.lon, team.updated_at = lat, lon, now
    session.add(team)
    return team
