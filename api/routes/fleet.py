"""Drones, ground teams and the teams' tasks."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import select

from api import events as verbs
from api.db import writing
from api.deps import Admin, ClockDep, Reader, SessionDep, TeamMember, team_scope
from api.errors import Forbidden, NotFound
from api.models import Drone, GroundTeam, Task
from api.schemas import DroneIn, DronePublic, TaskPublic, TeamIn, TeamPositionIn, TeamPublic

router = APIRouter(prefix="/api/v1", tags=["fleet"])


@router.get("/drones", response_model=list[DronePublic], summary="The drones and their last state")
def list_drones(_user: Reader, session: SessionDep) -> list[DronePublic]:
    return [DronePublic.model_validate(d) for d in session.exec(select(Drone).order_by(Drone.id))]


@router.post("/drones", response_model=DronePublic, status_code=status.HTTP_201_CREATED,
             summary="Register a drone (admin)")
def add_drone(body: DroneIn, _admin: Admin, session: SessionDep) -> DronePublic:
    with writing(session):
        verbs.ensure_unique(session, Drone, body.id, "drone")
        drone = Drone(**body.model_dump())
        session.add(drone)
        session.commit()
    return DronePublic.model_validate(drone)


@router.get("/teams", response_model=list[TeamPublic], summary="The ground teams")
def list_teams(_user: Reader, session: SessionDep) -> list[TeamPublic]:
    return [TeamPublic.model_validate(t) for t in session.exec(select(GroundTeam).order_by(GroundTeam.id))]


@router.post("/teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED,
             summary="Register a ground team (admin)")
def add_team(body: TeamIn, _admin: Admin, session: SessionDep, clock: ClockDep) -> TeamPublic:
    with writing(session):
        verbs.ensure_unique(session, GroundTeam, body.id, "ground team")
        team = GroundTeam(**body.model_dump(), updated_at=clock.now())
        session.add(team)
        session.commit()
    return TeamPublic.model_validate(team)


@router.put("/teams/{team_id}/position", response_model=TeamPublic,
            summary="A team reports where it is (its own members only)")
def report_position(team_id: str, body: TeamPositionIn, user: TeamMember, session: SessionDep,
                    clock: ClockDep) -> TeamPublic:
    if team_scope(user) != team_id:
        raise Forbidden(f"you may only report the position of your own team '{user.team_id}'")
    with writing(session):
        team = session.get(GroundTeam, team_id)
        if team is None:
            raise NotFound(f"no ground team '{team_id}'")
        team.lat, team.lon, team.updated_at = body.lat, body.lon, clock.now()
        session.add(team)
        session.commit()
    return TeamPublic.model_validate(team)


@router.get("/tasks", response_model=list[TaskPublic],
            summary="Tasks, newest first; a ground team sees only its own")
def list_tasks(user: Reader, session: SessionDep) -> list[TaskPublic]:
    query = select(Task).order_by(Task.created_at.desc(), Task.id.desc())
    team_id = team_scope(user)
    if team_id is not None:
        query = query.where(Task.team_id == team_id)
    return [TaskPublic.model_validate(t) for t in session.exec(query.limit(500))]


@router.post("/tasks/{task_id}/accept", response_model=TaskPublic,
             summary="A team accepts its task")
def accept_task(task_id: int, user: TeamMember, session: SessionDep, clock: ClockDep) -> TaskPublic:
    with writing(session):
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound(f"no task with id {task_id}")
        if task.team_id != team_scope(user):
            raise Forbidden(f"task {task_id} belongs to another team")
        if task.state == "assigned":
            task.state, task.accepted_at = "accepted", clock.now()
            session.add(task)
            session.commit()
    return TaskPublic.model_validate(task)
