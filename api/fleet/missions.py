"""What the fleet did, written down: the dispatch worker's reads and writes, one session each.

``record_update`` turns one ``dispatch.MissionUpdate`` into lifecycle verbs and audit rows (the
mapping is in ``api.fleet.dispatcher``'s docstring); the rest are the reads the worker plans
with and the drones' last states it stores. Each takes the caller's session and commits nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.core.errors import NotFound
from api.core.models import (
    AuditEntry,
    DispatchClaim,
    Drone,
    DroneClaim,
    Event,
    GroundTeam,
    Task,
)
from api.core.settings import PersuasionRule
from api.enforcement.persuasion import rule_of
from api.lifecycle import events as verbs
from api.lifecycle.misses import miss_audit
from api.lifecycle.schemas import AssignIn
from api.lifecycle.states import OPEN_STATES, State
from dispatch.dispatcher import DroneView, MissionUpdate
from dispatch.fleet import FleetEntry
from dispatch.planner import Incident
from dispatch.teams import TeamStatus, ranked_teams

ACTOR = "dispatch"

# Why a drone arrived late: (event, (drone id, planned eta s, sent s after alert) or None) ->
# (reason, detail) or None when nothing noted can tell (api.fleet.misses).
MissJudge = Callable[[Event, "tuple[str, float, float] | None"], "tuple[str, str] | None"]


# ---------------------------------------------------------------- reads for planning


def sync_fleet(session: Session, entries: Sequence[FleetEntry]) -> None:
    """Store the fleet file's drones as Drone rows (their URL and dock updated)."""
    for e in entries:
        row = session.get(Drone, e.id) or Drone(id=e.id, name=e.name or e.id,
                                                 dock_lat=e.dock_lat, dock_lon=e.dock_lon)
        row.mavlink_url, row.dock_lat, row.dock_lon = e.url, e.dock_lat, e.dock_lon
        session.add(row)


def registered_fleet(session: Session) -> list[FleetEntry]:
    """The registered drones that have a URL (MAVLink or ``dji+mqtt://``), as fleet entries."""
    rows = session.exec(select(Drone).where(Drone.mavlink_url.is_not(None))).all()
    return [FleetEntry(r.id, r.mavlink_url, r.dock_lat, r.dock_lon, r.name) for r in rows]


def _incident(event: Event, now: datetime) -> Incident:
    waited = (now - event.alerted_at).total_seconds() if event.alerted_at else 0.0
    return Incident(event.id, event.lat, event.lon, event.target_s, max(waited, 0.0))


def incident(session: Session, event_id: int, *, now: datetime) -> tuple[Event, Incident]:
    """The event (detached) and the planner's view of it (time waited since it was alerted)."""
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"no event with id {event_id}; list events with GET /api/v1/events")
    session.expunge(event)
    return event, _incident(event, now)


def confirmed_incidents(session: Session, *, now: datetime) -> list[Incident]:
    """Every confirmed event, oldest alert first, as the planner sees it."""
    events = session.exec(select(Event).where(Event.state == State.CONFIRMED)
                          .order_by(Event.alerted_at)).all()
    return [_incident(e, now) for e in events]


LIVE_DRONE_TASK = ("assigned", "accepted", "on_scene")


def left_in_flight(session: Session, *, now: datetime
                   ) -> tuple[list[tuple[Incident, str, bool]],
                              list[tuple[Incident, list[str], datetime]]]:
    """What a dispatcher that died left behind, for a restarted (or new leading) service to take
    up, from one read of the open events' drone tasks:

    - in flight: the events a drone is (as far as the database knows) on, each with that drone
      and whether it reached the scene (``Dispatcher.resume``);
    - queued: the events flown once whose drones were all replaced and none is on them now
      (assigned, no live drone task), each with the drones that failed it, oldest first, and
      when it was queued as far as the database knows (its newest drone task's creation)
      (``Dispatcher.requeue``).
    """
    rows = session.exec(
        select(Event, Task).join(Task, Task.event_id == Event.id)
        .where(Event.state.in_((State.ASSIGNED, State.ON_SCENE)), Task.kind == "drone")
        .order_by(Event.id, Task.id)).all()
    by_event: dict[int, tuple[Event, list[Task]]] = {}
    for event, task in rows:
        by_event.setdefault(event.id, (event, []))[1].append(task)
    flying, queued = [], []
    for event, tasks in by_event.values():
        live = [t for t in tasks if t.state in LIVE_DRONE_TASK]
        if live:  # the newest live drone task
            flying.append((_incident(event, now), live[-1].drone_id, live[-1].on_scene_at is not None))
        elif event.state == State.ASSIGNED:
            failed = list(dict.fromkeys(t.drone_id for t in tasks if t.drone_id))
            queued.append((_incident(event, now), failed, max(t.created_at for t in tasks)))
    return flying, queued


def team_statuses(session: Session) -> list[TeamStatus]:
    """Every ground team, where it is and whether it is free."""
    return [TeamStatus(t.id, t.lat, t.lon, t.status == "available", t.name)
            for t in session.exec(select(GroundTeam)).all()]


def teams_on_scene(session: Session, event_ids: Sequence[int]) -> list[int]:
    """Those of ``event_ids`` whose ground team has checked in."""
    rows = session.exec(select(Task.event_id).where(
        Task.event_id.in_(event_ids), Task.kind == "team", Task.on_scene_at.is_not(None))).all()
    return sorted(set(rows))


def store_drone_states(session: Session, views: Sequence[DroneView], *, status_of: Any,
                       now: datetime) -> None:
    """Keep each drone's last position, mode, battery and status (``status_of(view)``)."""
    for v in views:
        row = session.get(Drone, v.id)
        if row is None:
            continue
        t = v.telemetry
        row.lat, row.lon, row.alt_rel_m = t.lat, t.lon, t.alt_rel_m
        row.mode, row.battery_pct = t.mode, t.battery_pct
        row.status = status_of(v)
        row.updated_at = now
        session.add(row)


# ---------------------------------------------------------------- who flies it


def claim(session: Session, event_id: int, *, owner: str, now: datetime,
          lease_s: float) -> bool:
    """Whether ``owner`` may command a drone for ``event_id`` now: it holds the event's claim,
    or took it (no claim yet, or the holder has not renewed it for ``lease_s`` while the event
    is still waiting for a drone). The caller commits; a second claimer racing for the same row
    is refused by the primary key or the conditional update, never by a check made earlier."""
    row = session.exec(select(DispatchClaim).where(DispatchClaim.event_id == event_id)
                       .with_for_update().execution_options(populate_existing=True)).first()
    if row is None:
        try:
            with session.begin_nested():  # a lost race undoes this insert only
                session.add(DispatchClaim(event_id=event_id, owner=owner, claimed_at=now))
        except IntegrityError:
            return False
        return True
    if row.owner != owner:
        event = session.get(Event, event_id)
        stale = row.claimed_at + timedelta(seconds=lease_s) < now
        if not (stale and event is not None and event.state == State.CONFIRMED):
            return False
        taken = session.execute(
            sa.update(DispatchClaim)
            .where(DispatchClaim.event_id == event_id, DispatchClaim.owner == row.owner,
                   DispatchClaim.claimed_at == row.claimed_at)
            .values(owner=owner, claimed_at=now))
        return taken.rowcount == 1
    row.claimed_at = now
    session.add(row)
    return True


def claim_drone(session: Session, drone_id: str, event_id: int, *, owner: str, now: datetime,
                lease_s: float) -> bool:
    """Whether ``owner`` may command ``drone_id`` for ``event_id`` now: it holds the drone's
    claim, or takes it because there is none, the holder gave it up, or the holder's claim is for
    an event no longer open or was not renewed for ``lease_s``. The caller commits."""
    row = session.exec(select(DroneClaim).where(DroneClaim.drone_id == drone_id)
                       .with_for_update().execution_options(populate_existing=True)).first()
    if row is None:
        try:
            with session.begin_nested():
                session.add(DroneClaim(drone_id=drone_id, event_id=event_id, owner=owner,
                                       claimed_at=now))
        except IntegrityError:
            return False
        return True
    if row.owner != owner:
        held = session.get(Event, row.event_id)
        live = held is not None and held.state in OPEN_STATES and \
            row.claimed_at + timedelta(seconds=lease_s) >= now
        if live:
            return False
    taken = session.execute(
        sa.update(DroneClaim)
        .where(DroneClaim.drone_id == drone_id, DroneClaim.owner == row.owner,
               DroneClaim.claimed_at == row.claimed_at)
        .values(owner=owner, event_id=event_id, claimed_at=now))
    return taken.rowcount == 1


def renew_drone_claims(session: Session, drone_ids: Sequence[str], *, owner: str,
                       now: datetime) -> None:
    """Keep ``owner``'s claims on the drones it flies alive."""
    if drone_ids:
        session.execute(sa.update(DroneClaim).where(DroneClaim.owner == owner,
                                                    DroneClaim.drone_id.in_(drone_ids))
                        .values(claimed_at=now))


def _give_up_drone(session: Session, drone_id: str | None, event_id: int) -> None:
    if drone_id is not None:
        session.execute(sa.delete(DroneClaim).where(DroneClaim.drone_id == drone_id,
                                                    DroneClaim.event_id == event_id))


# ---------------------------------------------------------------- dispatch -> database


def record_update(session: Session, update: MissionUpdate, *, rules: Sequence[PersuasionRule],
                  first_unserved: bool = True, miss: MissJudge | None = None
                  ) -> list[dict[str, Any]]:
    """Write one mission update; returns the alerts to publish once committed.

    ``first_unserved`` is False when an ``unserved`` update for the event was written before
    (the dispatcher retries every few seconds; the audit trail says it once). ``miss`` judges
    why a drone arrived after the target (``api.fleet.misses``); its answer is written as an
    audit row (``api.lifecycle.misses``).
    """
    if update.incident_id is None or not isinstance(update.incident_id, int):
        return []
    try:  # locked and read fresh: the checks below must see what another process committed
        event = verbs.lock_event(session, update.incident_id)
    except NotFound:
        return []
    if update.kind == "assigned":
        return _assigned(session, event, update, rules)
    if update.kind == "on_scene":
        return _on_scene(session, event, update, miss)
    if update.kind in ("overridden", "replaced", "released"):  # this drone's mission is over
        _give_up_drone(session, update.drone_id, event.id)
    if update.kind == "overridden":
        _overridden(session, event, update)
    elif update.kind == "replaced":
        _cancel_drone_task(session, event, update.drone_id)  # never taken up after a restart
        _audit(session, event, update.at, f"drone replaced: {update.reason}{_sent(update)}")
    elif update.kind == "unserved" and first_unserved:
        event.at_risk = True
        session.add(event)
        _audit(session, event, update.at, f"no drone sent: {update.reason}")
    elif update.kind == "released":
        _released(session, event, update)
    elif update.kind == "recalled":
        _audit(session, event, update.at, f"drone {update.drone_id} recalled: {update.reason}"
                                          f"{_sent(update)}")
    elif update.kind == "resumed":
        _audit(session, event, update.at, f"drone {update.drone_id} re-linked after a restart, "
                                          f"not re-sent: {update.reason}")
    return []


def _sent(u: MissionUpdate) -> str:
    """" over dji: return_home" — the protocol and the method behind an update, when known."""
    if u.protocol is None:
        return ""
    return f" over {u.protocol}" + (f": {u.method}" if u.method else "")


def _assigned(session: Session, event: Event, u: MissionUpdate,
              rules: Sequence[PersuasionRule]) -> list[dict[str, Any]]:
    reason = f"drone {u.drone_id} accepted its first command{_sent(u)}; eta {u.eta_s:.0f} s" + \
        (" (at risk)" if u.at_risk else "") + (f"; {u.reason}" if u.reason else "")
    if event.state == State.CONFIRMED:
        teams = ranked_teams(
            [TeamStatus(t.id, t.lat, t.lon, t.status == "available")
             for t in session.exec(select(GroundTeam)).all()], event.lat, event.lon)
        team_id = teams[0].team_id if teams and teams[0].available else None
        if rule_of(rules, event) is not None:
            team_id = None
            reason += "; no ground team yet: the drone's speaker warns first (persuasion rule)"
        outcome, _ = verbs.assign(
            session, event.id,
            AssignIn(drone_id=u.drone_id, team_id=team_id, eta_s=u.eta_s, at_risk=u.at_risk,
                     reason=reason),
            actor=ACTOR, now=u.at)
        return outcome.alerts
    # a replacement: the old drone's task is cancelled, the new one recorded
    for task in session.exec(select(Task).where(Task.event_id == event.id,
                                                Task.kind == "drone",
                                                Task.state.not_in(("done", "cancelled")))):
        task.state = "cancelled"
        session.add(task)
    session.add(Task(event_id=event.id, kind="drone", drone_id=u.drone_id, eta_s=u.eta_s,
                     at_risk=u.at_risk, created_by=ACTOR, created_at=u.at))
    event.at_risk = event.at_risk or u.at_risk
    session.add(event)
    _audit(session, event, u.at, reason)
    return []


def _on_scene(session: Session, event: Event, u: MissionUpdate,
              miss: MissJudge | None) -> list[dict[str, Any]]:
    for task in session.exec(select(Task).where(Task.event_id == event.id,
                                                Task.drone_id == u.drone_id,
                                                Task.state == "assigned")):
        task.state, task.on_scene_at = "on_scene", u.at
        session.add(task)
    if event.state != State.ASSIGNED:
        return []
    outcome = verbs.on_scene(session, event.id, actor=f"{ACTOR}:{u.drone_id}", now=u.at,
                             team_id=None, reason=f"drone {u.drone_id} {u.reason}{_sent(u)}")
    event.response_time_s, event.within_target, _ = verbs.response_figures(event)
    session.add(event)
    if event.within_target is False and miss is not None:
        judged = miss(event, _first_sent(session, event))
        if judged is not None:
            session.add(miss_audit(event, reason=judged[0], detail=judged[1], actor=ACTOR,
                                   at=u.at))
    return outcome.alerts


def _first_sent(session: Session, event: Event) -> tuple[str, float, float] | None:
    """The first drone the plan sent (replaced or not): its id, planned ETA, and seconds after
    the alert it was sent; None when unknown."""
    task = session.exec(select(Task).where(Task.event_id == event.id, Task.kind == "drone")
                        .order_by(Task.id)).first()
    if task is None or task.eta_s is None or event.alerted_at is None:
        return None
    return task.drone_id, task.eta_s, (task.created_at - event.alerted_at).total_seconds()


def _overridden(session: Session, event: Event, u: MissionUpdate) -> None:
    """Another ground station took the drone: its task ends here, whatever comes next."""
    _cancel_drone_task(session, event, u.drone_id)
    _audit(session, event, u.at, f"drone {u.drone_id} taken over by another ground station "
                                 f"({u.mode_from} → {u.mode_to}): {u.reason}")


def _cancel_drone_task(session: Session, event: Event, drone_id: str | None) -> None:
    for task in session.exec(select(Task).where(Task.event_id == event.id, Task.kind == "drone",
                                                Task.drone_id == drone_id,
                                                Task.state.not_in(("done", "cancelled")))):
        task.state = "cancelled"
        session.add(task)


def _released(session: Session, event: Event, u: MissionUpdate) -> None:
    for task in session.exec(select(Task).where(Task.event_id == event.id,
                                                Task.drone_id == u.drone_id)):
        if task.state not in ("done", "cancelled"):
            task.state, task.done_at = "done", u.at
            session.add(task)


def _audit(session: Session, event: Event, at: datetime, reason: str) -> None:
    # Not a transition: the state stays, and the row records why the drone changed.
    session.add(AuditEntry(event_id=event.id, at=at, actor=ACTOR, from_state=event.state,
                           to_state=event.state, reason=reason))
