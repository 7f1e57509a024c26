"""Routes for remote persuasion through the drone's loudspeaker (远程劝导) and scene checks.

How rules, plays, checks and outcomes fit together is in api/enforcement/persuasion.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from api.core.db import writing
from api.enforcement import persuasion
from api.enforcement.schemas import (
    PersuadeIn,
    PersuasionPublic,
    SceneCheckAck,
    SceneCheckIn,
    SceneCheckPublic,
    SceneCheckResult,
)
from api.fleet.persuader import Persuader
from api.routes.access import Scope
from api.routes.deps import AccessScope, Allowed, BusDep, ClockDep, SessionDep, SettingsDep
from api.routes.errors import ErrorBody
from api.routes.params import Id

router = APIRouter(prefix="/api/v1", tags=["persuasion"])


def _persuader(request: Request) -> Persuader:
    return request.app.state.dispatch.persuasion


@router.post("/events/{event_id}/persuade", response_model=PersuasionPublic,
             status_code=status.HTTP_201_CREATED,
             responses={409: {"model": ErrorBody,
                              "description": "not on scene, a warning pending, or no drone on it"},
                        502: {"model": ErrorBody,
                              "description": "the speaker refused; the nearest team was tasked"},
                        503: {"model": ErrorBody, "description": "no fleet is connected"}},
             summary="Play a warning (a clip or a text) through the on-scene drone's speaker")
async def persuade(event_id: Id, body: PersuadeIn, request: Request,
                   user: Allowed) -> PersuasionPublic:
    row = await _persuader(request).play(event_id, clip_id=body.clip_id, text=body.text,
                                         repeat=body.repeat, actor=user.username)
    return PersuasionPublic.model_validate(row)


@router.get("/events/{event_id}/persuasions", response_model=list[PersuasionPublic],
            summary="The warnings played on an event and their outcomes")
def persuasions(event_id: Id, _user: Allowed, session: SessionDep) -> list[PersuasionPublic]:
    return [PersuasionPublic.model_validate(r) for r in persuasion.plays_of(session, event_id)]


@router.post("/events/{event_id}/scene-checks", response_model=SceneCheckResult | SceneCheckAck,
             status_code=status.HTTP_201_CREATED,
             summary="Report one look at the scene from the drone: is the violation still there? "
                     "A detector gets an acknowledgement only")
def scene_check(event_id: Id, body: SceneCheckIn, user: Allowed, scope: AccessScope,
                session: SessionDep, settings: SettingsDep, clock: ClockDep,
                bus: BusDep) -> SceneCheckResult | SceneCheckAck:
    with writing(session):
        result, alerts = persuasion.scene_check(
            session, event_id, body, rules=settings.persuasion_rules,
            auto_evaluate=settings.auto_evaluate, source=user.username, now=clock.now())
        session.commit()
    for alert in alerts:
        bus.publish(alert)
    if scope == Scope.ACK:
        return SceneCheckAck(id=result.check.id, event_id=result.check.event_id)
    return result


@router.get("/events/{event_id}/scene-checks", response_model=list[SceneCheckPublic],
            summary="The scene checks of an event, oldest first")
def scene_checks(event_id: Id, _user: Allowed, session: SessionDep) -> list[SceneCheckPublic]:
    return [SceneCheckPublic.model_validate(r)
            for r in persuasion.scene_checks_of(session, event_id)]
