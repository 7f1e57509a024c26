"""The service's dispatch worker: the fleet connected, events flown to, and the database told.

Started from the app's lifespan when a fleet is configured (``FLYONCE_FLEET_FILE``, or drones
registered with a ``mavlink_url``). It listens to the alert bus: a transition to ``confirmed``
is dispatched at once when ``FLYONCE_AUTO_ASSIGN`` is on, and a resolved or rejected event
sends its drone home. ``dispatch.Dispatcher`` reports each step; this worker turns them into
lifecycle verbs, one at a time in order, in a thread (SQL never runs on the loop):

- ``assigned``  (the drone accepted its first command) → ``assign`` with the drone, its ETA,
  the at-risk flag and the nearest free ground team; a replacement adds a new drone task and
  an audit row saying why;
- ``on_scene``  (within the arrival radius) → ``on_scene``, with the response time and whether
  it met the zone's target stored on the event at once;
- ``unserved`` → the event is marked at risk, the audit trail says why.

The drone holds over the scene until the event's ground team checks in, the event is resolved
or rejected, or an operator releases it; then it returns to launch.

Remote persuasion (api/persuasion.py): for an event a persuasion rule covers, ``assigned``
tasks the drone alone, ``on_scene`` plays the rule's warning through its speaker, and the loop
below decides the plays whose watch has ended (the nearest team is tasked then).

Every update and, once a second, every drone's state go out on the bus (``kind`` ``dispatch``
and ``drones``) for the control room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api import events as verbs
from api.bus import AlertBus
from api.clock import Clock
from api.db import writing
from api.errors import Conflict, NotFound, ServiceError
from api.lifecycle import State
from api.models import AuditEntry, Drone, Event, GroundTeam, Task
from api.persuasion import Persuader
from api.schemas import AssignIn
from api.settings import Settings
from api.zones import ZoneIndex
from dispatch.dispatcher import Dispatcher, DroneView, MissionUpdate
from dispatch.errors import DispatchError, DroneUnavailable
from dispatch.fleet import FleetEntry, load_fleet
from dispatch.planner import Assignment, Incident, Option, Planner
from dispatch.teams import TeamStatus, ranked_teams
from geofence import LocalFrame, Router

log = logging.getLogger("flyonce.api.dispatch")

ACTOR = "dispatch"


class FleetUnavailable(ServiceError):
    status_code = 503


class DispatchWorker:
    """The fleet side of the service; ``start``/``stop`` from the lifespan, verbs from routes."""

    def __init__(self, *, engine: Engine, bus: AlertBus, clock: Clock, zones: ZoneIndex,
                 settings: Settings) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.zones = zones
        self.settings = settings
        self.dispatcher: Dispatcher | None = None
        self.connect_errors: dict[str, str] = {}
        self._updates: asyncio.Queue[MissionUpdate] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._unserved_noted: set[int] = set()
        self.persuasion = Persuader(engine=engine, bus=bus, clock=clock,
                                    rules=settings.persuasion_rules,
                                    auto_evaluate=settings.auto_evaluate, dispatcher=self._require)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Connect the fleet (if any) and start listening; drones that do not answer are retried."""
        entries = await asyncio.to_thread(self._load_fleet)
        if not entries:
            log.info("no fleet configured: dispatch is off (set FLYONCE_FLEET_FILE)")
            return
        self.dispatcher = Dispatcher(entries, self._planner(entries), clock=self.clock,
                                     on_update=self._enqueue,
                                     stream_hz=self.settings.telemetry_hz)
        self._updates = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._connect(), name="dispatch-connect"),
            asyncio.create_task(self._apply_updates(), name="dispatch-updates"),
            asyncio.create_task(self._watch_bus(), name="dispatch-bus"),
            asyncio.create_task(self._publish_states(), name="dispatch-states"),
        ]

    async def _connect(self) -> None:
        # In the background: the service starts at once even when drones are slow to answer.
        assert self.dispatcher is not None
        self.connect_errors = await self.dispatcher.start(
            connect_timeout_s=self.settings.fleet_connect_timeout_s)
        for drone_id, error in self.connect_errors.items():
            log.warning("drone %s not connected (retrying): %s", drone_id, error)

    async def stop(self) -> None:
        for task in [*self._tasks, *self.persuasion.spawned]:
            task.cancel()
        for task in [*self._tasks, *self.persuasion.spawned]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.dispatcher is not None:
            await self.dispatcher.stop()

    def _planner(self, entries: list[FleetEntry]) -> Planner:
        min_lon, min_lat, max_lon, max_lat = self.zones.zone_set.bounds
        frame = LocalFrame((min_lat + max_lat) / 2, (min_lon + max_lon) / 2)
        docks = sorted({(e.dock_lat, e.dock_lon) for e in entries})
        s = self.settings
        return Planner(Router(self.zones.zone_set, frame, margin_m=s.no_fly_margin_m), docks,
                       alt_rel_m=s.hold_alt_m, hold_s=s.hold_on_scene_s,
                       arrival_radius_m=s.arrival_radius_m)

    def _load_fleet(self) -> list[FleetEntry]:
        """The fleet file's drones (stored as Drone rows), else the rows with a MAVLink URL."""
        with Session(self.engine, expire_on_commit=False) as session:
            if self.settings.fleet_file is not None:
                entries = load_fleet(self.settings.fleet_file)
                with writing(session):
                    for e in entries:
                        row = session.get(Drone, e.id) or Drone(id=e.id, name=e.name or e.id,
                                                                 dock_lat=e.dock_lat,
                                                                 dock_lon=e.dock_lon)
                        row.mavlink_url, row.dock_lat, row.dock_lon = e.url, e.dock_lat, e.dock_lon
                        session.add(row)
                    session.commit()
                return entries
            rows = session.exec(select(Drone).where(Drone.mavlink_url.is_not(None))).all()
            return [FleetEntry(r.id, r.mavlink_url, r.dock_lat, r.dock_lon, r.name) for r in rows]

    # ---------------------------------------------------------------- verbs for routes

    def _require(self) -> Dispatcher:
        if self.dispatcher is None:
            raise FleetUnavailable("no fleet is connected; set FLYONCE_FLEET_FILE (a TOML file of "
                                   "[[drone]] id, url, dock) or register drones with a mavlink_url "
                                   "and restart")
        return self.dispatcher

    def drones(self) -> list[DroneView]:
        return self._require().drones()

    def incident(self, event_id: int) -> tuple[Event, Incident]:
        """The event and the planner's view of it (time waited since it was alerted)."""
        with Session(self.engine) as session:
            event = session.get(Event, event_id)
            if event is None:
                raise NotFound(f"no event with id {event_id}; list events with GET /api/v1/events")
            session.expunge(event)
        waited = (self.clock.now() - event.alerted_at).total_seconds() if event.alerted_at else 0.0
        return event, Incident(event.id, event.lat, event.lon, event.target_s, max(waited, 0.0))

    def suggestions(self, event_id: int) -> tuple[Event, Incident, list[Option], list[Any]]:
        """The drones ranked for an event, and the ground teams by distance."""
        event, incident = self.incident(event_id)
        options = self._require().suggest(incident)
        return event, incident, options, ranked_teams(self._teams(), event.lat, event.lon)

    async def dispatch_event(self, event_id: int, drone_id: str | None = None) -> Assignment:
        """Fly the best drone (or ``drone_id``) to a confirmed event."""
        dispatcher = self._require()
        event, incident = await asyncio.to_thread(self.incident, event_id)
        if event.state != State.CONFIRMED and not (
            event.state in (State.ASSIGNED, State.ON_SCENE) and event_id not in dispatcher.missions
        ):
            raise Conflict(f"event {event_id} is '{event.state}'; only a confirmed event can be "
                           "dispatched (confirm it first with POST /events/{id}/review)")
        try:
            return await dispatcher.dispatch(incident, drone_id=drone_id)
        except DroneUnavailable as exc:
            raise Conflict(str(exc)) from exc

    async def assign_waiting(self) -> list[Assignment]:
        """Fly drones to every confirmed event still without one, planned jointly.

        Events are ranked together (fewest missed targets, then least total ETA), so a burst of
        confirmations does not give the first one the drone a later one needed more.
        """
        dispatcher = self._require()
        incidents = await asyncio.to_thread(self._waiting)
        incidents = [i for i in incidents if i.id not in dispatcher.missions
                     or dispatcher.missions[i.id].stage == "failed"]
        if not incidents:
            return []
        return await dispatcher.dispatch_many(incidents)

    def _waiting(self) -> list[Incident]:
        now = self.clock.now()
        with Session(self.engine) as session:
            events = session.exec(select(Event).where(Event.state == State.CONFIRMED)
                                  .order_by(Event.alerted_at)).all()
            return [Incident(e.id, e.lat, e.lon, e.target_s,
                             max((now - e.alerted_at).total_seconds(), 0.0) if e.alerted_at else 0.0)
                    for e in events]

    async def release(self, event_id: int) -> None:
        """Send the event's drone home."""
        try:
            await self._require().release(event_id)
        except KeyError as exc:
            raise NotFound(f"no drone is on event {event_id}") from exc

    async def patrol(self, drone_id: str, waypoints: list[tuple[float, float]]) -> int:
        try:
            return await self._require().patrol(drone_id, waypoints)
        except DroneUnavailable as exc:
            raise Conflict(str(exc)) from exc
        except DispatchError as exc:
            raise FleetUnavailable(f"patrol upload to {drone_id} failed: {exc}") from exc

    def _teams(self) -> list[TeamStatus]:
        with Session(self.engine) as session:
            return [TeamStatus(t.id, t.lat, t.lon, t.status == "available", t.name)
                    for t in session.exec(select(GroundTeam)).all()]

    # ---------------------------------------------------------------- bus → dispatch

    async def _watch_bus(self) -> None:
        async with self.bus.subscribe() as queue:
            while True:
                message = await queue.get()
                if message.get("kind") != "transition":
                    continue
                event_id, to_state = message.get("event_id"), message.get("to")
                try:
                    if to_state == State.CONFIRMED and self.settings.auto_assign:
                        await self.assign_waiting()
                    elif to_state in (State.RESOLVED, State.REJECTED, State.EVALUATED) and \
                            self.dispatcher is not None and event_id in self.dispatcher.missions \
                            and not self.dispatcher.missions[event_id].released.is_set():
                        await self.dispatcher.release(event_id)
                except (ServiceError, DispatchError) as exc:
                    log.warning("dispatch of event %s failed: %s", event_id, exc)

    # ---------------------------------------------------------------- dispatch → database

    def _enqueue(self, update: MissionUpdate) -> None:
        assert self._updates is not None
        self._updates.put_nowait(update)

    async def _apply_updates(self) -> None:
        assert self._updates is not None
        while True:
            update = await self._updates.get()
            try:
                alerts = await asyncio.to_thread(self._write, update)
            except Exception:  # one bad update must not stop the rest
                log.exception("could not record %s", update)
                alerts = []
            for alert in alerts:
                self.bus.publish(alert)
            self.bus.publish({"kind": "dispatch", "team_ids": [], "update": _jsonable(update)})
            if update.kind == "on_scene" and self.persuasion.rules and \
                    isinstance(update.incident_id, int):
                self.persuasion.spawn_rule_play(update.incident_id)

    def _write(self, update: MissionUpdate) -> list[dict[str, Any]]:
        if update.incident_id is None or not isinstance(update.incident_id, int):
            return []
        with Session(self.engine, expire_on_commit=False) as session, writing(session):
            event = session.get(Event, update.incident_id)
            if event is None:
                return []
            handler = {"assigned": self._assigned, "on_scene": self._on_scene,
                       "replaced": self._note, "unserved": self._unserved,
                       "released": self._released}.get(update.kind)
            alerts = handler(session, event, update) if handler else []
            session.commit()
            return alerts

    def _assigned(self, session: Session, event: Event, u: MissionUpdate) -> list[dict[str, Any]]:
        reason = f"drone {u.drone_id} accepted its first command; eta {u.eta_s:.0f} s" + \
            (" (at risk)" if u.at_risk else "") + (f"; {u.reason}" if u.reason else "")
        if event.state == State.CONFIRMED:
            teams = ranked_teams(
                [TeamStatus(t.id, t.lat, t.lon, t.status == "available")
                 for t in session.exec(select(GroundTeam)).all()], event.lat, event.lon)
            team_id = teams[0].team_id if teams and teams[0].available else None
            if self.persuasion.rule(event) is not None:
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
        self._audit(session, event, u.at, reason)
        return []

    def _on_scene(self, session: Session, event: Event, u: MissionUpdate) -> list[dict[str, Any]]:
        for task in session.exec(select(Task).where(Task.event_id == event.id,
                                                    Task.drone_id == u.drone_id,
                                                    Task.state == "assigned")):
            task.state, task.on_scene_at = "on_scene", u.at
            session.add(task)
        if event.state != State.ASSIGNED:
            return []
        outcome = verbs.on_scene(session, event.id, actor=f"{ACTOR}:{u.drone_id}", now=u.at,
                                 team_id=None, reason=f"drone {u.drone_id} {u.reason}")
        event.response_time_s, event.within_target, _ = verbs.response_figures(event)
        session.add(event)
        return outcome.alerts

    def _note(self, session: Session, event: Event, u: MissionUpdate) -> list[dict[str, Any]]:
        self._audit(session, event, u.at, f"drone replaced: {u.reason}")
        return []

    def _unserved(self, session: Session, event: Event, u: MissionUpdate) -> list[dict[str, Any]]:
        if event.id in self._unserved_noted:
            return []  # retried every few seconds; the audit trail says it once
        self._unserved_noted.add(event.id)
        event.at_risk = True
        session.add(event)
        self._audit(session, event, u.at, f"no drone sent: {u.reason}")
        return []

    def _released(self, session: Session, event: Event, u: MissionUpdate) -> list[dict[str, Any]]:
        for task in session.exec(select(Task).where(Task.event_id == event.id,
                                                    Task.drone_id == u.drone_id)):
            if task.state not in ("done", "cancelled"):
                task.state, task.done_at = "done", u.at
                session.add(task)
        return []

    @staticmethod
    def _audit(session: Session, event: Event, at: datetime, reason: str) -> None:
        # Not a transition: the state stays, and the row records why the drone changed.
        session.add(AuditEntry(event_id=event.id, at=at, actor=ACTOR, from_state=event.state,
                               to_state=event.state, reason=reason))

    # ---------------------------------------------------------------- live drone state

    async def _publish_states(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(self.settings.drone_state_period_s)
            if self.dispatcher is None:
                continue
            views = self.dispatcher.drones()
            self.bus.publish({"kind": "drones", "team_ids": [],
                              "drones": [drone_view_json(v) for v in views]})
            tick += 1
            if tick % 5 == 0:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._store_states, views)
            await self._release_checked_in()
            with contextlib.suppress(Exception):  # logged inside; the next tick tries again
                for alert in await asyncio.to_thread(self.persuasion.check_deadlines):
                    self.bus.publish(alert)
            if self.settings.auto_assign and tick % 5 == 0:  # drones come free; try again
                with contextlib.suppress(ServiceError, DispatchError):
                    await self.assign_waiting()

    async def _release_checked_in(self) -> None:
        """Send home the drones whose event's ground team has checked in (they took over)."""
        assert self.dispatcher is not None
        holding = [m.incident.id for m in self.dispatcher.missions.values()
                   if m.stage == "on_scene" and not m.released.is_set()]
        if not holding:
            return
        checked_in = await asyncio.to_thread(self._teams_on_scene, holding)
        for event_id in checked_in:
            with contextlib.suppress(KeyError, DispatchError):
                await self.dispatcher.release(event_id)

    def _teams_on_scene(self, event_ids: list[int]) -> list[int]:
        with Session(self.engine) as session:
            rows = session.exec(select(Task.event_id).where(
                Task.event_id.in_(event_ids), Task.kind == "team",
                Task.on_scene_at.is_not(None))).all()
        return sorted(set(rows))

    def _store_states(self, views: list[DroneView]) -> None:
        now = self.clock.now()
        with Session(self.engine) as session, writing(session):
            for v in views:
                row = session.get(Drone, v.id)
                if row is None:
                    continue
                t = v.telemetry
                row.lat, row.lon, row.alt_rel_m = t.lat, t.lon, t.alt_rel_m
                row.mode, row.battery_pct = t.mode, t.battery_pct
                row.status = drone_status(v)
                row.updated_at = now
                session.add(row)
            session.commit()


def drone_status(view: DroneView) -> str:
    """One word for the map: available, on_task, patrol, offline, failsafe, unavailable."""
    if view.incident_id is not None:
        return "on_task"
    if view.on_patrol:
        return "patrol"
    if view.available:
        return "available"
    if "link" in view.reason:
        return "offline"
    if "failsafe" in view.reason:
        return "failsafe"
    return "unavailable"


def drone_view_json(view: DroneView) -> dict[str, Any]:
    """A drone's live state as JSON (times ISO 8601)."""
    t = view.telemetry
    return {
        "id": view.id, "name": view.name, "status": drone_status(view),
        "available": view.available, "reason": view.reason, "event_id": view.incident_id,
        "stage": view.stage, "lat": t.lat, "lon": t.lon, "alt_rel_m": t.alt_rel_m,
        "groundspeed_mps": t.groundspeed_mps, "mode": t.mode, "armed": t.armed,
        "battery_pct": t.battery_pct, "landed_state": t.landed_state,
        "last_heartbeat_at": t.last_heartbeat_at.isoformat() if t.last_heartbeat_at else None,
        "dock_lat": view.dock_lat, "dock_lon": view.dock_lon,
    }


def _jsonable(update: MissionUpdate) -> dict[str, Any]:
    data = asdict(update)
    data["at"] = update.at.isoformat()
    return data
