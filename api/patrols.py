"""Department patrol requests in the service (综合飞一次): filed, planned, stored, flown, found.

The planner (``dispatch.patrols``) is pure; this module is its service side:

- **Requests** are stored rows (``PatrolRequest``); ``check_area`` refuses a GeoJSON area that
  is not a closed, simple polygon near the town, with a message saying what to redraw, and
  ``domain_request`` turns a row into the planner's request (the planner's own checks apply
  too). Validity dates are local days: stored as the local midnight that starts them, in UTC.
- **Planning** (``plan_week``) runs the planner twice over the active requests of one local
  week (Monday to Sunday) — merged, and every pass flown alone — and stores a ``PatrolPlan``
  with both figures, its flights (``PatrolFlight``, one per sortie) and which request's pass
  each serves (``PatrolServe``). Planned flights of that week that have not started are
  replaced; flights already flying, flown or failed stay. A new flight whose start is already
  past is not stored: its passes are listed as unserved with that reason, like the passes the
  planner could not place. Nothing is dropped silently.
- **Flying**: ``api.patrol_scheduler.PatrolScheduler`` starts each planned flight at its time
  on its drone and marks it ``flying``, ``done`` or ``failed`` with the reason.
- **Findings**: an event from a drone is linked to the flight that drone was flying when the
  finding was made (``flight_of_drone``, one query on the drone index); a request's detail
  lists its flights and the linked events that lie inside its area.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import shapely.prepared
import sqlalchemy as sa
from shapely.geometry import LineString, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.db import writing
from api.errors import BadInput, Conflict, Forbidden, NotFound
from api.models import Drone, Event, PatrolFlight, PatrolPlan, PatrolRequest, PatrolServe, User
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
    if row is None:
        raise NotFound(f"no patrol request with id {request_id}; list them with "
                       "GET /api/v1/patrol-requests")
    if user.role == "department" and row.department != user.department:
        raise Forbidden(f"patrol request {request_id} belongs to '{row.department}'; a department "
                        "account sees its own requests only")
    return row


def withdraw(session: Session, row: PatrolRequest, user: User, *, now: datetime) -> list[int]:
    """Withdraw a request (caller commits); planned flights left serving no active request are
    cancelled. Returns the cancelled flights' ids."""
    if user.role == "department" and row.department != user.department:
        raise Forbidden(f"patrol request {row.id} belongs to '{row.department}'; a department "
                        "account may withdraw its own requests only")
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


# ---------------------------------------------------------------- planning

@dataclass(frozen=True)
class PlanFigures:
    """Merged flights against flying every pass alone, over one planning horizon."""

    first_day: date
    last_day: date
    requests: int | None  # None where not known (a stored plan keeps passes, not requests)
    slots: int
    flights: int
    flight_s: float
    length_m: float
    alone_flights: int
    alone_flight_s: float
    alone_length_m: float
    unserved: int

    @property
    def flight_saving_pct(self) -> float | None:
        """Share of flights merging saves, percent (None when nothing flies alone either)."""
        return _saving(self.flights, self.alone_flights)

    @property
    def minutes_saving_pct(self) -> float | None:
        """Share of flight time merging saves, percent."""
        return _saving(self.flight_s, self.alone_flight_s)

    def as_json(self) -> dict[str, Any]:
        return {
            "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(),
            "requests": self.requests, "slots": self.slots, "unserved": self.unserved,
            "merged": {"flights": self.flights, "flight_minutes": round(self.flight_s / 60, 1),
                       "length_km": round(self.length_m / 1000, 2)},
            "alone": {"flights": self.alone_flights,
                      "flight_minutes": round(self.alone_flight_s / 60, 1),
                      "length_km": round(self.alone_length_m / 1000, 2)},
            "saving": {"flights_pct": _round(self.flight_saving_pct),
                       "flight_minutes_pct": _round(self.minutes_saving_pct)},
        }

    def line(self) -> str:
        """One line for a terminal or the demo's scorecard."""
        asked = f"{self.requests} requests, " if self.requests is not None else ""
        return (f"{self.first_day}..{self.last_day}: {asked}{self.slots} "
                f"passes -> {self.flights} merged flights, {self.flight_s / 60:.0f} flight-min "
                f"vs {self.alone_flights} flights, {self.alone_flight_s / 60:.0f} flight-min "
                f"alone: {_round(self.flight_saving_pct)} % fewer flights, "
                f"{_round(self.minutes_saving_pct)} % fewer flight-minutes"
                + (f"; {self.unserved} passes unserved" if self.unserved else ""))


def _saving(merged: float, alone: float) -> float | None:
    return 100.0 * (alone - merged) / alone if alone else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def figures(requests: int, merged: planning.WeekPlan, alone: planning.WeekPlan,
            first_day: date, last_day: date) -> PlanFigures:
    return PlanFigures(first_day, last_day, requests, len(merged.slots), merged.flight_count,
                       merged.flight_s, merged.length_m, alone.flight_count, alone.flight_s,
                       alone.length_m, len(merged.unserved))


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the week that holds ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def planner_for(zone_set: Any, drones: Sequence[planning.PatrolDrone], *, alt_rel_m: float,
                margin_m: float) -> planning.PatrolPlanner:
    if not drones:
        raise Conflict("no drone to plan patrols with: register drones (POST /api/v1/drones) or "
                       "set FLYONCE_FLEET_FILE, then plan again")
    return planning.PatrolPlanner(zone_set, town_frame(zone_set), drones, alt_rel_m=alt_rel_m,
                                  margin_m=margin_m)


def compare(planner: planning.PatrolPlanner, requests: Sequence[planning.PatrolRequest],
            first_day: date, last_day: date
            ) -> tuple[planning.WeekPlan, planning.WeekPlan, PlanFigures]:
    """The merged plan, the every-pass-alone plan, and their figures."""
    merged = planner.plan(requests, first_day, last_day)
    alone = planner.plan(requests, first_day, last_day, merge=False)
    return merged, alone, figures(len(requests), merged, alone, first_day, last_day)


def stored_drones(session: Session) -> list[planning.PatrolDrone]:
    """Every registered drone at its dock (the planner needs docks, not links)."""
    return [planning.PatrolDrone(d.id, d.dock_lat, d.dock_lon)
            for d in session.exec(select(Drone).order_by(Drone.id)).all()]


def active_requests(session: Session, first_day: date, last_day: date, tz: str
                    ) -> list[PatrolRequest]:
    """Active requests whose validity overlaps the local days first_day..last_day."""
    week_start = local_day_start(first_day, tz)
    week_end = local_day_start(last_day + timedelta(days=1), tz)
    return list(session.exec(select(PatrolRequest).where(
        PatrolRequest.status == "active",
        sa.or_(PatrolRequest.valid_from.is_(None), PatrolRequest.valid_from < week_end),
        sa.or_(PatrolRequest.valid_to.is_(None), PatrolRequest.valid_to >= week_start),
    ).order_by(PatrolRequest.id)).all())


def plan_week(engine: Engine, *, zone_set: Any, drones: Sequence[planning.PatrolDrone] | None,
              day: date, tz: str, alt_rel_m: float, margin_m: float, actor: str,
              now: datetime) -> PatrolPlan:
    """Plan the week holding ``day`` and store it, replacing that week's not-started flights.

    Blocking (the planner is CPU work, the writes are SQL): call it in a thread. ``drones``
    None means the registered drones.
    """
    first_day, last_day = week_of(day)
    with Session(engine, expire_on_commit=False) as session:
        rows = active_requests(session, first_day, last_day, tz)
        drones = list(drones) if drones is not None else stored_drones(session)
    requests = []
    unserved: list[dict[str, Any]] = []
    for row in rows:
        try:
            requests.append(domain_request(row, tz))
        except InvalidPatrolRequest as exc:  # stored before a rule changed: say so, plan the rest
            unserved.append({"request_id": row.id, "start": None, "reason": str(exc)})
    planner = planner_for(zone_set, drones, alt_rel_m=alt_rel_m, margin_m=margin_m)
    merged, _alone, figs = compare(planner, requests, first_day, last_day)
    unserved += [{"request_id": int(u.request_id), "start": u.start.isoformat(),
                  "reason": u.reason} for u in merged.unserved]
    week_start, week_end = local_day_start(first_day, tz), local_day_start(
        last_day + timedelta(days=1), tz)
    with Session(engine, expire_on_commit=False) as session, writing(session):
        stale = session.exec(select(PatrolFlight.id).where(
            PatrolFlight.state == PLANNED, PatrolFlight.planned_start >= week_start,
            PatrolFlight.planned_start < week_end, PatrolFlight.planned_start >= now)).all()
        if stale:
            session.execute(sa.delete(PatrolServe).where(PatrolServe.flight_id.in_(stale)))
            session.execute(sa.delete(PatrolFlight).where(PatrolFlight.id.in_(stale)))
        plan = PatrolPlan(first_day=first_day, last_day=last_day, slots=figs.slots,
                          flights=figs.flights, flight_s=figs.flight_s, length_m=figs.length_m,
                          alone_flights=figs.alone_flights, alone_flight_s=figs.alone_flight_s,
                          alone_length_m=figs.alone_length_m, unserved_json="[]",
                          created_by=actor, created_at=now)
        session.add(plan)
        session.flush()
        for flight in merged.flights:
            if flight.start < now:
                unserved += [{"request_id": int(rid), "start": start.isoformat(),
                              "reason": f"its flight {flight.id} was due at "
                                        f"{flight.start:%Y-%m-%d %H:%M} UTC, before this plan "
                                        "was made"} for rid, start in flight.serves]
                continue
            row = PatrolFlight(
                plan_id=plan.id, drone_id=flight.drone_id, dock_id=flight.dock_id,
                planned_start=flight.start, planned_end=flight.end,
                duration_s=flight.duration_s, length_m=flight.length_m,
                path_geojson=json.dumps(mapping(LineString(
                    [(lon, lat) for lat, lon in flight.waypoints]))),
                state=PLANNED, created_at=now)
            session.add(row)
            session.flush()
            for rid, start in flight.serves:
                session.add(PatrolServe(request_id=int(rid), flight_id=row.id, slot_start=start))
        plan.unserved_json = json.dumps(unserved, ensure_ascii=False)
        session.add(plan)
        session.commit()
    return plan


def plan_figures(plan: PatrolPlan) -> PlanFigures:
    """The figures a stored plan kept."""
    return PlanFigures(plan.first_day, plan.last_day, None, plan.slots, plan.flights,
                       plan.flight_s, plan.length_m, plan.alone_flights, plan.alone_flight_s,
                       plan.alone_length_m, len(json.loads(plan.unserved_json)))


def plan_json(plan: PatrolPlan) -> dict[str, Any]:
    body = plan_figures(plan).as_json()
    body.pop("requests")
    return {"plan_id": plan.id, "created_at": plan.created_at.isoformat(),
            "created_by": plan.created_by, **body, "unserved": json.loads(plan.unserved_json)}


# ---------------------------------------------------------------- views

def flights_json(session: Session, flights: Sequence[PatrolFlight]) -> list[dict[str, Any]]:
    """Flights with the requests (and passes) each serves, in the order given."""
    ids = [f.id for f in flights]
    serves: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for serve, request in session.exec(
                select(PatrolServe, PatrolRequest)
                .join(PatrolRequest, PatrolRequest.id == PatrolServe.request_id)
                .where(PatrolServe.flight_id.in_(ids))
                .order_by(PatrolServe.request_id, PatrolServe.slot_start)).all():
            serves[serve.flight_id].append({
                "request_id": request.id, "department": request.department,
                "title": request.title, "slot_start": serve.slot_start.isoformat()})
    return [flight_json(f, serves[f.id]) for f in flights]


def flight_json(flight: PatrolFlight, serves: list[dict[str, Any]]) -> dict[str, Any]:
    def iso(at: datetime | None) -> str | None:
        return at.isoformat() if at else None

    return {"id": flight.id, "plan_id": flight.plan_id, "drone_id": flight.drone_id,
            "dock_id": flight.dock_id, "state": flight.state, "reason": flight.reason,
            "planned_start": iso(flight.planned_start), "planned_end": iso(flight.planned_end),
            "started_at": iso(flight.started_at), "ended_at": iso(flight.ended_at),
            "duration_s": flight.duration_s, "length_m": flight.length_m,
            "path": json.loads(flight.path_geojson), "serves": serves}


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


def request_detail(session: Session, row: PatrolRequest, tz: str) -> dict[str, Any]:
    """The request, the flights that served (or will serve) it, and what they found in its area."""
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
    return {**request_json(row, tz), "flights": flights_json(session, flights),
            "findings": findings}


# ---------------------------------------------------------------- findings

def flight_of_drone(session: Session, drone_id: str, at: datetime) -> int | None:
    """The patrol flight ``drone_id`` was flying at ``at``, if any (one query, by drone index)."""
    return session.exec(
        select(PatrolFlight.id).where(
            PatrolFlight.drone_id == drone_id, PatrolFlight.started_at.is_not(None),
            PatrolFlight.started_at <= at,
            sa.or_(PatrolFlight.ended_at.is_(None), PatrolFlight.ended_at >= at))
        .order_by(PatrolFlight.started_at.desc()).limit(1)).first()


# ---------------------------------------------------------------- the generated week

def generated_week_figures(seed: int = 7, count: int = 24) -> PlanFigures:
    """Merged against alone for ``simulators.patrol_week``'s generated week over the sample town.

    The demo prints this; ``flyonce patrols plan --week generated`` too. The fleet is the demo's
    and the benchmark's: two drones at each of the sample town's three docks, enough that every
    pass is flown both ways, so the two plans compare like with like.
    """
    from geofence import sample_town
    from simulators.patrol_week import FIRST_DAY, week_of_requests

    town = sample_town()
    requests = [planning.PatrolRequest.from_mapping(raw)
                for raw in week_of_requests(seed, count, town=town)]
    drones = [planning.PatrolDrone(f"{d.id}-{k}", d.lat, d.lon, d.id)
              for d in town.docks for k in (1, 2)]
    planner = planning.PatrolPlanner(town.zones, town.frame, drones)
    _merged, _alone, figs = compare(planner, requests, FIRST_DAY, FIRST_DAY + timedelta(days=6))
    return figs
