"""Evaluation figures."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.core.schemas import UtcQueryTime
from api.evaluation.metrics import summarize
from api.evaluation.persuasion_figures import load_figures
from api.evaluation.schemas import Summary
from api.lifecycle.misses import miss_reasons
from api.lifecycle.queries import events_query
from api.routes.deps import Allowed, SessionDep

router = APIRouter(prefix="/api/v1", tags=["evaluation"])


@router.get("/metrics/summary", response_model=Summary,
            summary="Closed-loop figures over a period and zone kind")
def summary(
    _user: Allowed,
    session: SessionDep,
    since: UtcQueryTime | None = Query(None),
    until: UtcQueryTime | None = Query(None),
    zone_kind: str | None = None,
    zone_id: str | None = None,
) -> Summary:
    query = events_query(since=since, until=until, zone_kind=zone_kind, zone_id=zone_id)
    events = session.exec(query).all()
    return summarize(events, load_figures(session, events),
                     miss_reasons(session, [e.id for e in events]))
