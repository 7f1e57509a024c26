"""The closed loop's drone side: a fleet of links, the planner, and the flights to scenes.

``Dispatcher`` connects every drone of the fleet, keeps their state, answers "who should go"
(``suggest``), and flies missions (``dispatch``): GUIDED, arm, take off, fly the planned route
around the no-fly zones, report arrival within the arrival radius, hold over the scene until
``release``, then return to launch. A drone that loses its link, is refused a command or hits a
failsafe mid-task is replaced by the next best drone at once; one replaced for a lost link is
sent home (``recalled``) when it is heard again, and an event no other drone can take is queued
(``queued``) and sent the next drone to come free. After a restart ``resume`` takes up a
mission in flight without a new launch. A drone another ground station
takes over (it changes the flight mode, with no failsafe or fence breach behind it) is never
fought: the dispatcher stops commanding it, reports ``overridden``, sends the next best drone,
and offers the taken drone again only once it has landed and disarmed. Every step is reported as a
``MissionUpdate`` to the ``on_update`` callback (called on the event loop), which is how the
service (api/fleet/dispatcher.py) or a demo hears of it; an update names the protocol the drone
speaks and the method that was accepted (``MAV_CMD_DO_SET_MODE``, ``flight_authority_grab``).

Drones are reached through ``dispatch.links.VehicleLink``: MAVLink copters and DJI docks (Cloud
API over MQTT) in one fleet, chosen by ETA alike; nothing here asks which protocol a drone speaks.

    dispatcher = Dispatcher(entries, planner, clock=clock, on_update=print)
    await dispatcher.start()
    assignment = await dispatcher.dispatch(Incident("ev-1", lat, lon, target_s=180))
    ...
    await dispatcher.announce("ev-1", clip_id=1)   # the loudspeaker, while the drone is there
    await dispatcher.release("ev-1")
    await dispatcher.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from dispatch.errors import (
    DispatchError,
    DroneUnavailable,
    LinkError,
    MissionAborted,
    ModeOverridden,
)
from dispatch.fleet import FleetEntry, availability
from dispatch.link import WATCH_POLL_S, Clock, LinkGroup, SystemClock, Telemetry
from dispatch.links import VehicleLink, open_link
from dispatch.planner import Assignment, DroneStatus, Incident, Option, Planner
from dispatch.speaker import Announcement
from dispatch.tasks import cancel_and_wait
from geofence import GeofenceError

__all__ = ["Dispatcher", "DroneView", "Mission", "MissionUpdate", "UpdateKind"]

log = logging.getLogger("flyonce.dispatch")

UpdateKind = Literal["assigned", "on_scene", "overridden", "replaced", "unserved", "released",
                     "patrol", "recalled", "resumed"]


@dataclass(frozen=True)
class MissionUpdate:
    """One step of a mission, for the audit trail and the control room.

    ``kind``: ``assigned`` (the first command was accepted), ``on_scene`` (within the arrival
    radius), ``overridden`` (another ground station changed the drone's flight mode from
    ``mode_from`` to ``mode_to``; the dispatcher stops commanding it; ``replaced`` follows),
    ``replaced`` (the drone failed or was taken; ``reason`` says why, a new ``assigned`` or an
    ``unserved`` follows), ``unserved`` (no drone can go; an event that lost its drone is
    queued and the next drone to come free is sent, ``assigned`` then follows),
    ``released`` (sent home), ``patrol`` (a patrol started), ``recalled`` (a drone replaced
    because its link was lost is heard again and was sent home), ``resumed`` (a restarted
    dispatcher took up a mission in flight without commanding a new launch).
    """

    kind: UpdateKind
    incident_id: str | int | None
    drone_id: str | None
    at: datetime
    eta_s: float | None = None
    at_risk: bool = False
    reason: str = ""
    mode_from: str | None = None  # ``overridden`` only: the mode this dispatcher had set
    mode_to: str | None = None  # … and the one the other ground station chose
    protocol: str | None = None  # "mavlink" | "dji": what the drone speaks
    method: str | None = None  # the protocol's command behind this step, when one was accepted


@dataclass
class Mission:
    """A drone's task on one event, as it stands."""

    incident: Incident
    drone_id: str
    option: Option | None  # None only for an event taken up from the queue after a restart
    stage: str = "launching"  # launching, en_route, on_scene, returning, failed
    assigned_at: datetime | None = None
    on_scene_at: datetime | None = None
    failed_drones: list[str] = field(default_factory=list)
    lost_at: datetime | None = None  # when its drone was replaced for a lost link
    queued_at: datetime | None = None  # when it was queued for want of a drone
    note: str = ""  # said with ``assigned`` (e.g. how long it waited in the queue)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class DroneView:
    """A drone for the control room: identity, last telemetry, whether it can go, its task."""

    id: str
    name: str
    url: str
    dock_lat: float
    dock_lon: float
    telemetry: Telemetry
    available: bool
    reason: str
    incident_id: str | int | None
    on_patrol: bool
    stage: str | None
    protocol: str = "mavlink"


class _Released(Exception):
    """The operator (or the event's end) released the drone: stop and fly home."""


class _ClaimedElsewhere(Exception):
    """``acquire`` refused the drone: another dispatcher commands it."""


@dataclass
class _Drone:
    entry: FleetEntry
    link: VehicleLink
    incident_id: str | int | None = None
    on_patrol: bool = False
    fault: str | None = None
    taken_over: str | None = None  # another ground station flies it (see ``_hand_over``)
    lost_on: Mission | None = None  # the mission it was replaced on for a lost link (recall)


class Dispatcher:
    """Drones, plans and missions for one fleet; see the module docstring."""

    def __init__(
        self,
        entries: Iterable[FleetEntry],
        planner: Planner,
        *,
        clock: Clock | None = None,
        on_update: Callable[[MissionUpdate], Any] | None = None,
        switch_radius_m: float = 10.0,
        link_timeout_s: float = 3.0,
        stream_hz: float = 5.0,
        ack_timeout_s: float = 1.0,
        reconnect_s: float = 5.0,
        link_factory: Callable[..., VehicleLink] = open_link,
        acquire: Callable[[str, str | int], Awaitable[bool]] | None = None,
    ) -> None:
        """``acquire(drone_id, incident_id)`` is asked before a drone's first command on a
        mission: False means someone else (another dispatcher of the same fleet) commands that
        drone now, and the next best drone is sent instead. None: this dispatcher alone."""
        self.planner = planner
        self.acquire = acquire
        self.clock = clock or SystemClock()
        self.on_update = on_update
        self.alt_rel_m = planner.alt_rel_m
        self.arrival_radius_m = planner.arrival_radius_m
        self.switch_radius_m = min(switch_radius_m, planner.router.margin_m / 2 or switch_radius_m)
        self.link_timeout_s = link_timeout_s
        self.reconnect_s = reconnect_s
        self._drones: dict[str, _Drone] = {}
        group = LinkGroup()
        for entry in entries:
            link = link_factory(entry.url, drone_id=entry.id, clock=self.clock,
                                stream_hz=stream_hz, link_timeout_s=link_timeout_s,
                                ack_timeout_s=ack_timeout_s, group=group)
            self._drones[entry.id] = _Drone(entry, link)
        self.missions: dict[str | int, Mission] = {}
        # Events whose drone was lost with no other drone able to go: sent the next drone that
        # comes free (``_serve_queue``), oldest first, never dropped until released.
        self.queued: dict[str | int, Mission] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()

    # ---------------------------------------------------------------- lifecycle

    async def start(self, *, connect_timeout_s: float = 10.0) -> dict[str, str]:
        """Connect every drone; returns {drone_id: error} for those that did not answer (retried later)."""
        results = await asyncio.gather(
            *(d.link.connect(connect_timeout_s) for d in self._drones.values()),
            return_exceptions=True,
        )
        errors: dict[str, str] = {}
        for drone, result in zip(self._drones.values(), results):
            if isinstance(result, BaseException):
                errors[drone.entry.id] = str(result)
                log.warning("drone %s not connected: %s", drone.entry.id, result)
        self._spawn(self._reconnect_loop(), "reconnect")  # also for links that die later
        self._spawn(self._watch_loop(), "watch")
        return errors

    async def stop(self) -> None:
        """Cancel missions and close every link (drones keep doing what they were told last)."""
        await cancel_and_wait(list(self._tasks))
        await asyncio.gather(*(d.link.close() for d in self._drones.values()))

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _reconnect_loop(self) -> None:
        while True:
            await asyncio.sleep(self.reconnect_s)
            for drone in self._drones.values():
                if not drone.link.telemetry.connected:
                    with contextlib.suppress(DispatchError, OSError):
                        await drone.link.connect(self.reconnect_s)

    async def _watch_loop(self, period_s: float = 0.1) -> None:
        """Recall drones whose link came back, and serve queued events when a drone is free."""
        while True:
            await asyncio.sleep(period_s)
            try:
                await self._recall_returned()
                if self.queued:
                    await self._serve_queue()
            except Exception:  # the watch must outlive one bad pass
                log.exception("dispatch watch pass failed")

    async def _recall_returned(self) -> None:
        """A drone replaced for a lost link that is heard again is sent home (``recalled``).

        It was last told to fly towards the event, and nobody commands it now: left alone it
        would hover there until its battery failsafe. RTL brings it back to be offered again once
        it has landed (``_maybe_clear_fault``).
        """
        for drone in self._drones.values():
            mission = drone.lost_on
            if mission is None or not drone.link.alive():
                continue
            drone.lost_on = None
            t = drone.link.telemetry
            if not t.airborne:
                continue  # it came down on its own (failsafe or landing): nothing to recall
            silent_s = (self.clock.now() - mission.lost_at).total_seconds() \
                if mission.lost_at is not None else 0.0
            try:
                await drone.link.return_home()
            except DispatchError as exc:
                drone.lost_on = mission  # try again on the next pass
                log.warning("recall of %s failed: %s", drone.entry.id, exc)
                continue
            self._emit("recalled", mission.incident.id, drone.entry.id, link=drone.link,
                       reason=f"{drone.entry.id} heard again {silent_s:.0f} s after it was "
                              "replaced for a lost link; returning to launch")

    async def _serve_queue(self) -> None:
        async with self._lock:
            for incident_id, old in list(self.queued.items()):
                if old.released.is_set() or self.missions.get(incident_id) is not old:
                    del self.queued[incident_id]
                    continue
                incident = self._waited(old)
                choice = self._choose(incident, None, exclude=old.failed_drones)
                if choice.option is None:
                    continue
                del self.queued[incident_id]
                queued_s = (self.clock.now() - old.queued_at).total_seconds() \
                    if old.queued_at is not None else 0.0
                mission = self._launch(incident, choice.option, list(old.failed_drones))
                mission.note = f"queued {queued_s:.0f} s until {choice.option.drone_id} came free"

    # ---------------------------------------------------------------- state

    def link(self, drone_id: str) -> VehicleLink:
        """The link of one drone; DroneUnavailable names the known ids when unknown."""
        return self._drone(drone_id).link

    def _drone(self, drone_id: str) -> _Drone:
        try:
            return self._drones[drone_id]
        except KeyError:
            raise DroneUnavailable(f"no drone {drone_id!r} in the fleet; known: "
                                   f"{sorted(self._drones)}") from None

    def drones(self) -> list[DroneView]:
        """Every drone with its live state and task."""
        now = self.clock.now()
        views = []
        for drone in self._drones.values():
            telemetry = drone.link.telemetry
            self._maybe_clear_fault(drone, telemetry, now)
            ok, reason = self._availability(drone, telemetry, now)
            mission = self.missions.get(drone.incident_id) if drone.incident_id is not None else None
            views.append(DroneView(
                id=drone.entry.id, name=drone.entry.name or drone.entry.id, url=drone.entry.url,
                dock_lat=drone.entry.dock_lat, dock_lon=drone.entry.dock_lon,
                telemetry=telemetry, available=ok, reason=reason, incident_id=drone.incident_id,
                on_patrol=drone.on_patrol, stage=mission.stage if mission else None,
                protocol=drone.link.protocol,
            ))
        return views

    def _availability(self, drone: _Drone, telemetry: Telemetry, now: datetime) -> tuple[bool, str]:
        busy = f"event {drone.incident_id}" if drone.incident_id is not None else None
        return availability(telemetry, now, link_timeout_s=drone.link.link_timeout_s,
                            busy_with=busy, fault=drone.fault or drone.taken_over)

    def _maybe_clear_fault(self, drone: _Drone, telemetry: Telemetry, now: datetime) -> None:
        if drone.on_patrol and telemetry.landed_state == "ON_GROUND" and not telemetry.armed:
            drone.on_patrol = False  # the patrol ended (mission done and landed)
        # A failed or taken-over drone is trusted again once it is down: landed, disarmed,
        # linked, no failsafe (for a taken one: the other ground station's flight is over).
        if (drone.fault or drone.taken_over) and telemetry.landed_state == "ON_GROUND" and \
                not telemetry.armed and not telemetry.in_failsafe and \
                not telemetry.silent(now, drone.link.link_timeout_s):
            drone.fault = drone.taken_over = None

    def statuses(self, *, exclude: Sequence[str] = ()) -> list[DroneStatus]:
        """The planner's view of every drone (unavailable ones carry their reason)."""
        out = []
        for view in self.drones():
            launch_s = self._drones[view.id].link.launch_s
            t = view.telemetry
            lat = t.lat if t.lat is not None else view.dock_lat
            lon = t.lon if t.lon is not None else view.dock_lon
            available = view.available and view.id not in exclude
            reason = view.reason if view.id not in exclude else "failed on this event"
            out.append(DroneStatus(id=view.id, lat=lat, lon=lon, battery_pct=t.battery_pct or 0.0,
                                   available=available, airborne=t.airborne,
                                   on_patrol=view.on_patrol, reason=reason, launch_s=launch_s))
        return out

    # ---------------------------------------------------------------- planning

    def suggest(self, incident: Incident) -> list[Option]:
        """Every drone ranked for ``incident``: feasible by ETA first, each with its reason if not."""
        return self.planner.options(incident, self.statuses())

    def plan(self, incidents: Sequence[Incident]) -> list[Assignment]:
        """A joint assignment of the waiting ``incidents`` over the drones available now."""
        return self.planner.assign(incidents, self.statuses())

    # ---------------------------------------------------------------- missions

    async def dispatch(self, incident: Incident, *, drone_id: str | None = None) -> Assignment:
        """Send the best drone (or ``drone_id``) to ``incident``; the flight goes on in the background.

        Returns the planner's assignment at once (``option`` None and an ``unserved`` update
        when no drone can go); ``assigned`` follows once the drone accepts its first command.
        Raises DroneUnavailable when ``drone_id`` is named but cannot go.
        """
        async with self._lock:
            if incident.id in self.missions and self.missions[incident.id].stage != "failed":
                raise DroneUnavailable(f"event {incident.id} already has drone "
                                       f"{self.missions[incident.id].drone_id}")
            assignment = self._choose(incident, drone_id, exclude=())
            if assignment.option is None:
                self._emit("unserved", incident.id, None, reason=assignment.reason, at_risk=True)
                return assignment
            self._launch(incident, assignment.option, failed=[])
            return assignment

    async def dispatch_many(self, incidents: Sequence[Incident]) -> list[Assignment]:
        """Assign several waiting events together (fewest missed targets, then least ETA) and fly."""
        async with self._lock:
            pending = [i for i in incidents
                       if i.id not in self.missions or self.missions[i.id].stage == "failed"]
            assignments = self.plan(pending)
            for incident, assignment in zip(pending, assignments):
                if assignment.option is None:
                    self._emit("unserved", incident.id, None, reason=assignment.reason,
                               at_risk=True)
                else:
                    self._launch(incident, assignment.option, failed=[])
            return assignments

    def _choose(self, incident: Incident, drone_id: str | None, exclude: Sequence[str]) -> Assignment:
        options = self.planner.options(incident, self.statuses(exclude=exclude))
        if drone_id is not None:
            self._drone(drone_id)
            option = next((o for o in options if o.drone_id == drone_id), None)
            if option is None or not option.feasible:
                why = option.reason if option else "unknown drone"
                raise DroneUnavailable(f"drone {drone_id} cannot take event {incident.id}: {why}")
            return Assignment(incident.id, option, option.at_risk, "chosen by operator",
                              tuple(options))
        best = options[0] if options and options[0].feasible else None
        if best is None:
            reasons = sorted({o.reason for o in options if o.reason})
            return Assignment(incident.id, None, True,
                              "no feasible drone: " + ("; ".join(reasons[:3]) or "empty fleet"),
                              tuple(options))
        return Assignment(incident.id, best, best.at_risk,
                          f"eta {best.eta_s:.0f} s, {best.slack_s:+.0f} s vs target",
                          tuple(options))

    def _launch(self, incident: Incident, option: Option, failed: list[str]) -> Mission:
        drone = self._drone(option.drone_id)
        drone.incident_id = incident.id
        drone.on_patrol = False
        mission = Mission(incident, option.drone_id, option, failed_drones=failed)
        old = self.missions.get(incident.id)
        if old is not None and old.on_scene_at is not None:
            mission.on_scene_at = old.on_scene_at
        self.missions[incident.id] = mission
        mission.task = self._spawn(self._fly(mission), f"mission-{incident.id}")
        return mission

    async def resume(self, incident: Incident, drone_id: str, *, on_scene: bool) -> Mission:
        """Take up a mission a previous dispatcher (this service before a crash) left in flight.

        The drone is re-linked, not re-sent: no launch, no new mission, no second drone. A
        ``resumed`` update says so; the flight goes on from where the drone is (the rest of the
        route, or holding over the scene when ``on_scene``) until ``release``. Raises
        DroneUnavailable when the drone is not linked or no longer in the air (send one afresh).
        """
        async with self._lock:
            drone = self._drone(drone_id)
            if incident.id in self.missions and self.missions[incident.id].stage != "failed":
                raise DroneUnavailable(f"event {incident.id} already has drone "
                                       f"{self.missions[incident.id].drone_id}")
            t = drone.link.telemetry
            if not drone.link.alive() or not t.airborne:
                raise DroneUnavailable(f"drone {drone_id} cannot resume event {incident.id}: "
                                       + ("no link" if not drone.link.alive() else
                                          f"not in the air ({t.landed_state})"))
            if drone.incident_id is not None and drone.incident_id != incident.id:
                raise DroneUnavailable(f"drone {drone_id} is busy with event {drone.incident_id}")
            options = self.planner.options(incident, self.statuses())
            option = next(o for o in options if o.drone_id == drone_id)
            drone.incident_id, drone.on_patrol = incident.id, False
            mission = Mission(incident, drone_id, option, stage="on_scene" if on_scene
                              else "en_route", assigned_at=self.clock.now())
            if on_scene:
                mission.on_scene_at = mission.assigned_at
            self.missions[incident.id] = mission
            self._emit("resumed", incident.id, drone_id, eta_s=option.eta_s, link=drone.link,
                       method=None, reason=f"{'holding over the scene' if on_scene else 'en route'}"
                       f", {t.mode}, {t.alt_rel_m or 0:.0f} m up, "
                       f"{t.distance_m(incident.lat, incident.lon):.0f} m from the event")
            mission.task = self._spawn(self._fly(mission, resumed=True), f"mission-{incident.id}")
            return mission

    async def requeue(self, incident: Incident, failed_drones: list[str],
                      queued_at: datetime) -> bool:
        """Take up an event a previous dispatcher (this service before a crash) had queued for
        want of a drone: it waits again in ``queued`` and the next drone to come free is sent,
        the drones that failed it excepted, as before the crash. False when it is already here."""
        async with self._lock:
            if incident.id in self.queued or (incident.id in self.missions
                                              and self.missions[incident.id].stage != "failed"):
                return False
            mission = Mission(incident, failed_drones[-1] if failed_drones else "", None,
                              stage="failed", failed_drones=list(failed_drones),
                              queued_at=queued_at)
            self.missions[incident.id] = self.queued[incident.id] = mission
            return True

    async def release(self, incident_id: str | int) -> None:
        """End the task on ``incident_id``: the drone returns to launch (KeyError if none)."""
        mission = self.missions.get(incident_id)
        if mission is None:
            raise KeyError(f"no mission for event {incident_id}")
        mission.released.set()
        if mission.task is not None:
            with contextlib.suppress(asyncio.CancelledError, DispatchError):
                await mission.task

    async def _fly(self, mission: Mission, *, resumed: bool = False) -> None:
        drone = self._drone(mission.drone_id)
        link, incident = drone.link, mission.incident
        try:
            if not resumed and self.acquire is not None and \
                    not await self.acquire(drone.entry.id, incident.id):
                raise _ClaimedElsewhere
            t = link.telemetry
            start = (t.lat, t.lon) if t.lat is not None else (drone.entry.dock_lat,
                                                              drone.entry.dock_lon)
            route = self.planner.route(start, (incident.lat, incident.lon))
            if not resumed:  # a resumed drone flies in GUIDED already, on its way
                await link.prepare()
                mission.assigned_at = self.clock.now()
                self._emit("assigned", incident.id, drone.entry.id, eta_s=mission.option.eta_s,
                           at_risk=mission.option.at_risk, link=link,
                           reason=f"route {route.length_m:.0f} m, {len(route.points) - 2} turns"
                           + (f"; {mission.note}" if mission.note else ""))

            def unless_released(_t: Telemetry | None = None) -> None:
                if mission.released.is_set():
                    raise _Released

            if t.airborne and mission.stage == "launching":
                mission.stage = "en_route"
            holding = resumed and mission.stage == "on_scene"  # over the scene already
            if not holding:
                await link.fly_route(route.points[1:], alt_rel_m=self.alt_rel_m,
                                     switch_radius_m=self.switch_radius_m,
                                     arrival_radius_m=self.arrival_radius_m,
                                     on_update=lambda t_: self._en_route(mission, t_,
                                                                         unless_released))
            if mission.on_scene_at is None:
                mission.on_scene_at = self.clock.now()
                self._emit("on_scene", incident.id, drone.entry.id, link=link,
                           reason=f"within {self.arrival_radius_m:g} m")
            mission.stage = "on_scene"
            if not holding:
                await link.hold_at(incident.lat, incident.lon, self.alt_rel_m)
            while not mission.released.is_set():
                await link.wait_update(WATCH_POLL_S)
                link.check_flying()
            raise _Released
        except _Released:
            mission.stage = "returning"
            try:
                await link.return_home()
                self._emit("released", incident.id, drone.entry.id, reason="returning to launch",
                           link=link)
            except LinkError as exc:
                self._emit("released", incident.id, drone.entry.id,
                           reason=f"released, but the return command failed: {exc}")
        except _ClaimedElsewhere:
            # Nothing was sent to it: another dispatcher of this fleet flies it now. It is
            # offered again once it is down (``_maybe_clear_fault``), like a taken-over drone.
            drone.taken_over = "commanded by another dispatcher of this fleet"
            drone.incident_id = None
            mission.stage = "failed"
            self._send_next(mission, drone, drone.taken_over)
        except ModeOverridden as exc:
            self._hand_over(mission, drone, exc)
        except (LinkError, MissionAborted) as exc:
            await self._replace(mission, drone, exc)
        except GeofenceError as exc:  # e.g. the drone drifted into a no-fly margin
            await self._replace(mission, drone, MissionAborted(f"no route: {exc}"))
        except Exception as exc:  # a bug must not leave the event without a drone, silently
            log.exception("mission %s on drone %s failed", incident.id, drone.entry.id)
            await self._replace(mission, drone, MissionAborted(f"internal error: {exc!r}"))
        finally:
            if drone.incident_id == incident.id:
                drone.incident_id = None

    async def _replace(self, mission: Mission, drone: _Drone, exc: Exception) -> None:
        reason = getattr(exc, "reason", None) or str(exc)
        drone.fault = f"failed on event {mission.incident.id}: {reason}"
        drone.incident_id = None
        mission.stage = "failed"
        if not drone.link.alive():  # recalled once heard again (``_recall_returned``)
            mission.lost_at = self.clock.now()
            drone.lost_on = mission
        with contextlib.suppress(DispatchError):  # bring it home if it still listens
            if drone.link.alive() and not drone.link.telemetry.in_failsafe:
                await drone.link.return_home()
        self._send_next(mission, drone, reason, method=getattr(exc, "command", None))

    def _hand_over(self, mission: Mission, drone: _Drone, exc: ModeOverridden) -> None:
        """Another ground station took ``drone``: stop commanding it, send the next best drone.

        The rule: a person at another station has decided for this drone, so the dispatcher
        never fights them (no RTL, no mode change back); the event gets the next best drone
        at once, and the taken drone is offered for tasks again once it has landed and
        disarmed (``_maybe_clear_fault``).
        """
        drone.taken_over = (f"taken over by another ground station ({exc.mode_to} since "
                            f"{self.clock.now():%H:%M:%S}); offered again once landed")
        drone.incident_id = None
        mission.stage = "failed"
        self._emit("overridden", mission.incident.id, drone.entry.id, link=drone.link,
                   reason=f"{drone.entry.id}: {exc.reason}; the dispatcher no longer commands "
                          "it", mode_from=exc.mode_from, mode_to=exc.mode_to)
        self._send_next(mission, drone, f"taken over by another ground station "
                                        f"({exc.mode_from} to {exc.mode_to})")

    def _send_next(self, mission: Mission, drone: _Drone, reason: str,
                   method: str | None = None) -> None:
        """Give ``mission``'s event to the next best drone (``replaced``, then ``assigned`` or
        ``unserved``), unless it was released meanwhile."""
        mission.failed_drones = failed = [*mission.failed_drones, drone.entry.id]
        if mission.released.is_set():
            return
        incident = self._waited(mission)
        choice = self._choose(incident, None, exclude=failed)
        self._emit("replaced", incident.id, drone.entry.id, link=drone.link, method=method,
                   reason=f"{drone.entry.id}: {reason}"
                   + (f"; sending {choice.option.drone_id}" if choice.option else ""))
        if choice.option is None:
            mission.queued_at = self.clock.now()
            self.queued[incident.id] = mission
            self._emit("unserved", incident.id, None, at_risk=True,
                       reason=f"{choice.reason}; queued: the next drone to come free is sent")
            return
        self._launch(incident, choice.option, failed)

    def _waited(self, mission: Mission) -> Incident:
        """``mission``'s incident with the time it has waited so far (for the planner's slack)."""
        incident = mission.incident
        waited = incident.waited_s
        if mission.assigned_at is not None:
            waited += (self.clock.now() - mission.assigned_at).total_seconds()
        return Incident(incident.id, incident.lat, incident.lon, incident.target_s, waited)

    # ---------------------------------------------------------------- loudspeaker

    async def announce(self, incident_id: str | int, *, clip_id: int | None = None,
                       text: str | None = None, repeat: int = 1,
                       volume_pct: int = 100) -> Announcement:
        """Play a clip or speak a text through the drone now on ``incident_id``'s mission.

        The drone must hold a live mission on the event (launching, en route or on scene; the
        autopilot itself refuses while still on the ground: DENIED). Raises DroneUnavailable
        when the event has no drone on it, PayloadError for a bad request (nothing sent),
        CommandRejected with the autopilot's result when refused; see dispatch/speaker.py.
        """
        mission = self.missions.get(incident_id)
        if mission is None:
            raise DroneUnavailable(f"event {incident_id} has no drone on it; dispatch one first")
        drone = self._drone(mission.drone_id)
        if mission.stage in ("failed", "returning") or drone.incident_id != incident_id:
            raise DroneUnavailable(f"event {incident_id} has no drone on it now (drone "
                                   f"{mission.drone_id} is {mission.stage}); dispatch one first")
        return await drone.link.announce(clip_id=clip_id, text=text, repeat=repeat,
                                         volume_pct=volume_pct)

    # ---------------------------------------------------------------- patrols

    async def patrol(self, drone_id: str, waypoints: Sequence[tuple[float, float]], *,
                     alt_rel_m: float | None = None) -> int:
        """Upload a coverage mission (takeoff, waypoints, RTL) to an idle drone and run it in AUTO."""
        drone = self._drone(drone_id)
        now = self.clock.now()
        ok, reason = self._availability(drone, drone.link.telemetry, now)
        if not ok:
            raise DroneUnavailable(f"drone {drone_id} cannot patrol: {reason}")
        count = await drone.link.run_patrol(list(waypoints),
                                            alt_rel_m=alt_rel_m or self.alt_rel_m)
        drone.on_patrol = True
        self._emit("patrol", None, drone_id, reason=f"{count} mission items", link=drone.link)
        return count

    # ---------------------------------------------------------------- updates

    def _en_route(self, mission: Mission, telemetry: Telemetry,
                  unless_released: Callable[[Telemetry], None]) -> None:
        if telemetry.airborne and mission.stage == "launching":
            mission.stage = "en_route"
        unless_released(telemetry)

    def _emit(self, kind: UpdateKind, incident_id: str | int | None, drone_id: str | None, *,
              eta_s: float | None = None, at_risk: bool = False, reason: str = "",
              mode_from: str | None = None, mode_to: str | None = None,
              link: VehicleLink | None = None, method: str | None = "last") -> None:
        """Report one step; with ``link``, the update names its protocol and (``method`` "last")
        the method of the command it accepted last."""
        protocol = link.protocol if link is not None else None
        if method == "last":
            record = link.last_command if link is not None else None
            method = record.method if record is not None else None
        update = MissionUpdate(kind, incident_id, drone_id, self.clock.now(), eta_s, at_risk,
                               reason, mode_from, mode_to, protocol, method)
        log.info("%s", update)
        if self.on_update is not None:
            try:
                self.on_update(update)
            except Exception:  # a listener's bug must not ground the fleet
                log.exception("on_update failed for %s", update)
