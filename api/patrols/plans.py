"""A week of merged patrol flights: planned from the active requests (merged and alone, for
the saving), stored with the passes each flight serves, and read back with their figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from shapely.geometry import LineString, mapping
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.core.db import writing
from api.core.errors import BadInput, Conflict
from api.core.models import Drone, PatrolFlight, PatrolPlan, PatrolRequest, PatrolServe
from api.patrols.flights import flights_json
from api.patrols.requests import PLANNED, STATES, domain_request, local_day_start, town_frame
from dispatch import patrols as planning
from dispatch.errors import InvalidPatrolRequest


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


def plan_view(engine: Engine, stored: PatrolPlan) -> dict[str, Any]:
    """A stored plan's figures and its flights, read in a session of its own."""
    with Session(engine) as session:
        flights = session.exec(select(PatrolFlight).where(PatrolFlight.plan_id == stored.id)
                               .order_by(PatrolFlight.planned_start, PatrolFlight.id)).all()
        return {**plan_json(stored), "flights": flights_json(session, flights)}


FLIGHTS_LIMIT = 2000


def flights_in(session: Session, *, since: datetime | None, until: datetime | None,
               state: str | None, department: str | None) -> dict[str, Any]:
    """Flights planned to start in [since, until) (in ``state`` when given), with the plans they
    belong to; with ``department``, only the flights serving its requests, as it may see them
    (``flights.flights_json``)."""
    if since and until and until < since:
        raise BadInput("'until' is before 'since'")
    if state is not None and state not in STATES:
        raise BadInput(f"unknown state {state!r}; use one of {', '.join(STATES)}")
    query = select(PatrolFlight).order_by(PatrolFlight.planned_start, PatrolFlight.id)
    if since:
        query = query.where(PatrolFlight.planned_start >= since)
    if until:
        query = query.where(PatrolFlight.planned_start < until)
    if state:
        query = query.where(PatrolFlight.state == state)
    if department is not None:
        mine = (select(PatrolServe.flight_id)
                .join(PatrolRequest, PatrolRequest.id == PatrolServe.request_id)
                .where(PatrolRequest.department == department))
        query = query.where(PatrolFlight.id.in_(mine))
    flights = session.exec(query.limit(FLIGHTS_LIMIT)).all()
    plan_ids = sorted({f.plan_id for f in flights if f.plan_id is not None})
    plans = session.exec(select(PatrolPlan).where(PatrolPlan.id.in_(plan_ids))
                         .order_by(PatrolPlan.id)).all() if plan_ids else []
    views = [plan_json(p) for p in plans]
    if department is not None:  # the passes left unserved: its own requests' only
        mine = set(session.exec(select(PatrolRequest.id)
                                .where(PatrolRequest.department == department)).all())
        for view in views:
            view["unserved"] = [u for u in view["unserved"] if u["request_id"] in mine]
    return {"flights": flights_json(session, flights, department=department), "plans": views}
