"""Routes for first offences, repeats and hot spots (首违免罚).

An event's offence, suggested disposition and earlier violations are part of the event itself
(GET /api/v1/events/{id}); this router serves the hot spots.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from api.deps import Analyst, SessionDep, SettingsDep
from api.hotspots import Violation, hot_spots
from api.models import Event
from api.offences import confirmed_violation
from api.queries import events_query
from api.schemas import EventType, HotSpots

router = APIRouter(prefix="/api/v1", tags=["offences"])


def confirmed_violations(session: Session, *, since: datetime | None = None, until: datetime | None = None,
                         types: list[str] | None = None, zone_kind: str | None = None,
                         zone_id: str | None = None) -> list[Violation]:
    """The confirmed violations detected in [since, until), as plain rows (no ORM objects)."""
    query = events_query(since=since, until=until, zone_kind=zone_kind, zone_id=zone_id)
    query = query.where(confirmed_violation())
    if types:
        query = query.where(Event.type.in_(types))
    rows = session.execute(query.with_only_columns(
        Event.id, Event.type, Event.lat, Event.lon, Event.detected_at)).all()
    return [Violation(*row) for row in rows]


@router.get("/hotspots", response_model=HotSpots,
            summary="Places where confirmed violations recur, their hours of day and when to patrol")
def get_hotspots(
    _user: Analyst,
    session: SessionDep,
    settings: SettingsDep,
    since: datetime | None = Query(None, description="detected at or after (ISO 8601 with timezone)"),
    until: datetime | None = Query(None, description="detected before (ISO 8601 with timezone)"),
    type: Annotated[list[EventType] | None, Query()] = None,
    zone_kind: str | None = None,
    zone_id: str | None = None,
    min_count: int = Query(2, ge=2, description="Fewest violations that make a place a hot spot."),
) -> HotSpots:
    violations = confirmed_violations(session, since=since, until=until,
                                      types=[t.value for t in type] if type else None,
                                      zone_kind=zone_kind, zone_id=zone_id)
    session.commit()  # end the read before the clustering
    # One notion of "the same place": the radius that makes a violation a repeat links a hot spot.
    link_m = settings.offence_radius_m
    items = hot_spots(violations, tz=settings.local_tz, link_m=link_m, min_count=min_count)
    return HotSpots(tz=settings.local_tz, link_m=link_m, violations=len(violations), items=items)
