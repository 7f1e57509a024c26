"""Patrol flights as the service shows them, and the flight a drone was flying at a moment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shapely import LineString, MultiLineString, unary_union
from shapely.geometry import mapping, shape
from sqlmodel import Session, select

from api.core.models import PatrolFlight, PatrolRequest, PatrolServe


def flights_json(session: Session, flights: Sequence[PatrolFlight], *,
                 department: str | None = None) -> list[dict[str, Any]]:
    """Flights with the requests (and passes) each serves, in the order given.

    As ``department`` sees them, when given: its own requests in full; another department's
    by its name alone (that the flight was shared, not what for); and the path only inside
    its own requests' areas, since a merged flight's path draws the other areas too.
    """
    ids = [f.id for f in flights]
    serves: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    own_areas: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for serve, request in session.exec(
                select(PatrolServe, PatrolRequest)
                .join(PatrolRequest, PatrolRequest.id == PatrolServe.request_id)
                .where(PatrolServe.flight_id.in_(ids))
                .order_by(PatrolServe.request_id, PatrolServe.slot_start)).all():
            if department is None or request.department == department:
                serves[serve.flight_id].append({
                    "request_id": request.id, "department": request.department,
                    "title": request.title, "slot_start": serve.slot_start.isoformat()})
                own_areas[serve.flight_id].append(json.loads(request.area_geojson))
            elif {"department": request.department} not in serves[serve.flight_id]:
                serves[serve.flight_id].append({"department": request.department})
    views = [flight_json(f, serves[f.id]) for f in flights]
    if department is not None:
        for view in views:
            view["path"] = path_within(view["path"], own_areas[view["id"]])
    return views


def path_within(path: dict[str, Any], areas: list[dict[str, Any]]) -> dict[str, Any]:
    """The parts of a flight path (GeoJSON LineString) inside ``areas`` (GeoJSON Polygons), as
    one GeoJSON MultiLineString (empty when it never enters them); boundary points count in."""
    inside = shape(path).intersection(unary_union([shape(a) for a in areas])) if areas else None
    parts: list[LineString] = []
    for geom in getattr(inside, "geoms", [inside] if inside is not None else []):
        if isinstance(geom, LineString) and not geom.is_empty:
            parts.append(geom)
        elif isinstance(geom, MultiLineString):
            parts.extend(geom.geoms)
    return {"type": "MultiLineString",
            "coordinates": [mapping(p)["coordinates"] for p in parts]}


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
