"""Evaluation figures."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from api.deps import Analyst, SessionDep
from api.metrics import summarize
from api.persuasion import load_figures
from api.queries import events_query
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
    query = events_query(since=since, until=until, zone_kind=zone_kind, zone_id=zone_id)
    events = session.exec(query).all()
    return summarize(events, load_figures(session, events))
