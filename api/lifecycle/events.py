"""The lifecycle's verbs: ingest, review, assign, on-scene, resolve, evaluate.

Each verb runs in one database transaction: it locks the event row, applies its transitions
through `lifecycle.apply_transition` (which writes the audit rows) and returns the alerts to
publish once the caller has committed. Routes stay thin; these functions know no HTTP.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.core.errors import Conflict, NotFound
from api.core.models import AuditEntry, Drone, Event, GroundTeam, Sighting, Task
from api.core.zones import Place, ZoneIndex
from api.lifecycle import merge, offences, reviews, writes
from api.lifecycle.merge import MergeRules
from api.lifecycle.schemas import AssignIn, CandidateIn, EventPublic
from api.lifecycle.states import (
    State,
    allowed_next,
    apply_transition,
    creation,
    record_creation,
    transition,
)
from api.patrols.flights import flight_of_drone

# Event types a zone kind refuses to alert on, because the activity is permitted there.
PERMITTED = {("street_stall", "market")}


@dataclass
class Outcome:
    """An event after a verb, whether it was newly created, and the alerts to publish.

    After an ingest, ``sighting`` is the candidate's row (None for a retry, ``retried``).
    """

    event: Event
    created: bool = False
    alerts: list[dict[str, Any]] = field(default_factory=list)
    sighting: Sighting | None = None
    retried: bool = False

    @property
    def merged(self) -> bool:
        """Whether the candidate joined an event that existed before it."""
        return self.sighting is not None and not self.created


def event_public(event: Event) -> EventPublic:
    view = EventPublic.model_validate(event)
    view.allowed_next = sorted(allowed_next(event.state))
    return view


def transition_alert(
    event: Event, entry: AuditEntry, session: Session | None = None, team_ids: list[str] | None = None
) -> dict[str, Any]:
    """The live-alert message for one transition; `team_ids` says which ground teams may see it."""
    if team_ids is None and session is not None and event.id is not None:
        team_ids = sorted({t for t in session.exec(
            select(Task.team_id).where(Task.event_id == event.id, Task.team_id.is_not(None))).all()})
    return {
        "team_ids": team_ids or [],
        "kind": "transition",
        "event_id": event.id,
        "from": entry.from_state,
        "to": entry.to_state,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "reason": entry.reason,
        "event": event_public(event).model_dump(mode="json"),
    }


def no_event(event_id: int) -> NotFound:
    """The answer for an event that does not exist, or that the reader may not see: the same
    words for both, so a ground team cannot tell another team's event from a missing id."""
    return NotFound(f"no event with id {event_id}; list events with GET /api/v1/events")


def _locked_event(session: Session, event_id: int) -> Event:
    # populate_existing: the row as the lock sees it, not a copy the session read before (with a
    # stale state, two processes would both pass the transition check).
    event = session.exec(select(Event).where(Event.id == event_id).with_for_update()
                         .execution_options(populate_existing=True)).first()
    if event is None:
        raise no_event(event_id)
    return event


def lock_event(session: Session, event_id: int) -> Event:
    """The event, locked for this transaction and read fresh; NotFound when there is none."""
    return _locked_event(session, event_id)


def find_by_source_key(session: Session, source: str, source_event_id: str) -> Event | None:
    """The event a candidate with this key opened or was merged into, if it was stored."""
    return session.exec(
        select(Event).join(Sighting, Sighting.event_id == Event.id)
        .where(Sighting.source == source, Sighting.source_event_id == source_event_id)
    ).first()


def ingest(
    session: Session, candidate: CandidateIn, *, zones: ZoneIndex, actor: str, now: datetime,
    merge_rules: MergeRules | None = None, place_locked: bool = False,
) -> Outcome:
    """Store a candidate: a further sighting of the event it belongs to (``api.lifecycle.merge``),
    or a new event, `detected`, then alerted or rejected by the zone rules.

    The caller commits. Idempotency on (source, source_event_id) is the database's unique
    constraint on sightings: a retry fails to insert, and `ingest_committed` returns the stored
    event instead (no look-up first: retries are rare, and the constraint is right even under
    races). ``place_locked``: the transaction holds the candidate's place already
    (`ingest_all_committed` locks a batch's places together).
    """
    rules = merge_rules or MergeRules(radius_m=0)
    found_at = candidate.detected_at or now
    kind = candidate.type.value
    if rules.enabled:
        if not place_locked:
            merge.lock_place(session, kind, candidate.lat, candidate.lon, rules.radius_m)
        home = merge.find_home(session, kind, candidate.lat, candidate.lon, found_at, rules)
        if home is not None:
            sighting, entry = merge.attach(session, home, candidate, actor=actor, at=found_at,
                                           now=now, rules=rules)
            outcome = Outcome(home.event, sighting=sighting)
            if home.kind == merge.MERGED:  # the operators see the event's new figures
                outcome.alerts.append(sighting_alert(home.event, sighting, entry,
                                                     team_ids=writes.team_ids(session, home.event.id)))
            return outcome
    place = zones.locate(candidate.lat, candidate.lon)
    event = Event(
        type=kind,
        state=State.DETECTED,
        lat=candidate.lat,
        lon=candidate.lon,
        confidence=candidate.confidence,
        source=candidate.source,
        source_event_id=candidate.source_event_id,
        position_error_m=candidate.position_error_m,
        sightings=candidate.sightings,
        candidates=1,
        last_seen_at=found_at,
        detector_drone_id=candidate.drone_id,
        report_note=candidate.note,
        model_version=candidate.model_version,
        zone_id=place.zone_id,
        zone_name=place.zone_name,
        zone_kind=place.zone_kind,
        target_s=place.target_s,
    )
    if candidate.drone_id:  # found on a merged patrol flight? (one query, on the drone index)
        event.patrol_flight_id = flight_of_drone(session, candidate.drone_id, found_at)
    entries = [creation(event, actor=actor, at=found_at, reason=f"from {candidate.source}")]
    entries.append(_zone_rules(event, place, now=now))
    sighting = merge.new_sighting(candidate, event_id=None, kind=merge.FIRST, at=found_at)
    merge.refit(event, [sighting])  # starts the running fit (the figures are the candidate's)
    # Three INSERTs in Core (api/lifecycle/writes.py); the unique source keys refuse a retried
    # candidate at the first of them.
    writes.insert(session, [event])
    for entry in entries:
        entry.event_id = event.id
    writes.insert(session, entries, keep=False)
    sighting.event_id = event.id
    writes.insert(session, [sighting])
    outcome = Outcome(event, created=True, sighting=sighting)
    outcome.alerts.extend(transition_alert(event, entry, team_ids=[]) for entry in entries)
    return outcome


def _zone_rules(event: Event, place: Place, *, now: datetime) -> AuditEntry:
    """Alert a new event, or reject it where its activity is permitted (a market's stalls);
    the audit row (not added to the session)."""
    refusal = next((kind for kind in place.kinds if (event.type, kind) in PERMITTED), None)
    if refusal:
        entry = transition(event, State.REJECTED, actor="system", at=now,
                           reason=f"{event.type} is permitted inside a {refusal} zone")
        event.reject_reason = entry.reason
        return entry
    return transition(event, State.ALERTED, actor="system", at=now, reason="passed zone rules")


def sighting_alert(event: Event, sighting: Sighting, entry: AuditEntry,
                   session: Session | None = None, team_ids: list[str] | None = None
                   ) -> dict[str, Any]:
    """The live message for a sighting merged into an open event (no transition)."""
    message = transition_alert(event, entry, session, team_ids)
    message.update(kind="sighting", sighting_id=sighting.id, drone_id=sighting.drone_id,
                   distance_m=sighting.distance_m, source=sighting.source,
                   source_event_id=sighting.source_event_id)
    return message


def ingest_committed(
    session: Session, candidate: CandidateIn, *, zones: ZoneIndex, actor: str, now: datetime,
    merge_rules: MergeRules | None = None,
) -> Outcome:
    """`ingest` and commit; a retry of a stored candidate returns its event, created=False."""
    try:
        outcome = ingest(session, candidate, zones=zones, actor=actor, now=now,
                         merge_rules=merge_rules)
        session.commit()
        return outcome
    except IntegrityError:
        session.rollback()
        existing = find_by_source_key(session, candidate.source, candidate.source_event_id)
        if existing is None:
            raise
        return Outcome(existing, created=False, retried=True)


def ingest_all_committed(
    session: Session, candidates: list[CandidateIn], *, zones: ZoneIndex, actor: str,
    now: datetime, merge_rules: MergeRules | None = None,
    each: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome] | None:
    """`ingest` every candidate in one transaction and commit once; ``each(i, outcome)`` runs
    after the i-th (to attach its snapshot). None, with nothing stored, when one of them was
    stored before (a retry): the caller then stores them one by one with `ingest_committed`.

    The places of the whole batch are locked first, together (`merge.lock_places`): two
    batches over the same places in different orders queue instead of deadlocking."""
    rules = merge_rules or MergeRules(radius_m=0)
    try:
        if rules.enabled:
            merge.lock_places(session, [(c.type.value, c.lat, c.lon) for c in candidates],
                              rules.radius_m)
        outcomes = []
        for i, candidate in enumerate(candidates):
            outcomes.append(ingest(session, candidate, zones=zones, actor=actor, now=now,
                                   merge_rules=rules, place_locked=True))
            if each is not None:
                each(i, outcomes[-1])
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return outcomes


def split(
    session: Session, event_id: int, sighting_id: int, *, reason: str, zones: ZoneIndex,
    actor: str, now: datetime,
) -> tuple[Outcome, Outcome]:
    """Undo a wrong merge: ``sighting_id`` leaves ``event_id`` and opens its own event.

    The new event is alerted (or rejected) by the zone rules like any new one; the old event's
    position and confidence are refitted from the sightings it keeps. Both audit trails say so.
    Returns (the old event's outcome, the new event's outcome); the caller commits.
    """
    old = _locked_event(session, event_id)
    sighting = session.exec(select(Sighting).where(Sighting.id == sighting_id,
                                                   Sighting.event_id == event_id)
                            .with_for_update()).first()
    if sighting is None:
        raise NotFound(f"event {event_id} has no sighting {sighting_id}; its sightings are "
                       f"listed by GET /api/v1/events/{event_id}/sightings")
    if sighting.kind == merge.FIRST:
        raise Conflict(f"sighting {sighting_id} opened event {event_id} and stays its alert; "
                       "split off the sightings merged into it instead")
    place = zones.locate(sighting.lat, sighting.lon)
    new = Event(type=old.type, state=State.DETECTED, lat=sighting.lat, lon=sighting.lon,
                confidence=sighting.confidence, source=sighting.source,
                source_event_id=sighting.source_event_id,
                position_error_m=sighting.position_error_m, sightings=sighting.frames,
                candidates=1, last_seen_at=sighting.detected_at,
                detector_drone_id=sighting.drone_id, report_note=sighting.note,
                model_version=sighting.model_version,
                zone_id=place.zone_id, zone_name=place.zone_name, zone_kind=place.zone_kind,
                target_s=place.target_s)
    merge.refit(new, [sighting])  # starts its running fit
    entries = [record_creation(session, new, actor=actor, at=sighting.detected_at,
                               reason=f"split from event {event_id}: {reason}")]
    entries.append(_zone_rules(new, place, now=now))
    session.add(entries[-1])
    session.flush()
    sighting.event_id, sighting.kind, sighting.distance_m = new.id, merge.SPLIT, None
    session.add(sighting)
    session.flush()
    merge.refit(old, merge.sightings_of(session, event_id))
    session.add(old)
    note = AuditEntry(event_id=event_id, at=now, actor=actor, from_state=old.state,
                      to_state=old.state,
                      reason=f"sighting {sighting_id} from {sighting.drone_id or sighting.source} "
                             f"split off into event {new.id}: {reason}")
    session.add(note)
    session.flush()
    old_outcome = Outcome(old, alerts=[transition_alert(old, note, session)])
    new_outcome = Outcome(new, created=True, sighting=sighting,
                          alerts=[transition_alert(new, entry) for entry in entries])
    return old_outcome, new_outcome


def review(
    session: Session, event_id: int, *, confirm: bool, reason: str | None, actor: str, now: datetime,
    offence_rules: offences.OffenceRules | None = None, box_xyxy: list[float] | None = None,
    corrected_type: str | None = None,
) -> Outcome:
    """Confirm or reject an event; the verdict on its snapshot is kept as a labelled sample
    (``reviews.record_sample``), with the operator's corrected box or class when given."""
    event = _locked_event(session, event_id)
    to_state = State.CONFIRMED if confirm else State.REJECTED
    detected_type = event.type
    retype = confirm and corrected_type is not None and corrected_type != event.type
    if retype:
        note = f"class corrected: {detected_type} → {corrected_type}"
        reason = f"{reason}; {note}" if reason else note
    entry = apply_transition(session, event, to_state, actor=actor, at=now, reason=reason)
    if retype:  # after the transition was allowed: a refused review changes nothing
        event.type = corrected_type
    reviews.record_sample(session, event, confirm=confirm, detected_type=detected_type,
                          box_xyxy=box_xyxy, actor=actor, now=now)
    if not confirm:
        event.reject_reason = reason
    else:  # first offence or repeat (首违免罚), decided once, now
        offences.assess(session, event, now=now, rules=offence_rules)
    return Outcome(event, alerts=[transition_alert(event, entry, session)])


def assign(
    session: Session, event_id: int, body: AssignIn, *, actor: str, now: datetime
) -> tuple[Outcome, list[Task]]:
    """Task a drone and/or a team with the event and mark it `assigned`."""
    event = _locked_event(session, event_id)
    tasks: list[Task] = []
    if body.drone_id:
        if session.get(Drone, body.drone_id) is None:
            raise NotFound(f"no drone '{body.drone_id}'; list drones with GET /api/v1/drones")
        tasks.append(Task(event_id=event_id, kind="drone", drone_id=body.drone_id, eta_s=body.eta_s,
                          at_risk=body.at_risk, created_by=actor, created_at=now))
    if body.team_id:
        team = session.get(GroundTeam, body.team_id)
        if team is None:
            raise NotFound(f"no ground team '{body.team_id}'; list teams with GET /api/v1/teams")
        tasks.append(Task(event_id=event_id, kind="team", team_id=body.team_id,
                          created_by=actor, created_at=now))
        team.status = "busy"
        team.updated_at = now
        session.add(team)
    reason = body.reason or ", ".join(
        f"{t.kind} {t.drone_id or t.team_id}" + (f" eta {t.eta_s:.0f} s" if t.eta_s else "")
        for t in tasks
    )
    entry = apply_transition(session, event, State.ASSIGNED, actor=actor, at=now, reason=reason)
    event.at_risk = event.at_risk or body.at_risk
    for task in tasks:
        session.add(task)
    team_ids = [t.team_id for t in tasks if t.team_id]
    return Outcome(event, alerts=[transition_alert(event, entry, session, team_ids)]), tasks


def team_task(session: Session, event_id: int, team_id: str) -> Task:
    """The open task of `team_id` on the event; NotFound, as for a missing event, if the team
    has none."""
    task = session.exec(
        select(Task).where(Task.event_id == event_id, Task.team_id == team_id,
                           Task.state != "cancelled")
    ).first()
    if task is None:
        raise no_event(event_id)
    return task


def on_scene(
    session: Session, event_id: int, *, actor: str, now: datetime, team_id: str | None,
    reason: str | None = None,
) -> Outcome:
    """Record arrival: the drone is over the event or the team checked in."""
    event = _locked_event(session, event_id)
    if team_id is not None:
        task = team_task(session, event_id, team_id)
        task.state, task.on_scene_at = "on_scene", now
        session.add(task)
        if event.state == State.ON_SCENE:
            return Outcome(event)  # the drone got there first; the team's check-in is on its task
    entry = apply_transition(session, event, State.ON_SCENE, actor=actor, at=now,
                             reason=reason or ("team checked in" if team_id else None))
    return Outcome(event, alerts=[transition_alert(event, entry, session)])


def resolve(
    session: Session, event_id: int, *, disposition: str, note: str | None, actor: str,
    now: datetime, team_id: str | None, auto_evaluate: bool,
) -> Outcome:
    event = _locked_event(session, event_id)
    if team_id is not None:
        team_task(session, event_id, team_id)
    entry = apply_transition(session, event, State.RESOLVED, actor=actor, at=now,
                             reason=f"disposition {disposition}")
    event.disposition = disposition
    event.resolution_note = note
    for task in session.exec(select(Task).where(Task.event_id == event_id)).all():
        if task.state not in ("done", "cancelled"):
            task.state, task.done_at = "done", now
            session.add(task)
        if task.team_id:
            team = session.get(GroundTeam, task.team_id)
            if team is not None and team.status == "busy":
                team.status, team.updated_at = "available", now
                session.add(team)
    outcome = Outcome(event, alerts=[transition_alert(event, entry, session)])
    if auto_evaluate:
        outcome.alerts.append(_evaluate(session, event, actor="system", now=now))
    return outcome


def evaluate(session: Session, event_id: int, *, actor: str, now: datetime) -> Outcome:
    event = _locked_event(session, event_id)
    return Outcome(event, alerts=[_evaluate(session, event, actor=actor, now=now)])


def response_figures(event: Event) -> tuple[float | None, bool | None, float | None]:
    """(response time s, within target, time to resolve s) from the stored stage times.

    Response time is on_scene − alerted (ARCHITECTURE.md); an event never reached has none and
    did not meet its target. Time to resolve runs from alerted to resolved.
    """
    response_s = within = resolve_s = None
    if event.alerted_at and event.on_scene_at:
        response_s = (event.on_scene_at - event.alerted_at).total_seconds()
        within = response_s <= event.target_s
    elif event.state != State.REJECTED and event.reviewed_at is not None:
        within = False
    if event.alerted_at and event.resolved_at:
        resolve_s = (event.resolved_at - event.alerted_at).total_seconds()
    return response_s, within, resolve_s


def _evaluate(session: Session, event: Event, *, actor: str, now: datetime) -> dict[str, Any]:
    entry = apply_transition(session, event, State.EVALUATED, actor=actor, at=now,
                             reason="figures frozen")
    event.response_time_s, event.within_target, event.time_to_resolve_s = response_figures(event)
    return transition_alert(event, entry, session)


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
