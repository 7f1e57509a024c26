"""Events: ingest candidates, list and read them, and move them through the lifecycle."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import FileResponse

from api.core.bus import AlertBus
from api.core.db import writing
from api.core.errors import ServiceError
from api.core.media import check_image
from api.lifecycle import events as verbs
from api.lifecycle import queries
from api.lifecycle.evidence import add_evidence, add_snapshot, evidence_by_id, evidence_public
from api.lifecycle.merge import MergeRules, sightings_of
from api.lifecycle.offences import OffenceRules
from api.lifecycle.schemas import (
    AssignIn,
    AuditPublic,
    CandidateAck,
    CandidateBatchIn,
    CandidateBatchOut,
    CandidateIn,
    DetectionReportAck,
    DetectionReportIn,
    Disposition,
    EventDetail,
    EventPage,
    EventPublic,
    EvidencePublic,
    NoteIn,
    ReviewIn,
    SightingPublic,
    SplitIn,
)
from api.monitoring.metrics import Monitor
from api.routes.access import Scope
from api.routes.deps import (
    AccessScope,
    Allowed,
    BusDep,
    ClockDep,
    SessionDep,
    SettingsDep,
    ZonesDep,
    team_scope,
)
from api.routes.params import EventFiltersDep, Id, Offset

router = APIRouter(prefix="/api/v1", tags=["events"])


def _commit_and_publish(session: SessionDep, bus: AlertBus, outcome: verbs.Outcome) -> None:
    session.commit()
    for alert in outcome.alerts:
        bus.publish(alert)


def _check_snapshot(candidate: CandidateIn, settings: SettingsDep
                    ) -> tuple[bytes | None, tuple[str, str] | None]:
    if not candidate.snapshot_jpeg_b64:
        return None, None
    snapshot = base64.b64decode(candidate.snapshot_jpeg_b64)
    return snapshot, check_image(snapshot, max_bytes=settings.max_upload_bytes)


def _ingest(candidate: CandidateIn, snapshot: bytes | None, checked: tuple[str, str] | None, *,
            request: Request, user: Allowed, session: SessionDep, settings: SettingsDep,
            clock: ClockDep, zones: ZonesDep, bus: BusDep) -> verbs.Outcome:
    """Store one candidate (and its checked snapshot), commit, publish its alerts."""
    now = clock.now()
    with writing(session):
        outcome = verbs.ingest_committed(session, candidate, zones=zones, actor=user.username,
                                         now=now, merge_rules=MergeRules.from_settings(settings))
        if outcome.sighting is not None and snapshot is not None:
            _snapshot(session, outcome, snapshot, checked, settings=settings, by=user.username,
                      now=now)
            session.commit()
    _published(request, bus, candidate, outcome, now)
    return outcome


def _snapshot(session: SessionDep, outcome: verbs.Outcome, snapshot: bytes,
              checked: tuple[str, str] | None, *, settings: SettingsDep, by: str, now) -> None:  # noqa: ANN001
    add_snapshot(session, outcome.sighting, snapshot, media_dir=settings.resolved_media_dir,
                 max_bytes=settings.max_upload_bytes, by=by, now=now, checked=checked)


def _published(request: Request, bus: BusDep, candidate: CandidateIn, outcome: verbs.Outcome,
               now) -> None:  # noqa: ANN001
    """After the commit: the candidate's alerts to every operator, and its figures."""
    for alert in outcome.alerts:
        bus.publish(alert)
    monitor: Monitor = request.app.state.monitor
    monitor.candidate(candidate.source)
    event = outcome.event
    if outcome.created and event.alerted_at is not None:
        found_at = candidate.detected_at or now
        monitor.alert_latency.observe(max(0.0, (event.alerted_at - found_at).total_seconds()))


def _ingest_batch(items: list[tuple[CandidateIn, bytes | None, tuple[str, str] | None]], *,
                  request: Request, user: Allowed, session: SessionDep, settings: SettingsDep,
                  clock: ClockDep, zones: ZonesDep, bus: BusDep) -> list[verbs.Outcome] | None:
    """Every candidate of a batch in one transaction (one commit); None, with nothing stored,
    when one of them was stored before (a retry)."""
    now = clock.now()

    def snapshot_of(i: int, outcome: verbs.Outcome) -> None:
        _, snapshot, checked = items[i]
        if snapshot is not None:
            _snapshot(session, outcome, snapshot, checked, settings=settings, by=user.username,
                      now=now)

    with writing(session):
        outcomes = verbs.ingest_all_committed(
            session, [c for c, _, _ in items], zones=zones, actor=user.username, now=now,
            merge_rules=MergeRules.from_settings(settings), each=snapshot_of)
    if outcomes is not None:
        for (candidate, _, _), outcome in zip(items, outcomes, strict=True):
            _published(request, bus, candidate, outcome, now)
    return outcomes


def _landed(outcome: verbs.Outcome) -> str:
    return "new" if outcome.created else "retry" if outcome.retried else "merged"


def _answer(outcome: verbs.Outcome, scope: Scope) -> EventPublic | CandidateAck:
    if scope == Scope.ACK:
        return CandidateAck(id=outcome.event.id, outcome=_landed(outcome))
    return verbs.event_public(outcome.event)


@router.post(
    "/candidates",
    response_model=EventPublic | CandidateAck,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": EventPublic | CandidateAck, "description": "The candidate is a further sighting of a known event (merged "
                                    "into an open one, or absorbed by one rejected lately), or a "
                                    "retry of a stored candidate: that event."}},
    summary="Ingest a candidate from a detection worker or a manual / hotline report; a "
            "detector gets an acknowledgement only",
)
def ingest_candidate(
    candidate: CandidateIn, request: Request, response: Response, user: Allowed, scope: AccessScope,
    session: SessionDep, settings: SettingsDep, clock: ClockDep, zones: ZonesDep, bus: BusDep,
) -> EventPublic | CandidateAck:
    # Refuse a bad snapshot before the event is stored; it is then stored without a second check.
    snapshot, checked = _check_snapshot(candidate, settings)
    outcome = _ingest(candidate, snapshot, checked, request=request, user=user, session=session,
                      settings=settings, clock=clock, zones=zones, bus=bus)
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    return _answer(outcome, scope)


@router.post(
    "/candidates/batch",
    response_model=CandidateBatchOut,
    summary="Ingest several candidates in one request (a detection worker's or gateway's batch); "
            "each is stored as if posted alone, and answered in order",
)
def ingest_candidates(
    body: CandidateBatchIn, request: Request, user: Allowed, scope: AccessScope,
    session: SessionDep, settings: SettingsDep, clock: ClockDep, zones: ZonesDep, bus: BusDep,
) -> CandidateBatchOut:
    """Each candidate is decided, alerted and kept idempotent exactly as from `POST /candidates`;
    the HTTP round trip, the login, the request's overhead and the commit are paid once (a batch
    that holds a retry is stored candidate by candidate instead).
    Every snapshot is checked before anything is stored, so a bad one refuses the whole batch
    (422, naming it) and a corrected batch can simply be sent again."""
    checked = []
    for i, candidate in enumerate(body.candidates):
        try:
            checked.append(_check_snapshot(candidate, settings))
        except ServiceError as exc:
            raise type(exc)(f"candidates[{i}]: {exc.message}") from exc
    items = [(c, snapshot, check) for c, (snapshot, check) in zip(body.candidates, checked,
                                                                    strict=True)]
    deps = {"request": request, "user": user, "session": session, "settings": settings,
            "clock": clock, "zones": zones, "bus": bus}
    # One transaction for the whole batch; a batch holding a retried candidate is rare (a
    # worker re-sending after a lost answer), and is then stored candidate by candidate.
    outcomes = _ingest_batch(items, **deps) or [_ingest(*item, **deps) for item in items]
    return CandidateBatchOut(results=[_answer(outcome, scope) for outcome in outcomes],
                             outcomes=[_landed(outcome) for outcome in outcomes])


@router.post("/detection/reports", response_model=DetectionReportAck,
             summary="A detection worker's figures for one run: frames/s and frames skipped")
def detection_report(body: DetectionReportIn, request: Request, _user: Allowed
                     ) -> DetectionReportAck:
    monitor: Monitor = request.app.state.monitor
    frames_per_s = round(body.frames_used / body.total_s, 3) if body.total_s > 0 else None
    monitor.detection_report(body.source, frames_in=body.frames_in, frames_used=body.frames_used,
                             skipped=body.skipped, frames_per_s=frames_per_s)
    return DetectionReportAck(source=body.source, frames_per_s=frames_per_s)


@router.get("/events/{event_id}/sightings", response_model=list[SightingPublic],
            summary="Every candidate that is this event, oldest first (the first is its alert)")
def list_sightings(event_id: Id, user: Allowed, session: SessionDep) -> list[SightingPublic]:
    queries.visible_event(session, event_id, team_id=team_scope(user))
    return [SightingPublic.model_validate(s) for s in sightings_of(session, event_id)]


@router.post("/events/{event_id}/sightings/{sighting_id}/split", response_model=EventDetail,
             status_code=status.HTTP_201_CREATED,
             summary="Undo a wrong merge: the sighting becomes an event of its own (returned)")
def split_sighting(event_id: Id, sighting_id: Id, body: SplitIn, user: Allowed,
                   session: SessionDep, clock: ClockDep, zones: ZonesDep,
                   bus: BusDep) -> EventDetail:
    with writing(session):
        old, new = verbs.split(session, event_id, sighting_id, reason=body.reason, zones=zones,
                               actor=user.username, now=clock.now())
        session.commit()
    for alert in [*old.alerts, *new.alerts]:
        bus.publish(alert)
    return queries.event_detail(session, new.event)


@router.get("/events", response_model=EventPage, summary="List events, newest first, with filters")
def list_events(
    user: Allowed,
    session: SessionDep,
    filters: EventFiltersDep,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> EventPage:
    total, rows = queries.event_page(
        session, filters.query(), states=filters.states, types=filters.types,
        team_id=team_scope(user), limit=limit, offset=offset)
    return EventPage(total=total, items=[verbs.event_public(e) for e in rows])


@router.get("/events/{event_id}", response_model=EventDetail,
            summary="One event with its whole timeline, evidence and tasks")
def get_event(event_id: Id, user: Allowed, session: SessionDep) -> EventDetail:
    event = queries.visible_event(session, event_id, team_id=team_scope(user))
    return queries.event_detail(session, event)


@router.get("/events/{event_id}/audit", response_model=list[AuditPublic],
            summary="The event's audit trail: every transition, who, when, why")
def get_audit(event_id: Id, user: Allowed, session: SessionDep) -> list[AuditPublic]:
    queries.visible_event(session, event_id, team_id=team_scope(user))
    return [AuditPublic.model_validate(a) for a in queries.audit_of(session, event_id)]


@router.post("/events/{event_id}/review", response_model=EventPublic,
             summary="Confirm or reject an alerted event, optionally correcting its box or class; "
                     "the verdict on its snapshot is kept as a labelled sample")
def review_event(event_id: Id, body: ReviewIn, user: Allowed, session: SessionDep,
                 settings: SettingsDep, clock: ClockDep, bus: BusDep) -> EventPublic:
    with writing(session):
        outcome = verbs.review(session, event_id, confirm=body.decision == "confirm", reason=body.reason,
                               actor=user.username, now=clock.now(),
                               offence_rules=OffenceRules.from_settings(settings),
                               box_xyxy=body.box_xyxy,
                               corrected_type=body.type.value if body.type else None)
        _commit_and_publish(session, bus, outcome)
    return verbs.event_public(outcome.event)


@router.post("/events/{event_id}/assign", response_model=EventDetail,
             summary="Task a drone and/or a ground team with a confirmed event")
def assign_event(event_id: Id, body: AssignIn, user: Allowed, session: SessionDep,
                 clock: ClockDep, bus: BusDep) -> EventDetail:
    with writing(session):
        outcome, _tasks = verbs.assign(session, event_id, body, actor=user.username, now=clock.now())
        _commit_and_publish(session, bus, outcome)
    return queries.event_detail(session, outcome.event)


@router.post("/events/{event_id}/on-scene", response_model=EventPublic,
             summary="Record arrival: a drone over the scene or a team checking in")
def on_scene_event(event_id: Id, user: Allowed, session: SessionDep, clock: ClockDep,
                   bus: BusDep, body: NoteIn | None = None) -> EventPublic:
    with writing(session):
        outcome = verbs.on_scene(session, event_id, actor=user.username, now=clock.now(),
                                 team_id=team_scope(user), reason=body.reason if body else None)
        _commit_and_publish(session, bus, outcome)
    return verbs.event_public(outcome.event)


@router.post("/events/{event_id}/resolve", response_model=EventDetail,
             summary="Report how the event was resolved, with an optional photo")
def resolve_event(
    event_id: Id,
    user: Allowed,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    bus: BusDep,
    disposition: Annotated[Disposition, Form()],
    note: Annotated[str | None, Form(max_length=4000)] = None,
    photo: Annotated[UploadFile | None, File()] = None,
) -> EventDetail:
    # A form whose file field was left empty sends a part with no filename: that is "no photo".
    data = photo.file.read(settings.max_upload_bytes + 1) if photo is not None and photo.filename else None
    now = clock.now()
    with writing(session):
        outcome = verbs.resolve(session, event_id, disposition=disposition.value, note=note,
                                actor=user.username, now=now, team_id=team_scope(user),
                                auto_evaluate=settings.auto_evaluate)
        if data is not None:
            add_evidence(session, event_id, data, media_dir=settings.resolved_media_dir,
                         max_bytes=settings.max_upload_bytes, kind="resolution",
                         by=user.username, now=now)
        _commit_and_publish(session, bus, outcome)
    return queries.event_detail(session, outcome.event)


@router.post("/events/{event_id}/evaluate", response_model=EventPublic,
             summary="Freeze the figures of a resolved or rejected event")
def evaluate_event(event_id: Id, user: Allowed, session: SessionDep, clock: ClockDep,
                   bus: BusDep) -> EventPublic:
    with writing(session):
        outcome = verbs.evaluate(session, event_id, actor=user.username, now=clock.now())
        _commit_and_publish(session, bus, outcome)
    return verbs.event_public(outcome.event)


@router.post("/events/{event_id}/evidence", response_model=EvidencePublic,
             status_code=status.HTTP_201_CREATED, summary="Attach a photo to an event")
def upload_evidence(event_id: Id, photo: Annotated[UploadFile, File()], user: Allowed,
                    session: SessionDep, settings: SettingsDep, clock: ClockDep) -> EvidencePublic:
    queries.visible_event(session, event_id, team_id=team_scope(user))
    data = photo.file.read(settings.max_upload_bytes + 1)
    with writing(session):
        evidence = add_evidence(session, event_id, data, media_dir=settings.resolved_media_dir,
                                max_bytes=settings.max_upload_bytes, kind="report",
                                by=user.username, now=clock.now())
        session.commit()
    return evidence_public(evidence)


@router.get("/evidence/{evidence_id}", response_class=FileResponse, summary="An evidence image",
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
def get_evidence(evidence_id: Id, user: Allowed, session: SessionDep,
                 settings: SettingsDep) -> FileResponse:
    evidence = evidence_by_id(session, evidence_id, team_id=team_scope(user))
    return FileResponse(settings.resolved_media_dir / evidence.path, media_type=evidence.content_type)
