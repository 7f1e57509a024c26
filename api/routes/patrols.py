"""Routes for department patrol requests merged into shared flights (综合飞一次).

Departments file, list and withdraw their own requests; operators and admins do so for any
department and plan a week; evaluators read everything. A department account sees only its
own department's requests and the flights that serve them.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from api.core.auth import Role
from api.core.db import writing
from api.core.errors import BadInput
from api.core.models import User
from api.core.schemas import Day, UtcQueryTime
from api.patrols import plans, requests
from api.patrols.schemas import (
    PatrolFlightsPublic,
    PatrolPlanPublic,
    PatrolRequestDetail,
    PatrolRequestIn,
    PatrolRequestPublic,
    PatrolRequestWithdrawn,
)
from api.routes.deps import Allowed, ClockDep, SessionDep, SettingsDep, ZonesDep
from api.routes.params import Id

router = APIRouter(prefix="/api/v1", tags=["patrols"])



# The states a patrol flight can be in, for the schema (`Literal` of the one tuple of them).
FlightState = Literal[requests.STATES]


def _tz(settings) -> str:
    return settings.local_tz


def _department(user: User) -> str | None:
    """The department whose requests a department account is confined to; None for staff."""
    return (user.department or "") if user.role == Role.DEPARTMENT else None


@router.post("/patrol-requests", response_model=PatrolRequestPublic, status_code=status.HTTP_201_CREATED,
             summary="File a patrol request (a department for itself; operators for anyone)")
def file_request(body: PatrolRequestIn, user: Allowed, session: SessionDep, clock: ClockDep,
                 zones: ZonesDep, settings: SettingsDep) -> dict:
    department = requests.department_of(user, body.department)
    if body.valid_from and body.valid_to and body.valid_to < body.valid_from:
        raise BadInput(f"valid_to {body.valid_to} is before valid_from {body.valid_from}")
    with writing(session):
        row = requests.file_request(
            session, department=department, title=body.title, area=body.area,
            looks_for=body.looks_for, window_start=body.window.start,
            window_end=body.window.end, weekdays=body.weekdays, per_day=body.per_day,
            valid_from=body.valid_from, valid_to=body.valid_to, zone_set=zones.zone_set,
            tz=_tz(settings), actor=user.username, now=clock.now())
        session.commit()
    return requests.request_json(row, _tz(settings))


@router.get("/patrol-requests", response_model=list[PatrolRequestPublic], summary="Patrol requests (a department sees its own)")
def list_requests(user: Allowed, session: SessionDep, settings: SettingsDep,
                  include_withdrawn: bool = False) -> list[dict]:
    rows = requests.requests_of(session, department=_department(user),
                                include_withdrawn=include_withdrawn)
    return [requests.request_json(r, _tz(settings)) for r in rows]


@router.get("/patrol-requests/{request_id}", response_model=PatrolRequestDetail,
            summary="A request, the flights that served it and what they found in its area")
def get_request(request_id: Id, user: Allowed, session: SessionDep,
                settings: SettingsDep) -> dict:
    row = requests.visible_request(session, user, request_id)
    return requests.request_detail(session, row, _tz(settings), department=_department(user))


@router.delete("/patrol-requests/{request_id}", response_model=PatrolRequestWithdrawn,
               summary="Withdraw a request; planned flights serving nothing else are cancelled")
def withdraw_request(request_id: Id, user: Allowed, session: SessionDep, clock: ClockDep,
                     settings: SettingsDep) -> dict:
    with writing(session):
        row = requests.visible_request(session, user, request_id)
        cancelled = requests.withdraw(session, row, user, now=clock.now())
        session.commit()
    return {**requests.request_json(row, _tz(settings)), "cancelled_flight_ids": cancelled}


@router.post("/patrol-plan", response_model=PatrolPlanPublic, summary="Plan a week of merged patrol flights and store them")
async def plan(request: Request, user: Allowed, clock: ClockDep,
               week: Annotated[Day, Query(description="Any day of the week to plan "
                                                     "(Monday to Sunday, local).")]) -> dict:
    app = request.app
    drones = app.state.dispatch.patrol_drones()  # None: the registered drones
    settings = app.state.settings
    stored = await asyncio.to_thread(
        plans.plan_week, app.state.engine, zone_set=app.state.zones.zone_set, drones=drones,
        day=week, tz=settings.local_tz, alt_rel_m=settings.hold_alt_m,
        margin_m=settings.no_fly_margin_m, actor=user.username, now=clock.now())
    return await asyncio.to_thread(plans.plan_view, app.state.engine, stored)


@router.get("/patrol-flights", response_model=PatrolFlightsPublic,
            summary="Patrol flights in a period, the requests each serves, and their plans' figures")
def list_flights(user: Allowed, session: SessionDep,
                 since: UtcQueryTime | None = None, until: UtcQueryTime | None = None,
                 state: FlightState | None = None) -> dict:
    return plans.flights_in(session, since=since, until=until, state=state,
                            department=_department(user))
