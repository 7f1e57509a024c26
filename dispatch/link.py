"""One drone over MAVLink: a live telemetry snapshot and named async verbs, each awaiting its ACK.

Every pymavlink call in flyonce lives in this module (STYLE.md). ``DroneLink`` speaks to an
ArduCopter (real, SITL, or ``simulators``) as a ground station with system id 255:

    link = DroneLink("tcp:127.0.0.1:5760", drone_id="drone-1", clock=clock)
    await link.connect()
    await link.set_mode("GUIDED"); await link.arm(); await link.takeoff(30)
    await link.fly_route([(29.50, 120.90), (29.51, 120.91)], alt_rel_m=30)
    await link.return_to_launch()
    await link.announce(clip_id=1, repeat=2)          # the loudspeaker: see dispatch/speaker.py

It is the MAVLink implementation of ``dispatch.links.VehicleLink`` (``prepare``, ``fly_route``
taking off first when on the ground, ``hold_at``, ``return_home``, ``start_live``,
``run_patrol``): the dispatcher flies it and a DJI dock (``dispatch.dji_link``) alike.

Reads happen in one thread per link (pymavlink blocks); the verbs run on the asyncio loop and
wait on futures that thread resolves. Each command waits ``ack_timeout_s`` wall seconds for
its COMMAND_ACK, is sent again up to ``retries`` times, and raises ``CommandRejected`` carrying
the MAV_RESULT name when refused, ``LinkTimeout`` when never answered. Another ground station
may fly the same drone at the same time (a field laptop beside the control room): its mode
changes are told apart from the autopilot's own (``check_flying`` raises ``ModeOverridden``). Ages of telemetry
(link alive = a heartbeat within ``link_timeout_s``) are measured on the injected clock, so
they are mission seconds when the service runs on a simulator's clock. A silence must also last
``MIN_SILENCE_WALL_S`` wall seconds before it counts (``Telemetry.silent``, the one test of a
link's silence): on a clock running 10x, 3 mission seconds are 0.3 s of wall time, which a busy
machine's scheduler alone can take from the reading thread (on a real clock the floor never
matters, being shorter than ``link_timeout_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from dispatch.errors import (
    CommandRejected,
    LinkError,
    LinkTimeout,
    MissionAborted,
    MissionRejected,
    ModeOverridden,
)
from dispatch.links import CommandRecord
from dispatch.missions import PlanItem, route_items
from dispatch.speaker import (
    MSG_PLAY_CLIP,
    MSG_PLAY_TEXT,
    MSG_STOP,
    PAYLOAD_TYPE_TEXT,
    TUNNEL_PAYLOAD_BYTES,
    Announcement,
    check_request,
    text_chunks,
)

__all__ = ["Clock", "DroneLink", "LinkGroup", "LinkHealth", "SystemClock", "Telemetry"]

# ArduCopter's custom_mode numbers.
MODES = {"STABILIZE": 0, "AUTO": 3, "GUIDED": 4, "LOITER": 5, "RTL": 6, "LAND": 9, "BRAKE": 17}
MODE_NAMES = {v: k for k, v in MODES.items()}
LANDED_STATES = {0: "UNDEFINED", 1: "ON_GROUND", 2: "IN_AIR", 3: "TAKEOFF", 4: "LANDING"}
SYSTEM_STATUS = {0: "UNINIT", 1: "BOOT", 2: "CALIBRATING", 3: "STANDBY", 4: "ACTIVE",
                 5: "CRITICAL", 6: "EMERGENCY", 7: "POWEROFF", 8: "FLIGHT_TERMINATION"}
_READ_POLL_S = 0.05
# Watch loops wake at least this often (wall seconds) so that a silent link is noticed on time
# whatever the clock's speed-up.
WATCH_POLL_S = 0.02
_EARTH_RADIUS_M = 6_371_008.8
#: A heartbeat silence shorter than this in wall seconds never counts as a lost link.
MIN_SILENCE_WALL_S = 1.0
_FENCE_BREACH_TEXT = "fence breached"  # AC_Fence: "Polygon fence breached", "Max Alt …"
_INT_FRAMES = {0: 5, 3: 6}  # MISSION_ITEM_INT carries the _INT variants of the global frames

log = logging.getLogger("flyonce.dispatch.link")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock UTC time (the default when no mission clock is injected)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class LinkGroup:
    """The links of one ground station, sharing when any of them last heard a drone.

    When no drone at all has been heard for a while, the silence is ours (this process was
    starved of CPU, or its network is down), not a drone's: missions are then not aborted,
    since no other drone could be reached to replace them anyway.
    """

    def __init__(self) -> None:
        self.last_rx_at: datetime | None = None


@dataclass(frozen=True)
class Telemetry:
    """What the drone last said about itself; None where it has not said yet."""

    lat: float | None = None
    lon: float | None = None
    alt_rel_m: float | None = None
    groundspeed_mps: float = 0.0
    mode: str = "UNKNOWN"
    armed: bool = False
    battery_pct: float | None = None
    landed_state: str = "UNDEFINED"
    system_status: str = "UNINIT"
    last_heartbeat_at: datetime | None = None
    heartbeat_mono: float | None = None  # time.monotonic() of the last heartbeat (wall time)
    position_at: datetime | None = None
    last_text: str = ""
    connected: bool = False
    # FENCE_STATUS breach_status, or ArduPilot's "… fence breached" STATUSTEXT (AC_Fence)
    fence_breached: bool = False
    heading_deg: float | None = None  # course over ground, 0-360 from north
    # Why the drone, on the ground, cannot launch now by its own report (a DJI dock: cover
    # fault, charging below its take-off threshold …); "" when it can, or cannot say.
    not_ready: str = ""

    @property
    def in_failsafe(self) -> bool:
        """True while the autopilot reports CRITICAL or EMERGENCY (a failsafe is active)."""
        return self.system_status in ("CRITICAL", "EMERGENCY")

    @property
    def airborne(self) -> bool:
        """True when flying (in the air, taking off or landing)."""
        return self.landed_state in ("IN_AIR", "TAKEOFF", "LANDING")

    def heartbeat_age_s(self, now: datetime) -> float:
        """Seconds since the last heartbeat (inf before the first)."""
        if self.last_heartbeat_at is None:
            return math.inf
        return (now - self.last_heartbeat_at).total_seconds()

    def silent(self, now: datetime, timeout_s: float) -> bool:
        """True when the last heartbeat is over ``timeout_s`` old on the clock (``now``) and at
        least ``MIN_SILENCE_WALL_S`` old in wall time, or when none came at all."""
        if self.heartbeat_age_s(now) <= timeout_s:
            return False
        mono = self.heartbeat_mono
        return mono is None or time.monotonic() - mono >= MIN_SILENCE_WALL_S

    def distance_m(self, lat: float, lon: float) -> float:
        """Horizontal metres from the drone to (lat, lon); inf before the first position."""
        if self.lat is None or self.lon is None:
            return math.inf
        p1, p2 = math.radians(self.lat), math.radians(lat)
        dp, dl = p2 - p1, math.radians(lon - self.lon)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2.0 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class LinkHealth:
    """What every link reads the same way (MAVLink and DJI): the snapshot under ``_lock``,
    alive / lost by ``Telemetry.silent`` and the ``LinkGroup``, and waiting for the next update.

    A link sets ``_lock``, ``_telemetry``, ``_update_waiters``, ``clock``, ``group``,
    ``link_timeout_s``, and resolves ``_update_waiters`` on the loop (``_wake_waiters``).
    """

    _lock: threading.Lock
    _telemetry: Telemetry
    _update_waiters: list[asyncio.Future[None]]
    clock: Clock
    group: LinkGroup
    link_timeout_s: float

    @property
    def telemetry(self) -> Telemetry:
        """The latest snapshot (a frozen copy)."""
        with self._lock:
            return self._telemetry

    def alive(self) -> bool:
        """True when connected and not ``Telemetry.silent`` past ``link_timeout_s``."""
        t = self.telemetry
        return t.connected and not t.silent(self.clock.now(), self.link_timeout_s)

    def lost(self) -> bool:
        """True when this drone has been silent past ``link_timeout_s`` while others were heard.

        Unlike ``alive``, a silence shared by every link of the group does not count (see
        ``LinkGroup``): that is this ground station stalling, not the drone.
        """
        if self.alive():
            return False
        now = self.clock.now()
        heard = self.group.last_rx_at
        if not self.telemetry.connected:
            return True
        return heard is not None and (now - heard).total_seconds() <= self.link_timeout_s / 3

    async def wait_update(self, timeout_s: float = 0.5) -> Telemetry:
        """The snapshot after the next position or heartbeat (or after ``timeout_s`` wall seconds)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._update_waiters.append(fut)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fut, timeout_s)
        return self.telemetry

    def _wake_waiters(self) -> None:
        waiters, self._update_waiters = self._update_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


class DroneLink(LinkHealth):
    """A MAVLink connection to one drone with MAVSDK-like named async verbs."""

    protocol = "mavlink"
    launch_s = 0.0  # an autopilot arms and climbs at once: the model's launch is all of it

    def __init__(
        self,
        url: str,
        *,
        drone_id: str = "",
        clock: Clock | None = None,
        source_system: int = 255,
        source_component: int = 190,
        ack_timeout_s: float = 1.0,
        retries: int = 2,
        stream_hz: float = 5.0,
        link_timeout_s: float = 3.0,
        heartbeat_period_s: float = 1.0,
        group: LinkGroup | None = None,
    ) -> None:
        self.url = url
        self.group = group or LinkGroup()
        self.drone_id = drone_id or url
        self.clock = clock or SystemClock()
        self.ack_timeout_s = ack_timeout_s
        self.retries = retries
        self.stream_hz = stream_hz
        self.link_timeout_s = link_timeout_s
        self._source = (source_system, source_component)
        self._heartbeat_period_s = heartbeat_period_s
        self._conn: Any = None
        self._mav: Any = None  # the dialect module
        self.sysid = 0
        self._telemetry = Telemetry()
        self._lock = threading.Lock()  # guards _telemetry and the heartbeat counts
        self._write_lock = threading.Lock()  # pymavlink's sender is not thread-safe
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._mission_ack: asyncio.Future[Any] | None = None
        self._mission_items: list[PlanItem] = []
        self._update_waiters: list[asyncio.Future[None]] = []
        self.texts: list[str] = []
        self._texts_heard = 0  # STATUSTEXTs ever received (``texts`` keeps only the last 50)
        # Heartbeats ever received, and how many had come when our last command was accepted:
        # a mode is only judged on a heartbeat sent after that command took effect.
        self._heartbeats = 0
        self._beats_at_last_command = 0
        self._next_handle = 0
        self.last_command: CommandRecord | None = None

    # ---------------------------------------------------------------- lifecycle

    async def connect(self, timeout_s: float = 10.0) -> Telemetry:
        """Open the link, wait for the autopilot's heartbeat, ask for telemetry; LinkTimeout if silent."""
        self._loop = asyncio.get_running_loop()
        try:
            await asyncio.to_thread(self._open, timeout_s)
        except LinkError:
            raise
        except Exception as exc:  # socket errors, bad URLs: pymavlink raises many kinds
            raise LinkError(f"cannot open {self.url}: {exc}", drone_id=self.drone_id) from exc
        self._stop.clear()
        self._thread = threading.Thread(target=self._read_loop, name=f"mavlink-{self.drone_id}",
                                        daemon=True)
        self._thread.start()
        await self._request_streams()
        return self.telemetry

    def _open(self, timeout_s: float) -> None:
        from pymavlink import mavutil

        conn = mavutil.mavlink_connection(
            self.url, source_system=self._source[0], source_component=self._source[1],
            autoreconnect=False, retries=1,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                conn.close()
                raise LinkTimeout(f"no heartbeat from {self.url} within {timeout_s:g} s; is the "
                                  "drone powered and the URL right?", drone_id=self.drone_id)
            msg = conn.recv_match(type="HEARTBEAT", blocking=True, timeout=min(left, 0.5))
            if msg is not None and msg.get_srcComponent() == 1 and msg.type != 6:  # not a GCS
                break
        self._conn = conn
        self._mav = mavutil.mavlink
        self.sysid = msg.get_srcSystem()
        self._on_message(msg)

    async def close(self) -> None:
        """Stop reading and close the socket; safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2.0)
            self._thread = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        with self._lock:
            self._telemetry = replace(self._telemetry, connected=False)

    # ---------------------------------------------------------------- reading

    def _read_loop(self) -> None:
        conn = self._conn
        next_beat = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_beat:
                next_beat = now + self._heartbeat_period_s
                self._send(lambda m: m.heartbeat_send(6, 8, 0, 0, 4))  # GCS, no autopilot, active
            try:
                msg = conn.recv_match(blocking=True, timeout=_READ_POLL_S)
            except Exception as exc:  # noqa: BLE001 - the socket died; the heartbeat age tells all
                if not self._stop.is_set():  # not our own close()
                    log.warning("link to %s: reading stopped (%r); the drone will be seen as "
                                "lost", self.drone_id, exc)
                break
            if msg is not None:
                self._on_message(msg)
        with self._lock:
            self._telemetry = replace(self._telemetry, connected=False)

    def _on_message(self, msg: Any) -> None:
        if msg.get_srcSystem() != self.sysid or msg.get_srcComponent() != 1:
            return
        kind = msg.get_type()
        now = self.clock.now()
        self.group.last_rx_at = now
        notify = False
        with self._lock:
            t = self._telemetry
            if kind == "HEARTBEAT":
                t = replace(t, mode=MODE_NAMES.get(msg.custom_mode, f"MODE{msg.custom_mode}"),
                            armed=bool(msg.base_mode & 128), last_heartbeat_at=now,
                            heartbeat_mono=time.monotonic(),
                            system_status=SYSTEM_STATUS.get(msg.system_status, "UNKNOWN"),
                            connected=True)
                self._heartbeats += 1
                notify = True
            elif kind == "GLOBAL_POSITION_INT":
                t = replace(t, lat=msg.lat / 1e7, lon=msg.lon / 1e7,
                            alt_rel_m=msg.relative_alt / 1000.0,
                            groundspeed_mps=math.hypot(msg.vx, msg.vy) / 100.0, position_at=now,
                            heading_deg=msg.hdg / 100.0 if msg.hdg != 65535 else t.heading_deg)
                notify = True
            elif kind == "SYS_STATUS" and msg.battery_remaining >= 0 or kind == "BATTERY_STATUS" and msg.battery_remaining >= 0:
                t = replace(t, battery_pct=float(msg.battery_remaining))
            elif kind == "EXTENDED_SYS_STATE":
                t = replace(t, landed_state=LANDED_STATES.get(msg.landed_state, "UNDEFINED"))
            elif kind == "FENCE_STATUS":
                t = replace(t, fence_breached=bool(msg.breach_status))
            elif kind == "STATUSTEXT":
                t = replace(t, last_text=msg.text,
                            fence_breached=t.fence_breached or _FENCE_BREACH_TEXT in msg.text)
                self._texts_heard += 1
                self.texts.append(msg.text)
                del self.texts[:-50]
            self._telemetry = t
        if kind == "COMMAND_ACK":
            self._resolve(self._acks.get(msg.command), msg)
        elif kind == "MISSION_ACK":
            self._resolve(self._mission_ack, msg)
        elif kind in ("MISSION_REQUEST_INT", "MISSION_REQUEST"):
            self._send_mission_item(msg.seq)
        if notify and self._update_waiters and self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_waiters)

    def _resolve(self, fut: asyncio.Future[Any] | None, msg: Any) -> None:
        if fut is None or self._loop is None:
            return

        def settle() -> None:
            if not fut.done():
                fut.set_result(msg)

        self._loop.call_soon_threadsafe(settle)

    def _send(self, write: Callable[[Any], None]) -> None:
        conn = self._conn
        if conn is None:
            raise LinkError(f"link to {self.drone_id} is not connected; call connect() first",
                            drone_id=self.drone_id)
        with self._write_lock:
            try:
                write(conn.mav)
            except OSError as exc:
                raise LinkError(f"link to {self.drone_id} failed: {exc}",
                                drone_id=self.drone_id) from exc

    # ---------------------------------------------------------------- commands

    async def _command(self, command: int, *params: float, name: str,
                       int_frame: int | None = None) -> None:
        """Send a command and await ACCEPTED: COMMAND_LONG, or COMMAND_INT in ``int_frame``.

        For COMMAND_INT, params 5 and 6 are x and y (degE7) and param 7 is z.
        """
        loop = asyncio.get_running_loop()
        p = list(params) + [0.0] * (7 - len(params))
        texts_before = self._texts_heard
        sent_at, sent_wall = self.clock.now(), time.monotonic()
        for attempt in range(self.retries + 1):
            if attempt and not self.alive():
                break  # the drone went silent: retrying would only delay the news
            fut: asyncio.Future[Any] = loop.create_future()
            self._acks[command] = fut
            if int_frame is None:
                self._send(lambda m, c=attempt: m.command_long_send(
                    self.sysid, 1, command, c, p[0], p[1], p[2], p[3], p[4], p[5], p[6]))
            else:
                self._send(lambda m: m.command_int_send(
                    self.sysid, 1, int_frame, command, 0, 0, p[0], p[1], p[2], p[3],
                    int(p[4]), int(p[5]), p[6]))
            try:
                ack = await asyncio.wait_for(fut, self.ack_timeout_s)
            except TimeoutError:
                continue
            finally:
                if self._acks.get(command) is fut:
                    del self._acks[command]
            result = self._result_name(ack.result)
            if result == "ACCEPTED":
                with self._lock:
                    self._beats_at_last_command = self._heartbeats
                self.last_command = CommandRecord(
                    self.protocol, f"{self._command_name(command)} ({name})", sent_at,
                    self.clock.now(), time.monotonic() - sent_wall)
                return
            if result == "TEMPORARILY_REJECTED" and attempt < self.retries:
                await asyncio.sleep(self.ack_timeout_s / 2)
                continue
            # only a STATUSTEXT that came with this command explains it, not an old one
            text = self.telemetry.last_text if self._texts_heard > texts_before else ""
            raise CommandRejected(
                f"drone {self.drone_id} refused {name}: {result}" + (f" ({text})" if text else ""),
                command=name, result=result, drone_id=self.drone_id, result_code=int(ack.result),
            )
        raise LinkTimeout(f"drone {self.drone_id} did not acknowledge {name} "
                          f"({self.retries + 1} tries, {self.ack_timeout_s:g} s each)",
                          drone_id=self.drone_id)

    def _command_name(self, command: int) -> str:
        enum = self._mav.enums["MAV_CMD"]
        return enum[command].name if command in enum else f"MAV_CMD {command}"

    def _result_name(self, result: int) -> str:
        enum = self._mav.enums["MAV_RESULT"]
        return enum[result].name.removeprefix("MAV_RESULT_") if result in enum else str(result)

    async def set_mode(self, mode: str) -> None:
        """Switch flight mode by name (GUIDED, AUTO, LOITER, RTL, LAND …)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
        await self._command(176, 1, MODES[mode], name=f"mode {mode}")  # DO_SET_MODE, custom

    async def arm(self) -> None:
        """Arm the motors (the autopilot's pre-arm checks apply)."""
        await self._command(400, 1, name="arm")

    async def disarm(self) -> None:
        """Disarm the motors (refused in flight)."""
        await self._command(400, 0, name="disarm")

    async def takeoff(self, alt_rel_m: float) -> None:
        """Climb to ``alt_rel_m`` metres above home (armed, on the ground, in GUIDED)."""
        await self._command(22, 0, 0, 0, 0, 0, 0, alt_rel_m, name="takeoff")

    async def goto(self, lat: float, lon: float, alt_rel_m: float) -> None:
        """Fly to (lat, lon) at ``alt_rel_m`` above home (DO_REPOSITION, switching to GUIDED)."""
        await self._command(192, -1, 1, 0, math.nan, lat * 1e7, lon * 1e7, alt_rel_m,
                            name="goto", int_frame=6)  # GLOBAL_RELATIVE_ALT_INT

    async def hold(self) -> None:
        """Hold position where the drone is now (a goto to its own position, staying GUIDED)."""
        t = self.telemetry
        if t.lat is None or t.lon is None or t.alt_rel_m is None:
            raise LinkError(f"drone {self.drone_id} has sent no position yet", drone_id=self.drone_id)
        await self.goto(t.lat, t.lon, t.alt_rel_m)

    async def return_to_launch(self) -> None:
        """Fly home and land (RTL)."""
        await self._command(20, name="return to launch")

    async def land(self) -> None:
        """Land where the drone is."""
        await self._command(21, name="land")

    async def start_mission(self) -> None:
        """Run the uploaded mission in AUTO from its first item."""
        await self._command(300, 0, 0, name="start mission")

    async def prepare(self) -> None:
        """A mission's first command: GUIDED (the mode every later verb flies in)."""
        await self.set_mode("GUIDED")

    async def fly_route(
        self,
        points: Sequence[tuple[float, float]],
        *,
        alt_rel_m: float,
        switch_radius_m: float = 10.0,
        arrival_radius_m: float = 2.0,
        on_update: Callable[[Telemetry], None] | None = None,
    ) -> Telemetry:
        """Fly through ``points`` (lat, lon) in GUIDED; returns once within ``arrival_radius_m`` of the last.

        On the ground it arms and takes off to ``alt_rel_m`` first. Each waypoint is replaced
        by the next once the drone is within ``switch_radius_m`` of it (less than the routing
        margin, so cut corners stay outside the no-fly zones). Raises ``LinkTimeout`` when
        heartbeats stop for ``link_timeout_s`` and ``MissionAborted`` when the autopilot leaves
        GUIDED (a failsafe or a pilot took over). ``on_update`` sees every position and may
        raise to stop the flight.
        """
        if not points:
            raise ValueError("a route needs at least one point")
        if not self.telemetry.airborne:
            await self.arm()
            await self.takeoff(alt_rel_m)
            while (self.telemetry.alt_rel_m or 0.0) < alt_rel_m - 1.0:
                t = await self.wait_update(WATCH_POLL_S)
                self.check_flying("GUIDED")
                if on_update is not None:
                    on_update(t)
        t = self.telemetry
        for index, (lat, lon) in enumerate(points):
            last = index == len(points) - 1
            radius = arrival_radius_m if last else switch_radius_m
            if not last and t.distance_m(lat, lon) <= radius:
                continue
            await self.goto(lat, lon, alt_rel_m)
            while True:
                t = await self.wait_update(WATCH_POLL_S)
                if on_update is not None:
                    on_update(t)
                self.check_flying("GUIDED")
                if t.distance_m(lat, lon) <= radius:
                    break
        return t

    async def hold_at(self, lat: float, lon: float, alt_rel_m: float) -> None:
        """Go to (lat, lon) at ``alt_rel_m`` and hold there (GUIDED holds at its destination)."""
        await self.goto(lat, lon, alt_rel_m)

    async def return_home(self) -> None:
        """Fly home and land (RTL)."""
        await self.return_to_launch()

    async def start_live(self, url: str | None = None) -> str:
        """Ask the camera to stream (MAV_CMD_VIDEO_START_STREAMING, all streams).

        The stream's address is the camera's own (VIDEO_STREAM_INFORMATION), not ``url``:
        returns ``url`` or "" once ACCEPTED. ArduCopter without a MAVLink camera answers
        UNSUPPORTED (``CommandRejected``).
        """
        await self._command(2502, 0, name="start video streaming")
        return url or ""

    async def run_patrol(self, waypoints: Sequence[tuple[float, float]], *,
                         alt_rel_m: float) -> int:
        """Upload a coverage mission (takeoff, waypoints, RTL) and run it in AUTO; the item count."""
        count = await self.upload_mission(list(waypoints), alt_rel_m=alt_rel_m)
        if not self.telemetry.airborne:
            await self.set_mode("GUIDED")
            await self.arm()
        await self.start_mission()
        return count

    def check_flying(self, mode: str = "GUIDED") -> None:
        """Raise if the link is dead, a failsafe is active, or the drone left ``mode``.

        Leaving ``mode`` is the autopilot's own doing when it reports a failsafe (CRITICAL) or
        a fence breach (``MissionAborted``), and another ground station's otherwise
        (``ModeOverridden``). The mode is judged only on a heartbeat that came after this
        link's last accepted command, so a heartbeat sent before our own mode change took
        effect is never read as someone else's.
        """
        t = self.telemetry
        if self.lost():
            raise LinkTimeout(f"drone {self.drone_id}: no heartbeat for "
                              f"{t.heartbeat_age_s(self.clock.now()):.1f} s", drone_id=self.drone_id)
        if t.in_failsafe:
            raise MissionAborted(f"failsafe ({t.last_text or t.system_status}), now in {t.mode}",
                                 drone_id=self.drone_id)
        if t.mode == mode:
            return
        with self._lock:
            settled = self._heartbeats > self._beats_at_last_command
        if not settled:
            return
        if t.fence_breached:
            raise MissionAborted(f"fence breach ({t.last_text or 'FENCE_STATUS'}), now in "
                                 f"{t.mode}", drone_id=self.drone_id)
        raise ModeOverridden(mode, t.mode, drone_id=self.drone_id)

    # ---------------------------------------------------------------- loudspeaker

    async def announce(self, *, clip_id: int | None = None, text: str | None = None,
                       repeat: int = 1, volume_pct: int = 100) -> Announcement:
        """Play clip ``clip_id`` or speak ``text`` through the drone's loudspeaker, once ACCEPTED.

        A text is uploaded first in TUNNEL chunks, then played with 217 (dispatch/speaker.py
        has the protocol). TUNNEL has no ACK, so a text play that FAILED (a chunk lost on a
        lossy link) is uploaded again under a new handle and tried once more. Raises
        ``PayloadError`` before sending anything for a bad request, ``CommandRejected`` with
        the autopilot's result (and the speaker's reason) when refused, ``LinkTimeout``.
        """
        kind = check_request(clip_id, text, repeat, volume_pct)
        try:
            if kind == "clip":
                await self._command(217, MSG_PLAY_CLIP, clip_id, repeat, volume_pct,
                                    name=f"play clip {clip_id}")
            else:
                assert text is not None
                try:
                    await self._speak(text, repeat, volume_pct)
                except CommandRejected as exc:
                    if exc.result != "FAILED":
                        raise
                    await self._speak(text, repeat, volume_pct)
        except CommandRejected as exc:
            if exc.result != "UNSUPPORTED":
                raise
            raise CommandRejected(f"{exc}: drone {self.drone_id} has no loudspeaker script",
                                  command=exc.command, result=exc.result, drone_id=self.drone_id,
                                  result_code=exc.result_code) from exc
        return Announcement(drone_id=self.drone_id, kind=kind, clip_id=clip_id, text=text,
                            repeat=repeat, accepted_at=self.clock.now(), result=0,
                            volume_pct=volume_pct)

    async def _speak(self, text: str, repeat: int, volume_pct: int) -> None:
        self._next_handle = self._next_handle % 0xFFFF + 1  # 1 … 65535, then round again
        handle = self._next_handle
        for payload in text_chunks(handle, text):
            padded = list(payload) + [0] * (TUNNEL_PAYLOAD_BYTES - len(payload))
            self._send(lambda m, n=len(payload), b=padded: m.tunnel_send(
                self.sysid, 1, PAYLOAD_TYPE_TEXT, n, b))
        await self._command(217, MSG_PLAY_TEXT, handle, repeat, volume_pct,
                            name=f"speak text {handle}")

    async def stop_announcement(self) -> None:
        """Silence the loudspeaker (whatever it is playing)."""
        await self._command(217, MSG_STOP, name="stop speaker")

    # ---------------------------------------------------------------- missions

    async def upload_mission(self, waypoints: Sequence[tuple[float, float]], *, alt_rel_m: float,
                             loiter_s: float = 0.0, return_home: bool = True) -> int:
        """Upload takeoff, a waypoint per (lat, lon) at ``alt_rel_m``, then RTL; returns the item count.

        MISSION_COUNT, then one MISSION_ITEM_INT per MISSION_REQUEST_INT, until MISSION_ACK;
        ``MissionRejected`` carries the autopilot's MAV_MISSION_RESULT when refused.
        """
        plan = route_items(waypoints, alt_rel_m=alt_rel_m, loiter_s=loiter_s,
                           return_home=return_home)
        items = [PlanItem(16, frame=0)]  # home, ignored by ArduPilot
        items += plan
        self._mission_items = items
        loop = asyncio.get_running_loop()
        for _attempt in range(self.retries + 1):
            self._mission_ack = loop.create_future()
            self._send(lambda m: m.mission_count_send(self.sysid, 1, len(items), 0))
            try:
                ack = await asyncio.wait_for(self._mission_ack,
                                             self.ack_timeout_s * (3 + len(items)))
            except TimeoutError:
                continue
            finally:
                self._mission_ack = None
            enum = self._mav.enums["MAV_MISSION_RESULT"]
            result = enum[ack.type].name.removeprefix("MAV_MISSION_") if ack.type in enum \
                else str(ack.type)
            if result != "ACCEPTED":
                raise MissionRejected(f"drone {self.drone_id} refused the mission: {result}",
                                      result=result, drone_id=self.drone_id)
            return len(items)
        raise LinkTimeout(f"drone {self.drone_id} did not accept the mission upload in time",
                          drone_id=self.drone_id)

    def _send_mission_item(self, seq: int) -> None:
        if not 0 <= seq < len(self._mission_items):
            return
        item = self._mission_items[seq]
        frame = _INT_FRAMES.get(item.frame, item.frame)
        self._send(lambda m: m.mission_item_int_send(
            self.sysid, 1, seq, frame, item.command, 0, int(item.autocontinue), item.param1,
            item.param2, item.param3, item.param4, int(item.lat * 1e7), int(item.lon * 1e7),
            item.alt_m, 0))

    # ---------------------------------------------------------------- streams

    async def _request_streams(self) -> None:
        interval_us = 1e6 / self.stream_hz
        # Only what this link reads: first every SRn_ group off (a vehicle may stream them
        # unasked, as the simulators do at 4 Hz: ~40 messages a second per drone that a
        # dispatcher watching a whole fleet over cellular links would never read), then the
        # messages it reads. ArduPilot applies both to the link they arrive on only, so
        # another ground station on its own link keeps its streams.
        self._send(lambda m: m.request_data_stream_send(self.sysid, 1, 0, 0, 0))
        try:
            # GLOBAL_POSITION_INT, SYS_STATUS, EXTENDED_SYS_STATE; FENCE_STATUS (sent only while
            # a fence is enabled) tells a fence breach from another ground station's mode change
            for message_id, us in ((33, interval_us), (1, 1e6), (245, 1e6), (162, 1e6)):
                await self._command(511, message_id, us, name="set message interval")
        except (CommandRejected, LinkTimeout) as exc:
            # An autopilot without SET_MESSAGE_INTERVAL, or one whose ACK did not come back in
            # time (a loaded link): ask for every stream the old way, which needs no ACK. Giving
            # up instead would leave a drone whose heartbeats arrive (so it is never reconnected)
            # without battery or position for good.
            log.warning("drone %s: %s; asking for its streams with REQUEST_DATA_STREAM",
                        self.drone_id, exc)
            self._send(lambda m: m.request_data_stream_send(self.sysid, 1, 0,
                                                            max(1, round(self.stream_hz)), 1))

    def __repr__(self) -> str:
        return f"DroneLink({self.url!r}, drone_id={self.drone_id!r}, sysid={self.sysid})"
