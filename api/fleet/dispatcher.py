"""The service's dispatch worker: the fleet connected, events flown to, and the database told.

Started from the app's lifespan when a fleet is configured (``FLYONCE_FLEET_FILE``, or drones
registered with a ``mavlink_url``). It listens to the alert bus: a transition to ``confirmed``
is dispatched at once when ``FLYONCE_AUTO_ASSIGN`` is on, and a resolved or rejected event
sends its drone home. ``dispatch.Dispatcher`` reports each step; this worker has them written
(``api.fleet.missions``), one at a time in order, in a thread (SQL never runs on the loop):

- ``assigned``  (the drone accepted its first command) → ``assign`` with the drone, its ETA,
  the at-risk flag and the nearest free ground team; a replacement adds a new drone task and
  an audit row saying why;
- ``on_scene``  (within the arrival radius) → ``on_scene``, with the response time and whether
  it met the zone's target stored on the event at once;
- ``unserved`` → the event is marked at risk, the audit trail says why (an event that lost its
  drone is queued by the dispatcher and gets the next drone to come free: ``assigned`` again);
- ``recalled`` (a drone replaced for a lost link is heard again and sent home) → an audit row;
- ``overridden`` (another ground station changed the drone's mode) → its drone task is cancelled
  and the audit says who took it from which mode to which; ``replaced`` follows.

Every audit row of a drone step names the protocol the drone speaks and the method that was
accepted ("over dji: takeoff_to_point", "over mavlink: MAV_CMD_DO_SET_MODE (mode GUIDED)"): a
fleet may mix MAVLink copters and DJI docks (``dispatch.links``).

After a restart (a crash included) the drones still flying to open events are re-linked and
fly on, never sent afresh (``resumed``, an audit row saying so); a drone found on the ground is
replaced.

The drone holds over the scene until the event's ground team checks in, the event is resolved
or rejected, or an operator releases it; then it returns to launch.

Remote persuasion (api/enforcement/persuasion.py): for an event a persuasion rule covers, ``assigned``
tasks the drone alone, ``on_scene`` plays the rule's warning through its speaker, and the loop
below decides the plays whose watch has ended (the nearest team is tasked then).

Every update and, once a second, every drone's state go out on the bus (``kind`` ``dispatch``
and ``drones``) for the control room.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import secrets
import socket
from datetime import datetime
from dataclasses import asdict
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.core.bus import AlertBus
from api.core.clock import Clock
from api.core.db import writing
from api.core.errors import Conflict, NotFound, ServiceError
from api.core.models import Event
from api.core.settings import Settings
from api.core.zones import ZoneIndex
from api.fleet import missions
from api.fleet.misses import Seen, bound_eta_s, judge, seen_now
from api.fleet.persuader import Persuader
from api.fleet.planning import service_router
from api.monitoring.logs import event_context
from api.monitoring.metrics import Monitor
from api.lifecycle.states import State
from dispatch.dispatcher import Dispatcher, DroneView, MissionUpdate
from dispatch.errors import DispatchError, DroneUnavailable
from dispatch.fleet import FleetEntry, load_fleet
from dispatch.links import open_link
from dispatch.patrols import PatrolDrone
from dispatch.planner import Assignment, Incident, Option, Planner
from dispatch.tasks import cancel_and_wait
from dispatch.teams import TeamStatus, ranked_teams

log = logging.getLogger("flyonce.api.dispatch")

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
        # Names this process on the events it claims (missions.claim): host, pid and a nonce.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.dispatcher: Dispatcher | None = None
        self.connect_errors: dict[str, str] = {}
        self._updates: asyncio.Queue[MissionUpdate] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._unserved_noted: set[int] = set()
        # What the fleet could do for each event when first planned, to judge a late arrival.
        self._seen: dict[int, Seen] = {}
        self._connected = False
        # Whether this process leads the cluster (api.core.leader): only the leader takes
        # initiative (auto-assign, taking over drones a dead process left flying). Routes'
        # verbs work in every process; the claims keep each command exactly-once.
        self.leads: Callable[[], bool] = lambda: True
        self.monitor = Monitor()  # the app hands in its own (api.monitoring.metrics)
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
                                     stream_hz=self.settings.telemetry_hz,
                                     link_factory=functools.partial(open_link,
                                                                    dji=dji_options(self.settings)),
                                     acquire=self._acquire)
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
        self._connected = True
        await self._resume_in_flight()

    async def stop(self) -> None:
        await cancel_and_wait([*self._tasks, *self.persuasion.spawned])
        if self.dispatcher is not None:
            await self.dispatcher.stop()

    def _planner(self, entries: list[FleetEntry]) -> Planner:
        docks = sorted({(e.dock_lat, e.dock_lon) for e in entries})
        s = self.settings
        return Planner(service_router(self.zones.zone_set, s), docks,
                       alt_rel_m=s.hold_alt_m, hold_s=s.hold_on_scene_s,
                       arrival_radius_m=s.arrival_radius_m)

    def _load_fleet(self) -> list[FleetEntry]:
        """The fleet file's drones (stored as Drone rows), else the rows with a MAVLink URL."""
        with Session(self.engine, expire_on_commit=False) as session:
            if self.settings.fleet_file is None:
                return missions.registered_fleet(session)
            entries = load_fleet(self.settings.fleet_file)
            with writing(session):
                missions.sync_fleet(session, entries)
                session.commit()
            return entries

    # ---------------------------------------------------------------- verbs for routes

    def _require(self) -> Dispatcher:
        if self.dispatcher is None:
            raise FleetUnavailable("no fleet is connected; set FLYONCE_FLEET_FILE (a TOML file of "
                                   "[[drone]] id, url, dock) or register drones with a mavlink_url "
                                   "and restart")
        return self.dispatcher

    def drones(self) -> list[DroneView]:
        return self._require().drones()

    def drone_gauges(self) -> list[dict[str, Any]]:
        """Each drone's link, battery, mode and arming, for /metrics (none without a fleet)."""
        if self.dispatcher is None:
            return []
        return [{"id": v.id, "linked": is_heard(v),
                 "battery_pct": v.telemetry.battery_pct, "mode": v.telemetry.mode,
                 "armed": v.telemetry.armed} for v in self.dispatcher.drones()]

    def patrol_drones(self) -> list[PatrolDrone] | None:
        """The connected fleet as the patrol planner sees it; None without a fleet."""
        if self.dispatcher is None:
            return None
        return [PatrolDrone(v.id, v.dock_lat, v.dock_lon) for v in self.dispatcher.drones()]

    def incident(self, event_id: int) -> tuple[Event, Incident]:
        """The event and the planner's view of it (time waited since it was alerted)."""
        with Session(self.engine) as session:
            return missions.incident(session, event_id, now=self.clock.now())

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
        if not await asyncio.to_thread(self._claim, [event_id]):
            raise Conflict(f"event {event_id} is being dispatched by another service process; "
                           "follow it on the live feed")
        await asyncio.to_thread(self._note, [incident])
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
        mine = await asyncio.to_thread(self._claim, [i.id for i in incidents])
        incidents = [i for i in incidents if i.id in mine]
        if not incidents:
            return []
        await asyncio.to_thread(self._note, incidents)
        return await dispatcher.dispatch_many(incidents)

    def _note(self, incidents: list[Incident]) -> None:
        """Note each drone's chance at events planned for the first time (``api.fleet.misses``)."""
        dispatcher = self._require()
        fresh = [i for i in incidents if isinstance(i.id, int) and i.id not in self._seen]
        if not fresh:
            return
        statuses = dispatcher.statuses()
        for incident in fresh:
            self._seen[incident.id] = seen_now(dispatcher.planner, incident, statuses)
        while len(self._seen) > 10_000:  # events never reached: forget the oldest
            self._seen.pop(next(iter(self._seen)))

    def _judge_miss(self, event: Event, sent: tuple[str, float, float] | None
                    ) -> tuple[str, str] | None:
        """Why ``event``'s drone arrived after its target (``api.fleet.misses.judge``)."""
        planner = self._require().planner
        miss = judge(target_s=event.target_s, response_s=event.response_time_s or math.inf,
                     bound_s=bound_eta_s(planner, event.lat, event.lon, event.target_s),
                     seen=self._seen.get(event.id), sent=sent)
        self.monitor.misses.labels(miss[0] if miss else "unexplained").inc()
        return miss

    async def _acquire(self, drone_id: str, event_id: str | int) -> bool:
        """The dispatcher's question before a drone's first command: may this process fly it?"""
        if not isinstance(event_id, int):
            return True  # a patrol or a test mission: no event to claim the drone for
        return await asyncio.to_thread(self._claim_drone, drone_id, event_id)

    def _claim_drone(self, drone_id: str, event_id: int) -> bool:
        with Session(self.engine) as session, writing(session):
            mine = missions.claim_drone(session, drone_id, event_id, owner=self.owner,
                                        now=self.clock.now(),
                                        lease_s=self.settings.dispatch_claim_lease_s)
            session.commit()
        return mine

    def _claim(self, event_ids: list[int]) -> set[int]:
        """The events this process may command a drone for (``missions.claim``), each claimed in a
        transaction of its own before any command goes out."""
        mine: set[int] = set()
        for event_id in event_ids:
            with Session(self.engine) as session, writing(session):
                if missions.claim(session, event_id, owner=self.owner, now=self.clock.now(),
                                  lease_s=self.settings.dispatch_claim_lease_s):
                    mine.add(event_id)
                session.commit()
        return mine

    def _waiting(self) -> list[Incident]:
        with Session(self.engine) as session:
            return missions.confirmed_incidents(session, now=self.clock.now())

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
            return missions.team_statuses(session)

    async def _resume_in_flight(self) -> None:
        """Take up the drones that were flying to events when this service (or another process of
        it) died: each is re-linked and flies on (``Dispatcher.resume``), never sent afresh,
        once its claim is ours (a live process keeps its own); one found on the ground is
        replaced like any drone that failed. The events it had queued for want of a drone are
        queued again (``Dispatcher.requeue``): one read of the database finds both."""
        dispatcher = self.dispatcher
        if dispatcher is None or not self._connected or not self.leads():
            return
        flying, queued = await asyncio.to_thread(self._left_in_flight)
        for incident, drone_id, on_scene in flying:
            if incident.id in dispatcher.missions:
                continue
            try:
                linked = dispatcher.link(drone_id).alive()
            except DroneUnavailable:
                continue  # not in this fleet any more
            if not linked or not await asyncio.to_thread(self._claim_drone, drone_id, incident.id):
                continue  # not heard yet, or another live process flies it: next time
            try:
                await dispatcher.resume(incident, drone_id, on_scene=on_scene)
            except DroneUnavailable as exc:
                log.warning("event %s: %s; sending a drone afresh", incident.id, exc)
                with contextlib.suppress(DispatchError):
                    await dispatcher.dispatch(incident)

        for incident, failed, queued_at in queued:
            if await dispatcher.requeue(incident, failed, queued_at):
                log.info("event %s: queued again after a restart (no drone on it; %s failed it)",
                         incident.id, ", ".join(failed) or "none")

    async def take_initiative(self) -> None:
        """The leader's rounds: take over drones left flying by a dead process, and fly drones
        to confirmed events still waiting (auto-assign). Run periodically, and at once when this
        process becomes leader; a follower does nothing here."""
        if self.dispatcher is None or not self.leads():
            return
        with contextlib.suppress(ServiceError, DispatchError):
            await self._resume_in_flight()
        if self.settings.auto_assign:  # drones come free, a leader died: try again
            with contextlib.suppress(ServiceError, DispatchError):
                await self.assign_waiting()

    def _left_in_flight(self) -> tuple[list[tuple[Incident, str, bool]],
                                       list[tuple[Incident, list[str], datetime]]]:
        with Session(self.engine) as session:
            return missions.left_in_flight(session, now=self.clock.now())

    # ---------------------------------------------------------------- bus → dispatch

    async def _watch_bus(self) -> None:
        async with self.bus.subscribe() as queue:
            while True:
                message = await queue.get()
                if message.get("kind") != "transition":
                    continue
                event_id, to_state = message.get("event_id"), message.get("to")
                with event_context(event_id):
                    await self._on_transition(event_id, to_state)

    async def _on_transition(self, event_id: Any, to_state: Any) -> None:
        try:
            if to_state == State.CONFIRMED and self.settings.auto_assign and self.leads():
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
            with event_context(update.incident_id):
                try:
                    alerts = await asyncio.to_thread(self._write, update)
                except Exception:  # one bad update must not stop the rest
                    log.exception("could not record %s", update)
                    alerts = []
                log.info("dispatch %s: drone %s", update.kind, update.drone_id)
            self.monitor.dispatch.labels(update.kind).inc()
            for alert in alerts:
                self.bus.publish(alert)
            self.bus.publish({"kind": "dispatch", "team_ids": [], "update": _jsonable(update)})
            if update.kind == "on_scene" and self.persuasion.rules and \
                    isinstance(update.incident_id, int):
                self.persuasion.spawn_rule_play(update.incident_id)

    def _write(self, update: MissionUpdate) -> list[dict[str, Any]]:
        first_unserved = True
        if update.kind == "unserved" and isinstance(update.incident_id, int):
            first_unserved = update.incident_id not in self._unserved_noted
            self._unserved_noted.add(update.incident_id)
        with Session(self.engine, expire_on_commit=False) as session, writing(session):
            alerts = missions.record_update(session, update, rules=self.persuasion.rules,
                                            first_unserved=first_unserved, miss=self._judge_miss)
            session.commit()
            return alerts

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
                    await asyncio.to_thread(self._renew_claims, [
                        v.id for v in views if isinstance(v.incident_id, int)])
            await self._release_checked_in()
            with contextlib.suppress(Exception):  # logged inside; the next tick tries again
                for alert in await asyncio.to_thread(self.persuasion.check_deadlines):
                    self.bus.publish(alert)
            if tick % 5 == 0:
                await self.take_initiative()

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
            return missions.teams_on_scene(session, event_ids)

    def _renew_claims(self, drone_ids: list[str]) -> None:
        with Session(self.engine) as session, writing(session):
            missions.renew_drone_claims(session, drone_ids, owner=self.owner,
                                        now=self.clock.now())
            session.commit()

    def _store_states(self, views: list[DroneView]) -> None:
        with Session(self.engine) as session, writing(session):
            missions.store_drone_states(session, views, status_of=drone_status,
                                        now=self.clock.now())
            session.commit()


def dji_options(settings: Settings) -> dict[str, Any]:
    """What a DJI dock's link needs from the settings: the broker's login and the answer to the
    dock's ``config`` request (app id, key, licence, NTP host), secrets unwrapped only here."""
    def plain(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    credentials = {"app_id": settings.dji_app_id, "app_key": plain(settings.dji_app_key),
                   "app_license": plain(settings.dji_app_license),
                   "ntp_server_host": settings.dji_ntp_server_host}
    return {"mqtt_username": settings.dji_mqtt_username,
            "mqtt_password": plain(settings.dji_mqtt_password),
            "credentials": {k: v for k, v in credentials.items() if v} if settings.dji_app_id
            else {}}


def is_heard(view: DroneView) -> bool:
    """Whether the drone's link is up (busy or not): its reason names no lost link."""
    return "link" not in view.reason


def drone_status(view: DroneView) -> str:
    """One word for the map: available, on_task, patrol, offline, failsafe, unavailable."""
    if view.incident_id is not None:
        return "on_task"
    if view.on_patrol:
        return "patrol"
    if view.available:
        return "available"
    if not is_heard(view):
        return "offline"
    if "failsafe" in view.reason:
        return "failsafe"
    return "unavailable"


def drone_view_json(view: DroneView) -> dict[str, Any]:
    """A drone's live state as JSON (times ISO 8601)."""
    t = view.telemetry
    return {
        "id": view.id, "name": view.name, "status": drone_status(view),
        "protocol": view.protocol, "heading_deg": t.heading_deg,
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
