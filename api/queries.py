"""Which events a request asks for: the filters shared by the event list, the figures and the report."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar

from api.errors import BadInput
from api.models import Event


def events_query(
    *, since: datetime | None = None, until: datetime | None = None,
    zone_kind: str | None = None, zone_id: str | None = None, bbox: str | None = None,
) -> SelectOfScalar[Event]:
    """Events detected in [since, until), optionally in one zone kind, zone or box."""
    for value, name in ((since, "since"), (until, "until")):
        if value is not None and value.tzinfo is None:
            raise BadInput(f"'{name}' needs a timezone, e.g. 2026-11-25T08:00:00Z")
    query = select(Event)
    if since:
        query = query.where(Event.detected_at >= since)
    if until:
        query = query.where(Event.detected_at < until)
    if zone_kind:
        query = query.where(Event.zone_kind == zone_kind)
    if zone_id:
        query = query.where(Event.zone_id == zone_id)
    if bbox:
        query = query.where(bbox_clause(bbox))
    return query


def bbox_clause(bbox: str) -> sa.ColumnElement[bool]:
    """A filter for `min_lon,min_lat,max_lon,max_lat`."""
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox.split(","))
    except ValueError as exc:
        raise BadInput("bbox must be four numbers: min_lon,min_lat,max_lon,max_lat") from exc
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise BadInput("bbox must satisfy -180 ≤ min_lon ≤ max_lon ≤ 180 and -90 ≤ min_lat ≤ max_lat ≤ 90")
    return sa.and_(Event.lon >= min_lon, Event.lon <= max_lon, Event.lat >= min_lat, Event.lat <= max_lat)
