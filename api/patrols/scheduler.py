"""Flying the planned patrol flights: start each at its time, follow it to the ground.

``PatrolScheduler`` runs beside the dispatch worker (started from the app's lifespan) on the
service's one clock. Each tick it starts the planned flights that are due through
``DispatchWorker.patrol`` (a MAVLink mission upload, then AUTO) and follows the ones it
started: a flight is ``done`` once its drone has been seen in the air and is back on the ground,
disarmed; it is ``failed`` with the reason when the drone is sent to an event, hits a failsafe,
loses its link or never takes off. A drone that is busy, on another patrol or without a link is
retried each tick (the flight's reason says why it waits) until ``late_s`` after the planned
start; then the flight fails saying why. Nothing is dropped: every due flight ends ``done`` or
``failed`` with a reason.

A flight is claimed in the database (``planned`` → ``flying`` in one conditional UPDATE) before
its upload, so two service processes never start it twice; an upload that fails puts it back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.core.clock import Clock
from api.core.db import writing
from api.core.errors import ServiceError
from api.core.models import PatrolFlight
from api.patrols.requests import DONE, FAILED, FLYING, PLANNED
from dispatch.errors import DispatchError
from dispatch.tasks import cancel_and_wait

log = logging.getLogger("flyonce.api.patrols")


@dataclass
class _Watch:
    """A flight this process started: what it has seen of the drone since."""

    flight_id: int
    drone_id: str
    started_at: datetime
    seen_airborne: bool = False
    resumed: bool = False  # picked up after a restart: the take-off may have been missed


@dataclass
class _Due:
    flight_id: int
    drone_id: str
    planned_start: datetime
    waypoints: list[tuple[float, float]]


@dataclass
class PatrolScheduler:
    """Flies due patrol flights on the fleet and follows them to the ground (see the module doc).

    ``worker`` is the app's DispatchWorker (its ``patrol`` uploads the mission); ``clock`` the
    service's one clock. ``late_s``: how long after its planned start a flight may still be
    started (retried while the drone is busy); ``takeoff_s``: how long a started flight may
    take to be seen in the air.
    """

    engine: Engine
    clock: Clock
    worker: Any  # api.fleet.dispatcher.DispatchWorker (a room above this one: handed in, never imported)
    tick_s: float = 1.0
    late_s: float = 900.0
    takeoff_s: float = 120.0
    # Whether this process leads the cluster (api.core.leader): only the leader flies patrols.
    leads: Callable[[], bool] = lambda: True
    _watching: dict[int, _Watch] = field(default_factory=dict)
    _waiting: dict[int, str] = field(default_factory=dict)  # flight id -> why not started yet
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.leads():
            await asyncio.to_thread(self._resume)
        self._task = asyncio.create_task(self._run(), name="patrol-scheduler")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # one bad tick must not stop the flights that follow
                log.exception("patrol scheduler tick failed")
            await asyncio.sleep(self.tick_s)

    async def take_lead(self) -> None:
        """Become the scheduler of the cluster: follow the flights a former leader started."""
        await asyncio.to_thread(self._resume)

    async def tick(self) -> None:
        """Start what is due, then follow what flies (the leader only)."""
        if not self.leads():
            return
        now = self.clock.now()
        for due in await asyncio.to_thread(self._due, now):
            await self._start(due)
        if self._watching:
            await self._follow()

    # -- starting

    def _resume(self) -> None:
        with Session(self.engine) as session:
            for flight in session.exec(select(PatrolFlight).where(
                    PatrolFlight.state == FLYING)).all():
                self._watching[flight.id] = _Watch(flight.id, flight.drone_id or "",
                                                   flight.started_at or self.clock.now(),
                                                   resumed=True)

    def _due(self, now: datetime) -> list[_Due]:
        with Session(self.engine) as session:
            rows = session.exec(select(PatrolFlight).where(
                PatrolFlight.state == PLANNED, PatrolFlight.planned_start <= now)
                .order_by(PatrolFlight.planned_start, PatrolFlight.id)).all()
            return [_Due(f.id, f.drone_id or "", f.planned_start,
                         [(lat, lon) for lon, lat in json.loads(f.path_geojson)["coordinates"]])
                    for f in rows]

    async def _start(self, due: _Due) -> None:
        now = self.clock.now()
        why = self._blocked(due.drone_id)
        if why is None:
            if not await asyncio.to_thread(self._claim, due.flight_id, now):
                return  # another process took it, or it was cancelled meanwhile
            try:
                await self.worker.patrol(due.drone_id, due.waypoints)
            except (ServiceError, DispatchError) as exc:
                why = getattr(exc, "message", None) or str(exc)
                await asyncio.to_thread(self._unclaim, due.flight_id, why)
            else:
                self._waiting.pop(due.flight_id, None)
                self._watching[due.flight_id] = _Watch(due.flight_id, due.drone_id, now)
                log.info("patrol flight %s started on %s", due.flight_id, due.drone_id)
                return
        late_s = (now - due.planned_start).total_seconds()
        if late_s > self.late_s or self.worker.dispatcher is None:
            await asyncio.to_thread(
                self._end, due.flight_id, FAILED, now,
                f"not started: {why}" + (f" (still so {late_s:.0f} s after its planned start)"
                                         if self.worker.dispatcher is not None else ""),
                from_states=(PLANNED,))
            self._waiting.pop(due.flight_id, None)
        elif self._waiting.get(due.flight_id) != why:  # the page shows why it waits
            self._waiting[due.flight_id] = why
            await asyncio.to_thread(self._note, due.flight_id, f"waiting: {why}")

    def _blocked(self, drone_id: str) -> str | None:
        """Why ``drone_id`` cannot start a patrol now, or None."""
        if self.worker.dispatcher is None:
            return ("no fleet is connected; set FLYONCE_FLEET_FILE (or register drones with a "
                    "mavlink_url) and restart")
        views = {v.id: v for v in self.worker.dispatcher.drones()}
        view = views.get(drone_id)
        if view is None:
            return f"drone {drone_id} is not in the fleet (known: {sorted(views)})"
        if any(w.drone_id == drone_id for w in self._watching.values()):
            return f"drone {drone_id} is still flying an earlier patrol flight"
        if view.on_patrol:
            return f"drone {drone_id} is on another patrol"
        if not view.available:
            return f"drone {drone_id} is unavailable: {view.reason}"
        if view.telemetry.airborne:
            return f"drone {drone_id} is still in the air"
        return None

    def _claim(self, flight_id: int, now: datetime) -> bool:
        with Session(self.engine) as session, writing(session):
            done = session.execute(sa.update(PatrolFlight).where(
                PatrolFlight.id == flight_id, PatrolFlight.state == PLANNED)
                .values(state=FLYING, started_at=now, reason=None))
            session.commit()
            return done.rowcount == 1

    def _note(self, flight_id: int, reason: str) -> None:
        with Session(self.engine) as session, writing(session):
            session.execute(sa.update(PatrolFlight).where(
                PatrolFlight.id == flight_id, PatrolFlight.state == PLANNED).values(reason=reason))
            session.commit()

    def _unclaim(self, flight_id: int, why: str) -> None:
        with Session(self.engine) as session, writing(session):
            session.execute(sa.update(PatrolFlight).where(
                PatrolFlight.id == flight_id, PatrolFlight.state == FLYING)
                .values(state=PLANNED, started_at=None, reason=why))
            session.commit()

    def _end(self, flight_id: int, state: str, at: datetime, reason: str | None, *,
             from_states: Iterable[str] = (FLYING,)) -> None:
        with Session(self.engine) as session, writing(session):
            session.execute(sa.update(PatrolFlight).where(
                PatrolFlight.id == flight_id, PatrolFlight.state.in_(tuple(from_states)))
                .values(state=state, ended_at=at, reason=reason))
            session.commit()
        log.info("patrol flight %s %s%s", flight_id, state, f": {reason}" if reason else "")

    # -- following

    async def _follow(self) -> None:
        dispatcher = self.worker.dispatcher
        if dispatcher is None:
            return
        now = self.clock.now()
        views = {v.id: v for v in dispatcher.drones()}
        for watch in list(self._watching.values()):
            outcome = self._judge(watch, views.get(watch.drone_id), now)
            if outcome is not None:
                state, reason = outcome
                await asyncio.to_thread(self._end, watch.flight_id, state, now, reason)
                self._watching.pop(watch.flight_id, None)

    def _judge(self, watch: _Watch, view: Any, now: datetime) -> tuple[str, str | None] | None:
        """(final state, reason) once the flight is over, else None."""
        if view is None:
            return FAILED, f"drone {watch.drone_id} left the fleet"
        t = view.telemetry
        if view.incident_id is not None:
            return FAILED, f"interrupted: drone {watch.drone_id} was sent to event {view.incident_id}"
        if t.in_failsafe:
            return FAILED, f"failsafe on drone {watch.drone_id}: {t.last_text or t.system_status}"
        age_s = t.heartbeat_age_s(now)
        if age_s > self.late_s:
            return FAILED, f"link to drone {watch.drone_id} lost for {age_s:.0f} s"
        if t.airborne:
            watch.seen_airborne = True
            return None
        on_ground = t.landed_state == "ON_GROUND" and not t.armed
        if watch.seen_airborne and on_ground:
            return DONE, None
        waited_s = (now - watch.started_at).total_seconds()
        if not watch.seen_airborne and waited_s > self.takeoff_s:
            if watch.resumed:
                return FAILED, ("the service restarted during this flight and found the drone "
                                "on the ground; whether it finished is not known")
            return FAILED, f"drone {watch.drone_id} did not take off within {self.takeoff_s:.0f} s"
        return None
