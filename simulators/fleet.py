"""Many simulated copters in one process, stepped together by one clock, each with its own endpoint.

``Fleet.start(...)`` opens every vehicle's sockets (errors surface in the caller), then runs
physics, telemetry and all sockets in one background thread. With a ``SimClock`` the fleet
follows mission time at the clock's speed-up; with a ``SteppedClock`` it stands still until
``advance``/``advance_until`` moves it, as fast as the CPU allows, deterministically.
``dji_docks`` adds simulated DJI docks (``simulators.dji``) on an MQTT broker: their aircraft
fly the same ``Vehicle`` physics, stepped by the same thread and clock.
"""

from __future__ import annotations

import math
import selectors
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from simulators.clock import SimClock, SteppedClock
from simulators.errors import NotStepped, SimulatorError
from simulators.links import Link, TcpListener, open_udp_out
from simulators.mavlink_endpoint import VehicleEndpoint
from simulators.params import STREAM_GROUP_SUFFIXES, STREAM_LINKS, Params, stream_param
from simulators.speaker import Play, Speaker
from simulators.vehicle import Home, Vehicle, VehicleState

__all__ = ["Fleet", "FleetStats", "SimVehicle", "home_of", "silent_streams"]

DEFAULT_BASE_TCP_PORT = 5760
PORT_STRIDE = 10  # SITL instance i listens on 5760 + 10*i
_MAX_STEPS_PER_BATCH = 200  # service sockets at least this often while catching up
_IDLE_WAIT_S = 0.2


def home_of(place: Any, amsl_m: float = 10.0) -> Home:
    """A ``Home`` from a Home, a Dock-like object (lat, lon, name/id) or a (lat, lon) pair."""
    if isinstance(place, Home):
        return place
    if hasattr(place, "lat") and hasattr(place, "lon"):
        name = getattr(place, "name", "") or str(getattr(place, "id", ""))
        return Home(float(place.lat), float(place.lon), amsl_m, name)
    try:
        lat, lon = place
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a home is (lat, lon) or a dock with .lat/.lon, got {place!r}") from exc
    return Home(float(lat), float(lon), amsl_m)


def silent_streams() -> dict[str, float]:
    """Parameter overrides for ArduCopter's stream defaults: every SRn_ rate 0 (HEARTBEAT only)."""
    return {stream_param(link, suffix): 0.0
            for link in range(STREAM_LINKS) for suffix in STREAM_GROUP_SUFFIXES}


@dataclass(frozen=True)
class FleetStats:
    """How the fleet is keeping up: steps done, mission time, lag behind the clock, traffic."""

    steps: int
    time_s: float
    lag_s: float
    max_lag_s: float  # the most the physics has been behind the clock since the start
    messages_sent: int
    connections: int


class SimVehicle:
    """The test-facing handle of one vehicle: identity, endpoint, true state, fault injection."""

    def __init__(self, fleet: Fleet, endpoint: VehicleEndpoint, listener: TcpListener,
                 udp_out: str | None) -> None:
        self._fleet = fleet
        self._endpoint = endpoint
        self.sysid = endpoint.sysid
        self.home = endpoint.vehicle.home
        self.tcp_port = listener.port
        self.endpoint = f"tcp:{listener.host}:{listener.port}"
        self.udp_out = udp_out

    @property
    def state(self) -> VehicleState:
        """The true state now (position, mode, armed, battery …), for assertions."""
        with self._fleet._lock:
            return self._endpoint.vehicle.snapshot(link_up=self._endpoint.link_up)

    @property
    def speaker(self) -> Speaker | None:
        """The loudspeaker this copter carries (None without one); ``played`` is its log."""
        return self._endpoint.vehicle.speaker

    @property
    def played(self) -> list[Play]:
        """Every warning the speaker played so far, oldest first (a copy; [] without a speaker)."""
        with self._fleet._lock:
            speaker = self._endpoint.vehicle.speaker
            return list(speaker.played) if speaker is not None else []

    def drop_link(self, duration_s: float) -> None:
        """Silence the link both ways for ``duration_s`` mission seconds."""
        with self._fleet._lock:
            now = self._endpoint.vehicle.time_s
            self._endpoint.link_down_until_s = max(self._endpoint.link_down_until_s,
                                                   now + duration_s)

    def fail_battery(self) -> None:
        """Fail one cell of the pack; the low-voltage failsafe follows after BATT_LOW_TIMER."""
        with self._fleet._lock:
            self._endpoint.vehicle.fail_battery()

    def refuse_arm(self, reason: str = "Fault injected") -> None:
        """Make arming fail with "PreArm: <reason>" until ``allow_arm``."""
        with self._fleet._lock:
            self._endpoint.vehicle.refuse_arm_reason = reason

    def allow_arm(self) -> None:
        """Undo ``refuse_arm``."""
        with self._fleet._lock:
            self._endpoint.vehicle.refuse_arm_reason = None

    def lose_gps(self, duration_s: float) -> None:
        """Lose the GPS fix for ``duration_s`` mission seconds."""
        with self._fleet._lock:
            self._endpoint.vehicle.lose_gps(duration_s)

    def set_param(self, name: str, value: float) -> float:
        """Set a parameter directly, as if from a ground station; returns the value stored."""
        with self._fleet._lock:
            return self._endpoint.vehicle.set_param(name, value)

    def __repr__(self) -> str:
        return f"SimVehicle(sysid={self.sysid}, endpoint={self.endpoint!r}, home={self.home!r})"


class Fleet:
    """Simulated copters sharing one clock and one thread; use ``Fleet.start`` as a context manager."""

    def __init__(self) -> None:  # use Fleet.start
        self._lock = threading.RLock()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._links: list[Link] = []
        self._listeners: list[TcpListener] = []
        self._endpoints: list[VehicleEndpoint] = []
        self.vehicles: list[SimVehicle] = []
        self.docks: list[Any] = []  # simulators.dji.SimDock handles
        self._docks: list[Any] = []
        self._dji: Any = None
        self.clock: SimClock | SteppedClock = SteppedClock()
        self.dt_s = 0.1
        self._time_s = 0.0
        self._steps = 0
        self._max_lag_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._target_s = 0.0
        self._until: Callable[[], bool] | None = None
        self._reached = threading.Event()
        self._scheduled: list[tuple[float, Callable[[], None]]] = []
        self._error: BaseException | None = None

    # ------------------------------------------------------------------ start/stop

    @classmethod
    def start(
        cls,
        homes: Iterable[Any],
        *,
        speedup: float = 1.0,
        seed: int = 0,
        base_tcp_port: int | None = DEFAULT_BASE_TCP_PORT,
        udp_out_ports: Sequence[int | None] | None = None,
        clock: SimClock | SteppedClock | None = None,
        host: str = "127.0.0.1",
        udp_host: str = "127.0.0.1",
        stream_hz: float | None = None,
        physics_dt_s: float = 0.1,
        home_amsl_m: float = 10.0,
        params: dict[str, float] | None = None,
        speakers: Sequence[bool] | None = None,
        dji_docks: Iterable[Any] = (),
        mqtt_host: str = "127.0.0.1",
        mqtt_port: int = 1883,
        dji_serial_prefix: str | None = None,
        dji_config: dict[str, Any] | None = None,
    ) -> Fleet:
        """Open every vehicle's endpoint and start flying them in a background thread.

        ``homes``: docks (objects with lat/lon and name/id), ``Home``s or (lat, lon) pairs;
        vehicle i gets system id i+1 and TCP port ``base_tcp_port + 10*i`` (0 or None: any
        free port, read it from ``vehicles[i].endpoint``). ``udp_out_ports[i]``, when given,
        also sends vehicle i's telemetry to that UDP port on ``udp_host``. What each link
        streams unasked: ``stream_hz`` None, the SRn_ parameters (4 Hz per group unless
        ``params`` says otherwise); 0, nothing but HEARTBEAT (ArduCopter's own SRn_ defaults);
        > 0, every telemetry message at that rate. ``params`` overrides
        parameter defaults on every vehicle (e.g. {"SIM_WIND_SPD": 3}). ``speakers[i]`` False
        leaves vehicle i without a loudspeaker (by default every vehicle carries one).
        ``dji_docks``: places (as ``homes``) of simulated DJI docks speaking the Cloud API on
        the broker ``mqtt_host:mqtt_port`` (``EndpointUnavailable`` when it cannot be reached),
        dock j as gateway ``{prefix}D{j+1}`` with aircraft ``{prefix}A{j+1}`` (a random prefix
        unless ``dji_serial_prefix``); ``dji_config`` overrides ``DockConfig`` fields (cover
        times, take-off threshold, GEO zones …). Their handles are ``docks``.
        """
        homes = [home_of(h, home_amsl_m) for h in homes]
        dock_homes = [home_of(h, home_amsl_m) for h in dji_docks]
        if stream_hz is not None and not (math.isfinite(stream_hz) and stream_hz >= 0):
            raise ValueError(f"stream_hz must be None, 0 or a rate in Hz, got {stream_hz!r}")
        if stream_hz == 0:
            params = {**silent_streams(), **(params or {})}
        if not homes and not dock_homes:
            raise ValueError("a fleet needs at least one home (dock)")
        if not (math.isfinite(physics_dt_s) and 0.001 <= physics_dt_s <= 1.0):
            raise ValueError(f"physics_dt_s must be in [0.001, 1], got {physics_dt_s!r}")
        if udp_out_ports is not None and len(udp_out_ports) != len(homes):
            raise ValueError(f"udp_out_ports has {len(udp_out_ports)} entries for {len(homes)} "
                             "vehicles; give one per vehicle (None for none)")
        if speakers is not None and len(speakers) != len(homes):
            raise ValueError(f"speakers has {len(speakers)} entries for {len(homes)} vehicles; "
                             "give one per vehicle (True: it carries a loudspeaker)")
        fleet = cls()
        fleet.clock = clock if clock is not None else SimClock(speedup)
        fleet.dt_s = physics_dt_s
        retry_s = max(1.0, getattr(fleet.clock, "speedup", 1.0))
        try:
            for i, home in enumerate(homes):
                speaker = Speaker() if speakers is None or speakers[i] else None
                vehicle = Vehicle(i + 1, home, seed=seed, params=Params(**(params or {})),
                                  speaker=speaker)
                endpoint = VehicleEndpoint(vehicle, fleet.clock, mission_retry_s=retry_s)
                port = 0 if not base_tcp_port else base_tcp_port + PORT_STRIDE * i
                listener = TcpListener(host, port, endpoint, stream_hz or 0.0)
                fleet._listeners.append(listener)
                fleet._selector.register(listener, selectors.EVENT_READ, listener)
                udp_port = udp_out_ports[i] if udp_out_ports is not None else None
                udp_label = None
                if udp_port:
                    link = open_udp_out(udp_host, udp_port, endpoint, stream_hz or 0.0)
                    fleet._add_link(link)
                    udp_label = f"udp:{udp_host}:{udp_port}"
                fleet._endpoints.append(endpoint)
                fleet.vehicles.append(SimVehicle(fleet, endpoint, listener, udp_label))
            if dock_homes:
                fleet._start_docks(dock_homes, seed=seed, params=params, host=mqtt_host,
                                   port=mqtt_port, prefix=dji_serial_prefix,
                                   config=dji_config or {})
        except BaseException:
            fleet._close_sockets()
            raise
        fleet._thread = threading.Thread(target=fleet._run, name="flyonce-fleet", daemon=True)
        fleet._thread.start()
        return fleet

    def _start_docks(self, homes: list[Home], *, seed: int, params: dict[str, float] | None,
                     host: str, port: int, prefix: str | None, config: dict[str, Any]) -> None:
        from simulators.dji import Dock, DockConfig, DockEndpoints, SimDock

        prefix = prefix if prefix is not None else f"SIM{uuid.uuid4().hex[:6].upper()}"
        for j, home in enumerate(homes):
            vehicle = Vehicle(len(self._endpoints) + j + 1, home, seed=seed,
                              params=Params(**(params or {})))
            cfg = DockConfig(gateway_sn=f"{prefix}D{j + 1}", aircraft_sn=f"{prefix}A{j + 1}",
                             **config)
            self._docks.append(Dock(cfg, vehicle, self.clock))
        self._dji = DockEndpoints(self._docks, self._lock, self.clock, host=host, port=port)
        self._dji.start()
        self.docks = [SimDock(d, self._dji, self._lock) for d in self._docks]

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the thread and close every socket; safe to call twice."""
        self._stop.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self._close_sockets()

    def _close_sockets(self) -> None:
        if self._dji is not None:
            self._dji.stop()
            self._dji = None
        with self._lock:
            for link in list(self._links):
                link.close()
            for listener in self._listeners:
                listener.close()
            self._links.clear()
            self._listeners.clear()
        try:
            self._selector.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
        self._wake_r.close()
        self._wake_w.close()

    # ------------------------------------------------------------------ public reading/driving

    @property
    def stepped(self) -> bool:
        """True when the fleet moves only through ``advance``."""
        return isinstance(self.clock, SteppedClock)

    @property
    def time_s(self) -> float:
        """Mission seconds the physics has simulated."""
        return self._time_s

    def stats(self) -> FleetStats:
        """Steps, mission time, lag behind the clock and messages sent so far."""
        with self._lock:
            lag = 0.0 if self.stepped else max(0.0, self.clock.elapsed_s() - self._time_s)
            sent = sum(ch.sent for ep in self._endpoints for ch in ep.channels)
            return FleetStats(self._steps, self._time_s, lag, max(self._max_lag_s, lag), sent,
                              len(self._links))

    def at(self, time_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` (e.g. a fault) in the fleet thread once mission time reaches ``time_s``."""
        with self._lock:
            self._scheduled.append((time_s, action))
            self._scheduled.sort(key=lambda item: item[0])

    def advance(self, duration_s: float, *, timeout_s: float = 120.0) -> None:
        """Stepped fleets only: simulate ``duration_s`` more mission seconds, then stand still."""
        self.advance_until(lambda: False, duration_s, timeout_s=timeout_s)

    def advance_until(self, done: Callable[[], bool], max_s: float, *,
                      timeout_s: float = 120.0) -> bool:
        """Stepped fleets only: step until ``done()`` (checked after each step) or ``max_s`` pass.

        Returns whether ``done()`` became true. ``done`` runs in the fleet thread; reading
        ``vehicles[i].state`` inside it is fine.
        """
        if not self.stepped:
            raise NotStepped("advance() needs Fleet.start(..., clock=SteppedClock())")
        with self._lock:
            self._check_alive()
            self._reached.clear()
            self._until = done
            self._target_s = self._time_s + max_s
        self._wake()
        if not self._reached.wait(timeout_s):
            raise TimeoutError(f"the fleet did not advance {max_s} s within {timeout_s} s")
        self._check_alive()
        with self._lock:
            return done()

    def _check_alive(self) -> None:
        if self._error is not None:
            raise SimulatorError(f"the fleet thread stopped: {self._error!r}") from self._error

    # ------------------------------------------------------------------ the thread

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _add_link(self, link: Link) -> None:
        self._links.append(link)
        self._selector.register(link, selectors.EVENT_READ, link)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._lock:
                    timeout = self._step_what_is_due()
                    self._flush()
                self._service_io(timeout)
        except BaseException as exc:
            self._error = exc
            self._reached.set()
            raise

    def _step_once(self) -> None:
        dt = self.dt_s
        for endpoint in self._endpoints:
            endpoint.vehicle.step(dt)
        for dock in self._docks:
            dock.step(dt)
        self._time_s += dt
        self._steps += 1
        if isinstance(self.clock, SteppedClock):
            self.clock.advance(dt)
        while self._scheduled and self._scheduled[0][0] <= self._time_s + 1e-9:
            _, action = self._scheduled.pop(0)
            action()
        for endpoint in self._endpoints:
            endpoint.tick()
        if self._dji is not None:
            self._dji.tick()

    def _step_what_is_due(self) -> float:
        """Run the steps now due; return how long the selector may wait."""
        dt = self.dt_s
        if self.stepped:
            for _ in range(_MAX_STEPS_PER_BATCH):
                if self._reached.is_set() or self._time_s + dt > self._target_s + 1e-9:
                    self._until = None
                    self._reached.set()
                    return _IDLE_WAIT_S
                self._step_once()
                if self._until is not None and self._until():
                    self._until = None
                    self._reached.set()
                    return _IDLE_WAIT_S
            return 0.0
        clock = self.clock
        due_s = clock.elapsed_s()
        self._max_lag_s = max(self._max_lag_s, due_s - self._time_s)
        for _ in range(_MAX_STEPS_PER_BATCH):
            if self._time_s + dt > due_s:
                break
            self._step_once()
        else:
            return 0.0  # behind: service sockets, then keep catching up
        return min(clock.wall_s_until(self._time_s + dt), _IDLE_WAIT_S)

    def _flush(self) -> None:
        for link in list(self._links):
            link.flush()
            if link.closed:
                self._drop(link)

    def _drop(self, link: Link) -> None:
        if link in self._links:
            self._links.remove(link)
            try:
                self._selector.unregister(link)
            except (KeyError, ValueError):
                pass
        link.close()

    def _service_io(self, timeout: float) -> None:
        events = self._selector.select(timeout)
        with self._lock:
            for key, _ in events:
                target = key.data
                if target is None:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                elif isinstance(target, TcpListener):
                    link = target.accept()
                    if link is not None:
                        self._add_link(link)
                else:
                    target.on_readable()
                    if target.closed:
                        self._drop(target)
