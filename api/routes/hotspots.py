"""Routes for first offences, repeats and hot spots (首违免罚).

An event's offence, suggested disposition and earlier violations are part of the event itself
(GET /api/v1/events/{id}); this router serves the hot spots.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.core.schemas import UtcQueryTime
from api.evaluation.hotspots import confirmed_violations, hot_spots
from api.evaluation.schemas import HotSpots
from api.lifecycle.schemas import EventType
from api.routes.deps import Allowed, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["offences"])


@router.get("/hotspots", response_model=HotSpots,
            summary="Places where confirmed violations recur, their hours of day and when to patrol")
def get_hotspots(
    _user: Allowed,
    session: SessionDep,
    settings: SettingsDep,
    since: UtcQueryTime | None = Query(None, description="detected at or after (ISO 8601 with timezone)"),
    until: UtcQueryTime | None = Query(None, description="detected before (ISO 8601 with timezone)"),
    type: Annotated[list[EventType] | None, Query()] = None,
    zone_kind: str | None = None,
    zone_id: str | None = None,
    min_count: int = Query(2, ge=2, le=100_000, description="Fewest violations that make a place a hot spot."),
) -> HotSpots:
    return find_hot_spots(session, settings, since=since, until=until, type=type,
                          zone_kind=zone_kind, zone_id=zone_id, min_count=min_count)


def find_hot_spots(session: SessionDep, settings: SettingsDep, *, since: datetime | None,
                   until: datetime | None, type: list[EventType] | None, zone_kind: str | None,
                   zone_id: str | None, min_count: int) -> HotSpots:
    """The hot spots of the confirmed violations the filters select (also the export's rows)."""
    violations = confirmed_violations(session, since=since, until=until,
                                      types=[t.value for t in type] if type else None,
                                      zone_kind=zone_kind, zone_id=zone_id)
    session.commit()  # end the read before the clustering
    # One notion of "the same place": the radius that makes a violation a repeat links a hot spot.
    link_m = settings.offence_radius_m
    items = hot_spots(violations, tz=settings.local_tz, link_m=link_m, min_count=min_count)
    return HotSpots(tz=settings.local_tz, link_m=link_m, violations=len(violations), items=items)
