"""Hand-off to a city's platforms: exports of events and hot spots, and the webhook dead letters.

Exports take the same filters as their lists (GET /api/v1/events, GET /api/v1/hotspots) and
answer a file (api/handoff/exports.py); a ground team exports only the events of its tasks,
as it lists them. Webhooks are pushed by the leader (api/handoff/webhooks.py); an admin reads
their deliveries here and replays the dead ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from api.core.db import writing
from api.core.schemas import UtcQueryTime
from api.handoff import exports
from api.handoff.webhooks import deliveries, replay
from api.lifecycle import events as verbs
from api.lifecycle import queries
from api.lifecycle.schemas import EventPublic, EventType
from api.routes.deps import Allowed, ClockDep, SessionDep, SettingsDep, team_scope
from api.routes.hotspots import find_hot_spots
from api.routes.params import EventFiltersDep, Id, Offset

router = APIRouter(prefix="/api/v1", tags=["hand-off"])

Format = Literal["geojson", "kml", "csv"]
FILE = {200: {"content": {t: {} for t in exports.MEDIA_TYPES.values()},
              "description": "The file: GeoJSON (RFC 7946, [lon, lat]), KML 2.2 or CSV."}}
EXPORT_LIMIT = 50_000
EVENT_COLUMNS = [name for name in EventPublic.model_fields if name != "allowed_next"]
HOTSPOT_COLUMNS = ["id", "lat", "lon", "count", "radius_m", "by_type", "first_at", "last_at",
                   "latest_event_ids"]


def _file(fmt: str, body: str, stem: str) -> Response:
    return Response(body, media_type=exports.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


@router.get("/exports/events", response_class=Response, responses=FILE,
            summary="Events as GeoJSON, KML or CSV, with the filters of the event list")
def export_events(
    user: Allowed,
    session: SessionDep,
    filters: EventFiltersDep,
    format: Format = "geojson",
    limit: int = Query(10_000, ge=1, le=EXPORT_LIMIT),
    offset: Offset = 0,
) -> Response:
    _, rows = queries.event_page(
        session, filters.query(), states=filters.states, types=filters.types,
        team_id=team_scope(user), limit=limit, offset=offset)
    data = [verbs.event_public(e).model_dump(mode="json", exclude={"allowed_next"}) for e in rows]
    return _file(format, exports.render(format, data, columns=EVENT_COLUMNS, name="flyonce events",
                                        label="type"), "events")


@router.get("/exports/hotspots", response_class=Response, responses=FILE,
            summary="Hot spots as GeoJSON, KML or CSV, with the filters of the hot-spot list")
def export_hotspots(
    _user: Allowed,
    session: SessionDep,
    settings: SettingsDep,
    format: Format = "geojson",
    since: UtcQueryTime | None = Query(None, description="detected at or after (ISO 8601)"),
    until: UtcQueryTime | None = Query(None, description="detected before (ISO 8601)"),
    type: Annotated[list[EventType] | None, Query()] = None,
    zone_kind: str | None = None,
    zone_id: str | None = None,
    min_count: int = Query(2, ge=2, le=100_000),
) -> Response:
    spots = find_hot_spots(session, settings, since=since, until=until, type=type,
                           zone_kind=zone_kind, zone_id=zone_id, min_count=min_count)
    data = [{"id": i + 1, **spot.model_dump(mode="json", exclude={"hours", "patrol_windows"})}
            for i, spot in enumerate(spots.items)]
    return _file(format, exports.render(format, data, columns=HOTSPOT_COLUMNS,
                                        name="flyonce hot spots", label="count"), "hotspots")


class WebhookDeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    audit_id: int
    topic: str
    url: str
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@router.get("/webhooks/deliveries", response_model=list[WebhookDeliveryPublic],
            summary="Webhook deliveries, newest first (state=dead: the dead-letter list)")
def list_deliveries(
    _admin: Allowed,
    session: SessionDep,
    state: Literal["pending", "delivered", "dead"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[WebhookDeliveryPublic]:
    return [WebhookDeliveryPublic.model_validate(r)
            for r in deliveries(session, state=state, limit=limit, offset=offset)]


@router.post("/webhooks/deliveries/{delivery_id}/replay", response_model=WebhookDeliveryPublic,
             summary="Send a dead delivery again (its tries start afresh)")
def replay_delivery(delivery_id: Id, _admin: Allowed, session: SessionDep,
                    clock: ClockDep) -> WebhookDeliveryPublic:
    with writing(session):
        delivery = replay(session, delivery_id, now=clock.now())
        session.commit()
        return WebhookDeliveryPublic.model_validate(delivery)

