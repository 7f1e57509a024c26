"""Dispatch: the planner's suggestions for an event, live drone states, flying and releasing, patrols."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.core.errors import BadInput, NotFound
from api.fleet.dispatcher import DispatchWorker, drone_view_json
from api.fleet.schemas import Dispatched, DroneLive, PatrolStarted, Released, Suggestions
from api.routes import errors
from api.routes.deps import Allowed
from api.routes.params import Id
from dispatch.planner import Option
from geofence import NoRouteFound, lawnmower

# Every route here needs the connected fleet: without one it answers 503 saying what to set.
router = APIRouter(prefix="/api/v1/dispatch", tags=["dispatch"], responses=errors.responses(503))


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drone_id: str | None = Field(None, max_length=64, description="Send this drone; the planner's best if omitted.")


class PatrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zone_id: str = Field(max_length=128, description="The zone to sweep (see GET /api/v1/map or the zones file).")
    footprint_width_m: float = Field(60.0, gt=5, le=1000, strict=True, description="Lane spacing, metres.")


def _worker(request: Request) -> DispatchWorker:
    return request.app.state.dispatch


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def option_json(option: Option) -> dict:
    return {
        "drone_id": option.drone_id, "eta_s": _num(option.eta_s), "feasible": option.feasible,
        "at_risk": option.at_risk, "slack_s": _num(option.slack_s),
        "route_length_m": _num(option.route_length_m), "straight_m": option.straight_m,
        "corners": option.corners, "trip_wh": _num(option.trip_wh),
        "usable_wh": option.usable_wh, "on_patrol": option.on_patrol, "reason": option.reason,
    }


@router.get("/events/{event_id}/suggestions", response_model=Suggestions,
            summary="Drones ranked by ETA against the event's target, and the nearest teams")
def suggestions(event_id: Id, request: Request, _user: Allowed) -> dict:
    event, incident, options, teams = _worker(request).suggestions(event_id)
    best = next((o for o in options if o.feasible), None)
    return {
        "event_id": event.id, "state": event.state, "target_s": event.target_s,
        "waited_s": incident.waited_s, "time_left_s": incident.time_left_s,
        "at_risk": best is None or best.at_risk,
        "drones": [option_json(o) for o in options],
        "teams": [{"team_id": t.team_id, "distance_m": t.distance_m, "available": t.available}
                  for t in teams],
    }


@router.get("/drones", response_model=list[DroneLive], summary="Every drone's live state and task")
def drones(request: Request, _user: Allowed) -> list[dict]:
    return [drone_view_json(v) for v in _worker(request).drones()]


@router.post("/events/{event_id}/dispatch", response_model=Dispatched,
             summary="Fly the best drone (or the one named) to a confirmed event")
async def dispatch_event(event_id: Id, request: Request, _user: Allowed,
                         body: DispatchIn | None = None) -> dict:
    assignment = await _worker(request).dispatch_event(event_id, body.drone_id if body else None)
    return {
        "event_id": event_id, "drone_id": assignment.drone_id, "at_risk": assignment.at_risk,
        "reason": assignment.reason,
        "option": option_json(assignment.option) if assignment.option else None,
    }


@router.post("/events/{event_id}/release", response_model=Released, summary="Send the event's drone back to its dock")
async def release(event_id: Id, request: Request, _user: Allowed) -> dict:
    await _worker(request).release(event_id)
    return {"event_id": event_id, "released": True}


@router.post("/drones/{drone_id}/patrol", response_model=PatrolStarted,
             summary="Upload a lawnmower sweep of a zone to an idle drone and fly it in AUTO")
async def patrol(drone_id: str, body: PatrolIn, request: Request, _user: Allowed) -> dict:
    worker = _worker(request)
    dispatcher = worker._require()
    try:
        zone = worker.zones.zone_set.get(body.zone_id)
    except KeyError as exc:
        raise NotFound(str(exc.args[0])) from exc
    router_ = dispatcher.planner.router
    try:
        waypoints = lawnmower(zone, body.footprint_width_m, frame=router_.frame, avoid=router_)
    except NoRouteFound as exc:
        raise BadInput(f"zone {body.zone_id} cannot be patrolled: {exc}") from exc
    count = await worker.patrol(drone_id, waypoints)
    return {"drone_id": drone_id, "zone_id": body.zone_id, "waypoints": len(waypoints),
            "mission_items": count}
