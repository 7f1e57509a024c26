"""Drones, ground teams and the teams' tasks."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.core.db import writing
from api.fleet import registry
from api.fleet.schemas import DroneIn, DronePublic, TeamIn, TeamPositionIn, TeamPublic
from api.lifecycle import tasks
from api.lifecycle.schemas import TaskPublic
from api.routes.deps import Allowed, ClockDep, SessionDep, team_scope
from api.routes.params import Id

router = APIRouter(prefix="/api/v1", tags=["fleet"])


@router.get("/drones", response_model=list[DronePublic], summary="The drones and their last state")
def list_drones(_user: Allowed, session: SessionDep) -> list[DronePublic]:
    return [DronePublic.model_validate(d) for d in registry.drones(session)]


@router.post("/drones", response_model=DronePublic, status_code=status.HTTP_201_CREATED,
             summary="Register a drone (admin)")
def add_drone(body: DroneIn, _admin: Allowed, session: SessionDep) -> DronePublic:
    with writing(session):
        drone = registry.add_drone(session, body)
        session.commit()
    return DronePublic.model_validate(drone)


@router.get("/teams", response_model=list[TeamPublic],
            summary="The ground teams (a ground team sees its own)")
def list_teams(user: Allowed, session: SessionDep) -> list[TeamPublic]:
    return [TeamPublic.model_validate(t) for t in registry.teams(session, team_id=team_scope(user))]


@router.post("/teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED,
             summary="Register a ground team (admin)")
def add_team(body: TeamIn, _admin: Allowed, session: SessionDep, clock: ClockDep) -> TeamPublic:
    with writing(session):
        team = registry.add_team(session, body, now=clock.now())
        session.commit()
    return TeamPublic.model_validate(team)


@router.put("/teams/{team_id}/position", response_model=TeamPublic,
            summary="A team reports where it is (its own members only)")
def report_position(team_id: str, body: TeamPositionIn, user: Allowed, session: SessionDep,
                    clock: ClockDep) -> TeamPublic:
    if team_scope(user) != team_id:
        raise registry.no_team(team_id)  # another team's id is answered like a missing one
    with writing(session):
        team = registry.move_team(session, team_id, lat=body.lat, lon=body.lon, now=clock.now())
        session.commit()
    return TeamPublic.model_validate(team)


@router.get("/tasks", response_model=list[TaskPublic],
            summary="Tasks, newest first; a ground team sees only its own")
def list_tasks(user: Allowed, session: SessionDep) -> list[TaskPublic]:
    return [TaskPublic.model_validate(t) for t in tasks.tasks(session, team_id=team_scope(user))]


@router.post("/tasks/{task_id}/accept", response_model=TaskPublic,
             summary="A team accepts its task")
def accept_task(task_id: Id, user: Allowed, session: SessionDep, clock: ClockDep) -> TaskPublic:
    with writing(session):
        task = tasks.accept(session, task_id, team_id=team_scope(user), now=clock.now())
        session.commit()
    return TaskPublic.model_validate(task)
