"""Routes for department patrol requests merged into shared flights (综合飞一次).

Departments file, list and withdraw their own requests; operators and admins do so for any
department and plan a week; evaluators read everything. A department account sees only its
own department's requests and the flights that serve them.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlmodel import select

from api import patrols
from api.auth import Role
from api.db import writing
from api.deps import ClockDep, Operator, Requester, SessionDep, SettingsDep, ZonesDep, require
from api.errors import BadInput
from api.models import PatrolFlight, PatrolPlan, PatrolRequest, PatrolServe, User

router = APIRouter(prefix="/api/v1", tags=["patrols"])

# Reads: the filers, and evaluators.
PatrolReader = Annotated[User, Depends(require(Role.DEPARTMENT, Role.OPERATOR, Role.ADMIN,
                                               Role.EVALUATOR))]
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(examples=["08:00"], description="Local time (Asia/Shanghai), HH:MM.")
    end: str = Field(examples=["12:00"], description="Before start: the window crosses midnight.")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 08:00")
        return value


class PatrolRequestIn(BaseModel):
    """A standing patrol need: where, what to look for, when and how often."""

    model_config = ConfigDict(extra="forbid")

    department: str | None = Field(None, max_length=64, description="Defaults to a department "
                                   "account's own; operators and admins must name it.")
    title: str = Field(min_length=1, max_length=200)
    area: dict = Field(description='A GeoJSON Polygon, [lon, lat] order: {"type": "Polygon", '
                       '"coordinates": [[[lon, lat], ...]]}, the ring closed.')
    looks_for: list[str] = Field(default_factory=list, max_length=20,
                                 description="Event types (street_stall, mobile_fuel_sale) "
                                 "and/or plain words.")
    window: WindowIn
    weekdays: list[str] = Field(default_factory=lambda: list(patrols.WEEKDAYS), min_length=1,
                                max_length=7, examples=[["mon", "wed", "fri"]])
    per_day: int = Field(1, ge=1, le=24, description="Passes inside each day's window.")
    valid_from: date | None = Field(None, description="First local day (inclusive).")
    valid_to: date | None = Field(None, description="Last local day (inclusive).")

    @field_validator("looks_for")
    @classmethod
    def _words(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.strip() or "," in value or len(value) > 64:
                raise ValueError(f"{value!r}: each entry is one event type or word, 1-64 "
                                 "characters, no commas")
        return [v.strip() for v in values]


def _tz(settings) -> str:
    return settings.local_tz


@router.post("/patrol-requests", status_code=status.HTTP_201_CREATED,
             summary="File a patrol request (a department for itself; operators for anyone)")
def file_request(body: PatrolRequestIn, user: Requester, session: SessionDep, clock: ClockDep,
                 zones: ZonesDep, settings: SettingsDep) -> dict:
    department = patrols.department_of(user, body.department)
    if body.valid_from and body.valid_to and body.valid_to < body.valid_from:
        raise BadInput(f"valid_to {body.valid_to} is before valid_from {body.valid_from}")
    with writing(session):
        row = patrols.file_request(
            session, department=department, title=body.title, area=body.area,
            looks_for=body.looks_for, window_start=body.window.start,
            window_end=body.window.end, weekdays=body.weekdays, per_day=body.per_day,
            valid_from=body.valid_from, valid_to=body.valid_to, zone_set=zones.zone_set,
            tz=_tz(settings), actor=user.username, now=clock.now())
        session.commit()
    return patrols.request_json(row, _tz(settings))


@router.get("/patrol-requests", summary="Patrol requests (a department sees its own)")
def list_requests(user: PatrolReader, session: SessionDep, settings: SettingsDep,
                  include_withdrawn: bool = False) -> list[dict]:
    query = select(PatrolRequest).order_by(PatrolRequest.id)
    if user.role == Role.DEPARTMENT:
        query = query.where(PatrolRequest.department == (user.department or ""))
    if not include_withdrawn:
        query = query.where(PatrolRequest.status == "active")
    return [patrols.request_json(r, _tz(settings)) for r in session.exec(query).all()]


@router.get("/patrol-requests/{request_id}",
            summary="A request, the flights that served it and what they found in its area")
def get_request(request_id: int, user: PatrolReader, session: SessionDep,
                settings: SettingsDep) -> dict:
    row = patrols.visible_request(session, user, request_id)
    return patrols.request_detail(session, row, _tz(settings))


@router.delete("/patrol-requests/{request_id}",
               summary="Withdraw a request; planned flights serving nothing else are cancelled")
def withdraw_request(request_id: int, user: Requester, session: SessionDep, clock: ClockDep,
                     settings: SettingsDep) -> dict:
    with writing(session):
        row = patrols.visible_request(session, user, request_id)
        cancelled = patrols.withdraw(session, row, user, now=clock.now())
        session.commit()
    return {**patrols.request_json(row, _tz(settings)), "cancelled_flight_ids": cancelled}


@router.post("/patrol-plan", summary="Plan a week of merged patrol flights and store them")
async def plan(request: Request, user: Operator, clock: ClockDep,
               week: Annotated[date, Query(description="Any day of the week to plan "
                                                     "(Monday to Sunday, local).")]) -> dict:
    app = request.app
    worker = app.state.dispatch
    drones = None  # the registered drones, unless a fleet is connected
    if worker.dispatcher is not None:
        drones = [patrols.planning.PatrolDrone(v.id, v.dock_lat, v.dock_lon)
                  for v in worker.dispatcher.drones()]
    settings = app.state.settings
    stored = await asyncio.to_thread(
        patrols.plan_week, app.state.engine, zone_set=app.state.zones.zone_set, drones=drones,
        day=week, tz=settings.local_tz, alt_rel_m=settings.hold_alt_m,
        margin_m=settings.no_fly_margin_m, actor=user.username, now=clock.now())
    return await asyncio.to_thread(_plan_view, app.state.engine, stored)


def _plan_view(engine, stored: PatrolPlan) -> dict:
    from sqlmodel import Session

    with Session(engine) as session:
        flights = session.exec(select(PatrolFlight).where(PatrolFlight.plan_id == stored.id)
                               .order_by(PatrolFlight.planned_start, PatrolFlight.id)).all()
        return {**patrols.plan_json(stored), "flights": patrols.flights_json(session, flights)}


@router.get("/patrol-flights",
            summary="Patrol flights in a period, the requests each serves, and their plans' figures")
def list_flights(user: PatrolReader, session: SessionDep,
                 since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                 state: str | None = None) -> dict:
    if since and until and until < since:
        raise BadInput("'until' is before 'since'")
    if state is not None and state not in patrols.STATES:
        raise BadInput(f"unknown state {state!r}; use one of {', '.join(patrols.STATES)}")
    query = select(PatrolFlight).order_by(PatrolFlight.planned_start, PatrolFlight.id)
    if since:
        query = query.where(PatrolFlight.planned_start >= since)
    if until:
        query = query.where(PatrolFlight.planned_start < until)
    if state:
        query = query.where(PatrolFlight.state == state)
    if user.role == Role.DEPARTMENT:
        mine = (select(PatrolServe.flight_id)
                .join(PatrolRequest, PatrolRequest.id == PatrolServe.request_id)
                .where(PatrolRequest.department == (user.department or "")))
        query = query.where(PatrolFlight.id.in_(mine))
    flights = session.exec(query.limit(2000)).all()
    plan_ids = sorted({f.plan_id for f in flights if f.plan_id is not None})
    plans = session.exec(select(PatrolPlan).where(PatrolPlan.id.in_(plan_ids))
                         .order_by(PatrolPlan.id)).all() if plan_ids else []
    return {"flights": patrols.flights_json(session, flights),
            "plans": [patrols.plan_json(p) for p in plans]}
