"""Reads of events: the filters shared by the list, the figures and the report; one event whole."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, func, select
from sqlmodel.sql.expression import SelectOfScalar

from api.core.errors import BadInput
from api.core.models import AuditEntry, Event, Task
from api.lifecycle.events import event_public, no_event, team_task
from api.lifecycle.evidence import evidence_of, evidence_public
from api.lifecycle.merge import sightings_of
from api.lifecycle.offences import prior_events
from api.lifecycle.schemas import AuditPublic, EventDetail, SightingPublic, TaskPublic


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


def event_page(
    session: Session, query: SelectOfScalar[Event], *, states: list[str] | None = None,
    types: list[str] | None = None, team_id: str | None = None, limit: int, offset: int,
) -> tuple[int, list[Event]]:
    """(how many events match, one page of them newest first) for ``query`` narrowed to
    ``states``, ``types`` and, for a ground team, the events it has a task on."""
    if states:
        query = query.where(Event.state.in_(states))
    if types:
        query = query.where(Event.type.in_(types))
    if team_id is not None:
        query = query.where(Event.id.in_(select(Task.event_id).where(Task.team_id == team_id)))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Event.detected_at.desc(), Event.id.desc())
                        .offset(offset).limit(limit)).all()
    return total, list(rows)


def visible_event(session: Session, event_id: int, *, team_id: str | None) -> Event:
    """The event, if the reader may see it: anyone but a ground team, or a team tasked with it.

    An event the team may not see is NotFound with the words of a missing one."""
    event = session.get(Event, event_id)
    if event is None:
        raise no_event(event_id)
    if team_id is not None:
        team_task(session, event_id, team_id)
    return event


def audit_of(session: Session, event_id: int) -> list[AuditEntry]:
    """The event's audit trail, oldest first."""
    return list(session.exec(select(AuditEntry).where(AuditEntry.event_id == event_id)
                             .order_by(AuditEntry.id)).all())


def tasks_of(session: Session, event_id: int) -> list[Task]:
    """The event's tasks, oldest first."""
    return list(session.exec(select(Task).where(Task.event_id == event_id)
                             .order_by(Task.id)).all())


def event_detail(session: Session, event: Event) -> EventDetail:
    """One event with its timeline, evidence, tasks and earlier violations at its place."""
    detail = EventDetail.model_validate(event_public(event).model_dump())
    detail.all_sightings = [SightingPublic.model_validate(s)
                            for s in sightings_of(session, event.id)]
    detail.timeline = [AuditPublic.model_validate(a) for a in audit_of(session, event.id)]
    detail.evidence = [evidence_public(e) for e in evidence_of(session, event.id)]
    detail.tasks = [TaskPublic.model_validate(t) for t in tasks_of(session, event.id)]
    detail.prior_events = prior_events(session, event)
    return detail
