"""Routes for the discretion baseline of penalties and the reminder slip of a first minor
offence (rules in `api.enforcement.discretion`). Plain `def` routes: FastAPI runs them, and
their database work, in its threadpool."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from api.core.db import writing
from api.enforcement import discretion, taskcodes
from api.lifecycle.queries import tasks_of, visible_event
from api.routes.codes import PAGE_HEADERS, TEMPLATES, base_url
from api.routes.deps import Allowed, ClockDep, SessionDep, SettingsDep, team_scope
from api.routes.params import Id

router = APIRouter(prefix="/api/v1", tags=["penalties"])

AmountCny = Annotated[float, Field(gt=0, le=10_000_000, allow_inf_nan=False,
                                   description="Penalty in yuan (CNY).")]


class PenaltyBaseline(BaseModel):
    scope: str = Field(description="type+zone, type (widened), or none")
    n: int
    median_cny: float | None
    p25_cny: float | None
    p75_cny: float | None
    factor: float
    amount_cny: float
    departs: bool
    text: str


class PenaltyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_cny: AmountCny
    reason: str | None = Field(None, max_length=1000, description="Required when the amount "
                               "departs from the baseline.")


class PenaltyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: int
    amount_cny: float
    baseline_scope: str
    baseline_n: int
    baseline_median_cny: float | None
    baseline_p25_cny: float | None
    baseline_p75_cny: float | None
    departs: bool
    reason: str | None
    decided_by: str
    at: datetime


@router.get("/events/{event_id}/penalty-baseline", response_model=PenaltyBaseline,
            summary="Median and spread of past penalties for the same violation type and zone "
                    "kind, and whether a proposed amount departs from them")
def penalty_baseline(event_id: Id, user: Allowed, session: SessionDep,
                     amount_cny: Annotated[float, Query(gt=0, le=10_000_000)]) -> dict:
    event = visible_event(session, event_id, team_id=team_scope(user))
    return discretion.weigh(session, event, amount_cny)


@router.post("/events/{event_id}/penalty", response_model=PenaltyPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Record the violation's penalty against its baseline (a departure needs a "
                     "reason; a first minor offence gets a reminder slip instead)")
def decide_penalty(event_id: Id, body: PenaltyIn, user: Allowed, session: SessionDep,
                   clock: ClockDep) -> PenaltyPublic:
    with writing(session):
        event = visible_event(session, event_id, team_id=team_scope(user))
        session.refresh(event, with_for_update=True)
        penalty = discretion.decide(session, event, body.amount_cny, body.reason,
                                    actor=user.username, now=clock.now())
        session.commit()
    return PenaltyPublic.model_validate(penalty)


# `Response`, not `HTMLResponse`: the latter would document the JSON error bodies as HTML too.
@router.get("/events/{event_id}/reminder-slip", response_class=Response,
            responses={200: {"content": {"text/html": {}}}},
            summary="The printable reminder slip (温馨提示单) of a first minor offence")
def reminder_slip(event_id: Id, user: Allowed, session: SessionDep, settings: SettingsDep,
                  request: Request) -> HTMLResponse:
    event = discretion.reminder_view(visible_event(session, event_id, team_id=team_scope(user)))
    code = next((t.code for t in tasks_of(session, event.id) if t.kind == "team" and t.code),
                None)
    qr = url = None
    if code:
        url = taskcodes.public_url(base_url(settings, request), code)
        qr = base64.b64encode(taskcodes.qr_svg(url)).decode()
    checked = taskcodes.EVENT_WORDS.get(event.type, (event.type, event.type))
    basis = taskcodes.BASES.get(event.type, ("依据本市城市管理相关规定", "the city's rules"))
    when = event.detected_at.astimezone(taskcodes.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    html = TEMPLATES.get_template("reminder.html").render(
        checked=checked, basis=basis, place=event.zone_name or "城区道路", when=when, url=url,
        qr=qr, event_id=event.id)
    return HTMLResponse(html, headers=PAGE_HEADERS)
