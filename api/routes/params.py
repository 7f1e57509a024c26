"""Bounded request parameters shared by the routes.

Ids are 64-bit in the database (SQLite's INTEGER, PostgreSQL's BIGINT): a path id past 2^63 - 1
used to reach the driver and fail there as a 500. The bound is in the schema, so clients read it
and such a request is a 422 that names the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query

from api.core.schemas import DB_INT_MAX, UtcQueryTime
from api.lifecycle.queries import events_query
from api.lifecycle.schemas import EventType
from api.lifecycle.states import State

Id = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="A stored id, 1 to 2^63 - 1.")]
Offset = Annotated[int, Query(ge=0, le=DB_INT_MAX, description="Items to skip.")]


@dataclass(frozen=True)
class EventFilters:
    """The event list's filters (``GET /events``), shared with its exports
    (``GET /exports/events``): one definition, so an export never filters otherwise."""

    state: list[State] | None
    type: list[EventType] | None
    zone_id: str | None
    zone_kind: str | None
    since: datetime | None
    until: datetime | None
    bbox: str | None

    def query(self):  # noqa: ANN201 (a select of events; routes name no SQL types)
        """The select of the events these filters keep (``events_query``)."""
        return events_query(since=self.since, until=self.until, zone_kind=self.zone_kind,
                            zone_id=self.zone_id, bbox=self.bbox)

    @property
    def states(self) -> list[str] | None:
        return [s.value for s in self.state] if self.state else None

    @property
    def types(self) -> list[str] | None:
        return [t.value for t in self.type] if self.type else None


def event_filters(
    state: Annotated[list[State] | None, Query()] = None,
    type: Annotated[list[EventType] | None, Query()] = None,  # noqa: A002 (the API's name)
    zone_id: str | None = None,
    zone_kind: str | None = None,
    since: UtcQueryTime | None = Query(None, description="detected at or after (ISO 8601)"),
    until: UtcQueryTime | None = Query(None, description="detected before (ISO 8601)"),
    bbox: str | None = Query(None, description="min_lon,min_lat,max_lon,max_lat"),
) -> EventFilters:
    return EventFilters(state, type, zone_id, zone_kind, since, until, bbox)


EventFiltersDep = Annotated[EventFilters, Depends(event_filters)]
