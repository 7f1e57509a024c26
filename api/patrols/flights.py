"""Patrol flights as the service shows them, and the flight a drone was flying at a moment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from api.core.models import PatrolFlight, PatrolRequest, PatrolServe


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


def flight_of_drone(session: Session, drone_id: str, at: datetime) -> int | None:
    """The patrol flight ``drone_id`` was flying at ``at``, if any (one query, by drone index)."""
    return session.exec(
        select(PatrolFlight.id).where(
            PatrolFlight.drone_id == drone_id, PatrolFlight.started_at.is_not(None),
            PatrolFlight.started_at <= at,
            sa.or_(PatrolFlight.ended_at.is_(None), PatrolFlight.ended_at >= at))
        .order_by(PatrolFlight.started_at.desc()).limit(1)).first()
