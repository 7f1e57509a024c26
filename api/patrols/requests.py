"""Department patrol requests in the service (综合飞一次): how the patrols room works, and the requests.

The planner (``dispatch.patrols``) is pure; this module is its service side:

- **Requests** are stored rows (``PatrolRequest``); ``check_area`` refuses a GeoJSON area that
  is not a closed, simple polygon near the town, with a message saying what to redraw, and
  ``domain_request`` turns a row into the planner's request (the planner's own checks apply
  too). Validity dates are local days: stored as the local midnight that starts them, in UTC.
- **Planning** (``plans.plan_week``) runs the planner twice over the active requests of one local
  week (Monday to Sunday) — merged, and every pass flown alone — and stores a ``PatrolPlan``
  with both figures, its flights (``PatrolFlight``, one per sortie) and which request's pass
  each serves (``PatrolServe``). Planned flights of that week that have not started are
  replaced; flights already flying, flown or failed stay. A new flight whose start is already
  past is not stored: its passes are listed as unserved with that reason, like the passes the
  planner could not place. Nothing is dropped silently.
- **Flying**: ``api.patrols.scheduler.PatrolScheduler`` starts each planned flight at its time
  on its drone and marks it ``flying``, ``done`` or ``failed`` with the reason.
- **Findings**: an event from a drone is linked to the flight that drone was flying when the
  finding was made (``flights.flight_of_drone``, one query on the drone index); a request's detail
  lists its flights and the linked events that lie inside its area.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import shapely.prepared
from shapely.geometry import Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlmodel import Session, select

from api.core.errors import BadInput, Forbidden, NotFound
from api.core.models import Event, PatrolFlight, PatrolRequest, PatrolServe, User
from api.patrols.flights import flights_json
from dispatch import patrols as planning
from dispatch.errors import InvalidPatrolRequest
from geofence import LocalFrame

# An area must lie within this distance of the town's zones: a request 40 km away is a typo
# (swapped lat/lon, a wrong digit), not a patrol the town's docks can fly.
MAX_FROM_TOWN_M = 5000.0
MAX_AREA_KM2 = 25.0
WEEKDAYS = planning.WEEKDAYS
# Flight states (PatrolFlight.state); "planned" flights are the ones a new plan may replace.
PLANNED, FLYING, DONE, FAILED, CANCELLED = "planned", "flying", "done", "failed", "cancelled"
STATES = (PLANNED, FLYING, DONE, FAILED, CANCELLED)


# ---------------------------------------------------------------- the town

def town_frame(zone_set: Any) -> LocalFrame:
    """The metric frame centred on the zones' bounds (the dispatch worker's frame, too)."""
    min_lon, min_lat, max_lon, max_lat = zone_set.bounds
    return LocalFrame((min_lat + max_lat) / 2, (min_lon + max_lon) / 2)


# ---------------------------------------------------------------- requests

def check_area(raw: Any, zone_set: Any) -> Polygon:
    """The GeoJSON Polygon ``raw`` as a shapely polygon; BadInput says what is wrong with it.

    Each ring must be closed (last position equal to the first) with at least 3 distinct
    corners, the polygon must not cross itself, and it must lie within MAX_FROM_TOWN_M of the
    town's zones and cover at most MAX_AREA_KM2.
    """
    example = '{"type": "Polygon", "coordinates": [[[lon, lat], [lon, lat], [lon, lat], [lon, lat]]]}'
    if not isinstance(raw, dict) or raw.get("type") != "Polygon":
        got = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        raise BadInput(f"area must be a GeoJSON Polygon like {example}, got {got!r}")
    rings = raw.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise BadInput(f"area.coordinates must be a list of rings like {example}")
    for k, ring in enumerate(rings):
        which = "outer ring" if k == 0 else f"hole {k}"
        if not isinstance(ring, list) or not all(
                isinstance(p, (list, tuple)) and len(p) in (2, 3)
                and all(isinstance(v, (int, float)) and math.isfinite(v) for v in p) for p in ring):
            raise BadInput(f"area {which}: every position must be [lon, lat] in degrees")
        if len(ring) < 4 or list(ring[0][:2]) != list(ring[-1][:2]):
            raise BadInput(f"area {which} is not closed: a ring needs at least 4 positions and "
                           "its last position must repeat the first")
        if len({tuple(p[:2]) for p in ring}) < 3:
            raise BadInput(f"area {which} needs at least 3 distinct corners")
        if not all(-180 <= p[0] <= 180 and -90 <= p[1] <= 90 for p in ring):
            raise BadInput(f"area {which}: positions are [lon, lat]; a value is outside the "
                           "WGS84 range (lon -180..180, lat -90..90)")
    polygon = shape(raw)
    if not polygon.is_valid:
        raise BadInput(f"area is not a simple polygon ({shapely.is_valid_reason(polygon)}); "
                       "redraw it so that its edges do not cross")
    frame = town_frame(zone_set)
    local = _to_local(polygon, frame)
    town = _to_local(shapely.box(*zone_set.bounds), frame)
    away_m = local.distance(town)
    if away_m > MAX_FROM_TOWN_M:
        raise BadInput(f"area lies {away_m / 1000:.1f} km from the town's zones (at most "
                       f"{MAX_FROM_TOWN_M / 1000:g} km): check the coordinates, they go "
                       "[lon, lat]")
    if local.area / 1e6 > MAX_AREA_KM2:
        raise BadInput(f"area covers {local.area / 1e6:.1f} km², more than the "
                       f"{MAX_AREA_KM2:g} km² one request may ask for; split it")
    return polygon


def _to_local(geometry: BaseGeometry, frame: LocalFrame) -> BaseGeometry:
    """The lon/lat geometry in the frame's metres (east, north)."""

    def project(lonlat: np.ndarray) -> np.ndarray:
        east, north = frame.to_local(lonlat[:, 1], lonlat[:, 0])
        return np.column_stack([east, north])

    return shapely.transform(geometry, project)


def local_day_start(day: date, tz: str) -> datetime:
    """The UTC instant the local day ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_day(at: datetime | None, tz: str) -> date | None:
    return at.astimezone(ZoneInfo(tz)).date() if at is not None else None


def domain_request(row: PatrolRequest, tz: str) -> planning.PatrolRequest:
    """The planner's view of a stored request (InvalidPatrolRequest if it cannot be planned)."""
    window = planning.PatrolWindow(
        time.fromisoformat(row.window_start), time.fromisoformat(row.window_end),
        frozenset(WEEKDAYS.index(d) for d in row.weekdays.split(",") if d), tz)
    return planning.PatrolRequest(
        id=str(row.id), department=row.department, area=shape(json.loads(row.area_geojson)),
        window=window, looks_for=tuple(x for x in row.looks_for.split(",") if x),
        passes_per_day=row.per_day, valid_from=local_day(row.valid_from, tz),
        valid_until=local_day(row.valid_to, tz))


def department_of(user: User, asked: str | None) -> str:
    """The department a request is filed for: a department account files for its own only."""
    if user.role == "department":
        if not user.department:
            raise Forbidden(f"account '{user.username}' has no department; ask an admin to set "
                            "one (flyonce users add NAME --role department --department 城管)")
        if asked and asked != user.department:
            raise Forbidden(f"a department account files for its own department only: "
                            f"'{user.username}' is '{user.department}', not '{asked}'")
        return user.department
    if not asked:
        raise BadInput("department is required: name the department this request is for")
    return asked


def file_request(session: Session, *, department: str, title: str, area: dict,
                 looks_for: Sequence[str], window_start: str, window_end: str,
                 weekdays: Sequence[str], per_day: int, valid_from: date | None,
                 valid_to: date | None, zone_set: Any, tz: str, actor: str,
                 now: datetime) -> PatrolRequest:
    """Check and store a request (the caller commits); BadInput says what to fix."""
    polygon = check_area(area, zone_set)
    days = [d.lower()[:3] for d in weekdays]
    unknown = [d for d in days if d not in WEEKDAYS]
    if unknown or not days:
        raise BadInput(f"weekdays must be a non-empty list of {', '.join(WEEKDAYS)}; "
                       f"got {list(weekdays)}")
    row = PatrolRequest(
        department=department, title=title, area_geojson=json.dumps(mapping(polygon)),
        looks_for=",".join(x.strip() for x in looks_for), window_start=window_start,
        window_end=window_end, weekdays=",".join(d for d in WEEKDAYS if d in days),
        per_day=per_day, valid_from=local_day_start(valid_from, tz) if valid_from else None,
        valid_to=local_day_start(valid_to, tz) if valid_to else None, status="active",
        created_by=actor, created_at=now)
    row.id = 0  # the planner's checks need an id; the database gives the real one
    try:
        domain_request(row, tz)
    except InvalidPatrolRequest as exc:
        raise BadInput(str(exc).replace("request 0: ", "")) from exc
    row.id = None
    session.add(row)
    session.flush()
    return row


def visible_request(session: Session, user: User, request_id: int) -> PatrolRequest:
    """The request, if this user may see it (a department sees its own only)."""
    row = session.get(PatrolRequest, request_id)
    # Another department's request is answered like a missing one: its id tells nothing.
    if row is None or not _sees(user, row):
        raise _no_request(request_id)
    return row


def _sees(user: User, row: PatrolRequest) -> bool:
    return user.role != "department" or row.department == user.department


def _no_request(request_id: int) -> NotFound:
    return NotFound(f"no patrol request with id {request_id}; list them with "
                    "GET /api/v1/patrol-requests")


def withdraw(session: Session, row: PatrolRequest, user: User, *, now: datetime) -> list[int]:
    """Withdraw a request (caller commits); planned flights left serving no active request are
    cancelled. Returns the cancelled flights' ids."""
    if not _sees(user, row):
        raise _no_request(row.id)
    row.status = "withdrawn"
    session.add(row)
    session.flush()
    flight_ids = session.exec(select(PatrolServe.flight_id).where(
        PatrolServe.request_id == row.id)).all()
    cancelled = []
    for flight in session.exec(select(PatrolFlight).where(
            PatrolFlight.id.in_(set(flight_ids)), PatrolFlight.state == PLANNED)).all():
        still = session.exec(select(PatrolServe.id).join(
            PatrolRequest, PatrolRequest.id == PatrolServe.request_id).where(
            PatrolServe.flight_id == flight.id, PatrolRequest.status == "active")).first()
        if still is None:
            flight.state, flight.reason = CANCELLED, (
                f"every request it served was withdrawn (last: {row.id} by {user.username} at "
                f"{now:%Y-%m-%d %H:%M} UTC)")
            session.add(flight)
            cancelled.append(flight.id)
    return sorted(cancelled)


# ---------------------------------------------------------------- views


def request_json(row: PatrolRequest, tz: str) -> dict[str, Any]:
    return {
        "id": row.id, "department": row.department, "title": row.title,
        "area": json.loads(row.area_geojson),
        "looks_for": [x for x in row.looks_for.split(",") if x],
        "window": {"start": row.window_start, "end": row.window_end, "tz": tz},
        "weekdays": [d for d in row.weekdays.split(",") if d], "per_day": row.per_day,
        "valid_from": _iso_day(local_day(row.valid_from, tz)),
        "valid_to": _iso_day(local_day(row.valid_to, tz)),
        "status": row.status, "created_by": row.created_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


def _iso_day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def request_detail(session: Session, row: PatrolRequest, tz: str, *,
                   department: str | None = None) -> dict[str, Any]:
    """The request, the flights that served (or will serve) it, and what they found in its area;
    the flights as ``department`` may see them, when given (``flights.flights_json``)."""
    flights = list(session.exec(
        select(PatrolFlight).join(PatrolServe, PatrolServe.flight_id == PatrolFlight.id)
        .where(PatrolServe.request_id == row.id).distinct()
        .order_by(PatrolFlight.planned_start, PatrolFlight.id)).all())
    area = shapely.prepared.prep(shape(json.loads(row.area_geojson)))
    findings = []
    if flights:
        for event in session.exec(select(Event).where(
                Event.patrol_flight_id.in_([f.id for f in flights]))
                .order_by(Event.detected_at, Event.id)).all():
            if area.covers(Point(event.lon, event.lat)):  # on the boundary counts as inside
                findings.append({
                    "id": event.id, "type": event.type, "state": event.state, "lat": event.lat,
                    "lon": event.lon, "detected_at": event.detected_at.isoformat(),
                    "patrol_flight_id": event.patrol_flight_id, "zone_name": event.zone_name,
                    "disposition": event.disposition})
    return {**request_json(row, tz),
            "flights": flights_json(session, flights, department=department),
            "findings": findings}


# ---------------------------------------------------------------- reads


def requests_of(session: Session, *, department: str | None,
                include_withdrawn: bool) -> Sequence[PatrolRequest]:
    """Patrol requests by id: ``department``'s only when given, active ones unless asked."""
    query = select(PatrolRequest).order_by(PatrolRequest.id)
    if department is not None:
        query = query.where(PatrolRequest.department == department)
    if not include_withdrawn:
        query = query.where(PatrolRequest.status == "active")
    return session.exec(query).all()
