"""Evaluation figures."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from sqlmodel import select

from api.deps import Analyst, SessionDep
from api.errors import BadInput
from api.metrics import summarize
from api.models import Event
from api.schemas import Summary

router = APIRouter(prefix="/api/v1", tags=["evaluation"])


@router.get("/metrics/summary", response_model=Summary,
            summary="Closed-loop figures over a period and zone kind")
def summary(
    _user: Analyst,
    session: SessionDep,
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    zone_kind: str | None = None,
    zone_id: str | None = None,
) -> Summary:
    query = select(Event)
    for value, name in ((since, "since"), (until, "until")):
        if value is not None and value.tzinfo is None:
            raise BadInput(f"'{name}' needs a timezone, e.g. 2026-11-25T08:00:00Z")
    if since:
        query = query.where(Event.detected_at >= since)
    if until:
        query = query.where(Event.detected_at < until)
    if zone_kind:
        query = query.where(Event.zone_kind == zone_kind)
    if zone_id:
        query = query.where(Event.zone_id == zone_id)
    return summarize(session.exec(query).all())
