"""Routes for remote persuasion through the drone's loudspeaker (远程劝导) and scene checks.

How rules, plays, checks and outcomes fit together is in api/persuasion.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlmodel import select

from api.db import writing
from api.deps import Analyst, BusDep, Operator, Reporter, SessionDep
from api.errors import NotFound
from api.models import Event, Persuasion, SceneCheck
from api.persuasion import (
    PersuadeIn,
    Persuader,
    PersuasionPublic,
    SceneCheckIn,
    SceneCheckPublic,
    SceneCheckResult,
)

router = APIRouter(prefix="/api/v1", tags=["persuasion"])


def _persuader(request: Request) -> Persuader:
    return request.app.state.dispatch.persuasion


def _known(session: SessionDep, event_id: int) -> None:
    if session.get(Event, event_id) is None:
        raise NotFound(f"no event with id {event_id}; list events with GET /api/v1/events")


@router.post("/events/{event_id}/persuade", response_model=PersuasionPublic,
             status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "not on scene, a warning pending, or no drone on it"},
                        502: {"description": "the speaker refused; the nearest team was tasked"},
                        503: {"description": "no fleet is connected"}},
             summary="Play a warning (a clip or a text) through the on-scene drone's speaker")
async def persuade(event_id: int, body: PersuadeIn, request: Request,
                   user: Operator) -> PersuasionPublic:
    row = await _persuader(request).play(event_id, clip_id=body.clip_id, text=body.text,
                                         repeat=body.repeat, actor=user.username)
    return PersuasionPublic.model_validate(row)


@router.get("/events/{event_id}/persuasions", response_model=list[PersuasionPublic],
            summary="The warnings played on an event and their outcomes")
def persuasions(event_id: int, _user: Analyst, session: SessionDep) -> list[PersuasionPublic]:
    _known(session, event_id)
    rows = session.exec(select(Persuasion).where(Persuasion.event_id == event_id)
                        .order_by(Persuasion.id)).all()
    return [PersuasionPublic.model_validate(r) for r in rows]


@router.post("/events/{event_id}/scene-checks", response_model=SceneCheckResult,
             status_code=status.HTTP_201_CREATED,
             summary="Report one look at the scene from the drone: is the violation still there?")
def scene_check(event_id: int, body: SceneCheckIn, request: Request, user: Reporter,
                session: SessionDep, bus: BusDep) -> SceneCheckResult:
    with writing(session):
        result, alerts = _persuader(request).scene_check(session, event_id, body,
                                                         source=user.username)
        session.commit()
    for alert in alerts:
        bus.publish(alert)
    return result


@router.get("/events/{event_id}/scene-checks", response_model=list[SceneCheckPublic],
            summary="The scene checks of an event, oldest first")
def scene_checks(event_id: int, _user: Analyst, session: SessionDep) -> list[SceneCheckPublic]:
    _known(session, event_id)
    rows = session.exec(select(SceneCheck).where(SceneCheck.event_id == event_id)
                        .order_by(SceneCheck.at, SceneCheck.id)).all()
    return [SceneCheckPublic.model_validate(r) for r in rows]
