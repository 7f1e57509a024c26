"""One DJI dock and its aircraft over DJI's Cloud API (MQTT): ``dispatch.links.VehicleLink``.

    link = DjiLink("dji+mqtt://127.0.0.1:1883/7CTDM3D00B0123", drone_id="dock-2", clock=clock)
    await link.connect()                      # the dock's osd arrives (0.5 Hz)
    await link.prepare()                      # flight_authority_grab
    await link.fly_route([(lat, lon)], alt_rel_m=30)   # takeoff_to_point, then fly_to_point
    await link.announce(text="此处禁止占道经营，请立即离开")   # speaker_tts_play_start
    await link.return_home()                  # return_home: back into the dock, which charges it

What goes on the wire (the services, their replies and progress events) is DJI's thing model
(``dispatch.dji_thing``; docs/dji.md cites the pages). paho-mqtt runs its network loop in a
thread; the verbs run on the asyncio loop and wait on futures that thread resolves, so no MQTT
call blocks the loop. A service is sent again with the same ``tid`` when its reply does not come
within ``ack_timeout_s`` (wall) while the dock is still heard; a reply whose ``result`` is not 0
raises ``CommandRejected`` with DJI's code as ``result_code``. Progress events that end in
``wayline_failed`` raise it too. Link health is the age of the osd (the dock's while the
aircraft is in it, the aircraft's once it is out), judged like ``Telemetry.silent``; the
documented 0.5 Hz osd makes the silence threshold three periods (6 s) at least. Malformed
messages are counted (``malformed``) and logged, never fatal.

What a dock cannot do through the Cloud API is refused here before anything is sent
(``CommandRejected`` with result ``UNSUPPORTED``): landing where it is (``return_home`` lands it
in its dock) and patrols (a wayline KMZ file, not implemented).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dispatch.dji_thing import (
    COVER_NAMES,
    DOCK_MODE_NAMES,
    MODE_NAMES,
    PILOT_MODES,
    SELF_RETURN_MODES,
    TAKEOFF_MODES,
    MalformedMessage,
    decode,
    envelope,
    result_text,
    topic,
)
from dispatch.errors import (
    CommandRejected,
    LinkError,
    LinkTimeout,
    MissionAborted,
    ModeOverridden,
    PayloadError,
)
from dispatch.link import WATCH_POLL_S, Clock, LinkGroup, LinkHealth, SystemClock, Telemetry
from dispatch.links import DJI, CommandRecord, parse_link_url
from dispatch.speaker import Announcement, check_request

__all__ = ["OSD_PERIOD_S", "ClipFile", "DjiLink"]

log = logging.getLogger("flyonce.dispatch.dji")

OSD_PERIOD_S = 2.0  # "Device will report in the frequency of 0.5HZ" (Properties, pushMode 0)
DEFAULT_LAUNCH_S = 20.0  # cover opening and aircraft power-on before the climb (docs/dji.md)
DEFAULT_PSDK_INDEX = 2  # the PSDK port the loudspeaker sits on (DJI's examples use 2)
MAX_SPEED_MPS = 12  # fly_to_point / takeoff_to_point max_speed (1-15 m/s): the model's cruise
_EXPECTED_MODE = "LIVE_FLIGHT_CONTROLS"
_END_OK = ("wayline_ok", "task_finish")
# After a task ended well, how long (mission s) to wait for an osd that puts the aircraft at its
# target: two osd periods (DJI's osd comes at 0.5 Hz).
OSD_AGREE_S = 4.0
_END_FAILED = ("wayline_failed", "wayline_cancel")


@dataclass(frozen=True)
class ClipFile:
    """A recorded warning the dock downloads for ``speaker_audio_play_start``."""

    name: str
    url: str
    md5: str
    format: str = "pcm"


class DjiLink(LinkHealth):
    """A DJI dock (gateway) and its aircraft, reached through an MQTT broker."""

    protocol = DJI

    def __init__(self, url: str, *, drone_id: str = "", clock: Clock | None = None,
                 ack_timeout_s: float = 1.0, retries: int = 2, link_timeout_s: float = 3.0,
                 group: LinkGroup | None = None, clips: Mapping[int, ClipFile] | None = None,
                 credentials: Mapping[str, str] | None = None, mqtt_username: str | None = None,
                 mqtt_password: str | None = None, **_mavlink_only: Any) -> None:
        parsed = parse_link_url(url)
        self.url = url
        self.drone_id = drone_id or parsed.gateway_sn
        self.gateway_sn = parsed.gateway_sn
        self._broker = (parsed.address, parsed.port)
        self.clock = clock or SystemClock()
        self.group = group or LinkGroup()
        self.ack_timeout_s = ack_timeout_s
        self.retries = retries
        self.link_timeout_s = max(link_timeout_s, 3 * OSD_PERIOD_S)
        self.launch_s = float(parsed.option("launch_s", str(DEFAULT_LAUNCH_S)) or DEFAULT_LAUNCH_S)
        self.psdk_index = int(parsed.option("psdk_index", str(DEFAULT_PSDK_INDEX)) or 2)
        self.camera_index = parsed.option("camera_index", "81-0-0") or "81-0-0"
        self.live_url = parsed.option("live_url") or f"rtmp://127.0.0.1/live/{self.gateway_sn}"
        self.clips = dict(clips or {})
        self.credentials = dict(credentials or {})  # app_id, app_key, app_license, ntp_server_host
        self._mqtt_auth = (mqtt_username, mqtt_password)
        self.last_command: CommandRecord | None = None
        self.malformed = 0  # messages on our topics that were not the thing model's JSON
        self.aircraft_sn = ""
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._mqtt_up = False
        self._dock: dict[str, Any] = {}
        self._aircraft: dict[str, Any] = {}
        self._dock_at = self._aircraft_at = None
        self._dock_mono = self._aircraft_mono = None
        self._telemetry = Telemetry()
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._progress: dict[str, dict[str, Any]] = {}  # by flight_id / fly_to_id / md5
        self._update_waiters: list[asyncio.Future[None]] = []
        self._sent_home = False
        self._replays: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- lifecycle

    async def connect(self, timeout_s: float = 10.0) -> Telemetry:
        """Connect to the broker and wait for the dock's first osd; ``LinkTimeout`` if none comes."""
        self._loop = asyncio.get_running_loop()
        if self._client is None:
            try:
                await asyncio.to_thread(self._open)
            except OSError as exc:
                raise LinkError(f"cannot reach the MQTT broker {self._broker[0]}:"
                                f"{self._broker[1]} for dock {self.gateway_sn}: {exc}",
                                drone_id=self.drone_id) from exc
        deadline = time.monotonic() + timeout_s
        while not self.telemetry.connected:
            if time.monotonic() >= deadline:
                raise LinkTimeout(f"no osd from dock {self.gateway_sn} within {timeout_s:g} s; is "
                                  "the dock online on this broker and its serial number right?",
                                  drone_id=self.drone_id)
            await self.wait_update(min(0.1, max(deadline - time.monotonic(), 0.01)))
        return self.telemetry

    def _open(self) -> None:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"flyonce-{self.drone_id}-{uuid.uuid4().hex[:8]}")
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(0.2, 2.0)
        if self._mqtt_auth[0]:
            client.username_pw_set(*self._mqtt_auth)
        client.connect(self._broker[0], self._broker[1], keepalive=10)
        client.loop_start()
        self._client = client

    async def close(self) -> None:
        """Disconnect from the broker; safe to call twice."""
        for task in list(self._replays):
            task.cancel()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(client.disconnect)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(client.loop_stop)
        with self._lock:
            self._mqtt_up = False
            self._telemetry = replace(self._telemetry, connected=False)

    # ---------------------------------------------------------------- paho's thread

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any,
                    _props: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("dock %s: broker refused the connection: %s", self.gateway_sn, reason)
            return
        with self._lock:
            self._mqtt_up = True
        for kind in ("osd", "state", "services_reply", "events", "requests"):
            client.subscribe(topic(self.gateway_sn, kind), qos=1 if kind != "osd" else 0)
        if self.aircraft_sn:
            client.subscribe(topic(self.aircraft_sn, "osd"), qos=0)

    def _on_disconnect(self, *_args: Any) -> None:
        with self._lock:
            self._mqtt_up = False
            self._telemetry = replace(self._telemetry, connected=False)

    def _on_message(self, client: Any, _userdata: Any, msg: Any) -> None:
        try:
            message = decode(msg.payload)
            self._route(client, msg.topic, message)
        except (MalformedMessage, KeyError, TypeError, ValueError) as exc:
            self.malformed += 1
            log.warning("dock %s: ignored a malformed message on %s: %s", self.gateway_sn,
                        msg.topic, exc)

    def _route(self, client: Any, where: str, message: dict[str, Any]) -> None:
        parts = where.split("/")
        sn, kind = parts[2], parts[3]
        data = message.get("data") or {}
        now, mono = self.clock.now(), time.monotonic()
        self.group.last_rx_at = now
        if kind == "osd":
            with self._lock:
                if sn == self.gateway_sn:
                    self._dock.update(data)
                    self._dock_at, self._dock_mono = now, mono
                else:
                    self._aircraft.update(data)
                    self._aircraft_at, self._aircraft_mono = now, mono
                self._rebuild()
            aircraft = (data.get("sub_device") or {}).get("device_sn") if sn == self.gateway_sn \
                else None
            if aircraft and aircraft != self.aircraft_sn:
                self.aircraft_sn = str(aircraft)
                client.subscribe(topic(self.aircraft_sn, "osd"), qos=0)
            self._notify()
        elif kind == "services_reply":
            self._settle(str(message["tid"]), message)
        elif kind == "events":
            self._on_event(client, message, data)
        elif kind == "requests":
            self._on_request(client, message)

    def _on_event(self, client: Any, message: dict[str, Any], data: dict[str, Any]) -> None:
        method = str(message.get("method", ""))
        key = data.get("flight_id") or data.get("fly_to_id") or \
            (data.get("output") or {}).get("md5")
        if key:
            with self._lock:
                self._progress[str(key)] = {"method": method, **data}
        if message.get("need_reply"):
            reply = envelope(method, {"result": 0}, timestamp_ms=self._ms(),
                             tid=message.get("tid"), bid=message.get("bid"))
            client.publish(topic(self.gateway_sn, "events_reply"), json.dumps(reply), qos=1)
        self._notify()

    def _on_request(self, client: Any, message: dict[str, Any]) -> None:
        """Answer the dock's ``config`` request with the organisation's credentials (settings)."""
        method = message.get("method")
        if method == "config" and self.credentials:
            data = {"result": 0, "output": dict(self.credentials)}
        else:  # nothing to give: the dock keeps asking, the log says why
            log.warning("dock %s asked %r; no answer configured (FLYONCE_DJI_* settings)",
                        self.gateway_sn, method)
            data = {"result": 1}
        reply = envelope(method, data, timestamp_ms=self._ms(), tid=message.get("tid"),
                         bid=message.get("bid"))
        client.publish(topic(self.gateway_sn, "requests_reply"), json.dumps(reply), qos=1)

    def _rebuild(self) -> None:
        """The ``Telemetry`` from the dock's and the aircraft's last osd (under ``_lock``)."""
        dock, ac = self._dock, self._aircraft
        in_dock = bool(dock.get("drone_in_dock", 1))
        # the aircraft's osd counts while it flies, or while it is powered in the dock (one came
        # within the last osd period and a half of the dock's); a powered-off aircraft is silent
        fresh = self._aircraft_at is not None and (
            not in_dock or self._dock_at is None or
            (self._dock_at - self._aircraft_at).total_seconds() < 1.5 * OSD_PERIOD_S)
        code = ac.get("mode_code") if fresh and ac else 0
        mode = "IN_DOCK" if in_dock and code in (0, None) else MODE_NAMES.get(code, f"MODE{code}")
        if in_dock or mode in ("IDLE", "IN_DOCK", "TAKEOFF_PREPARE", "TAKEOFF_FINISHED",
                               "DISCONNECTED"):
            landed = "ON_GROUND"
        elif mode == "TAKEOFF_AUTO":
            landed = "TAKEOFF"
        elif mode.startswith("LANDING"):
            landed = "LANDING"
        else:
            landed = "IN_AIR"
        if landed == "ON_GROUND" and in_dock and mode in ("IN_DOCK", "IDLE"):
            self._sent_home = False  # home: a later return is a new one
        source = ac if fresh and not in_dock else dock
        battery = (ac.get("battery") or {}).get("capacity_percent") if fresh else None
        if battery is None:
            battery = (dock.get("drone_charge_state") or {}).get("capacity_percent")
        critical = mode in SELF_RETURN_MODES and not self._sent_home
        beat_at, beat_mono = (self._dock_at, self._dock_mono) if in_dock else \
            (self._aircraft_at, self._aircraft_mono)
        head = ac.get("attitude_head") if fresh and not in_dock else None
        self._telemetry = replace(
            self._telemetry,
            lat=_num(source.get("latitude"), self._telemetry.lat),
            lon=_num(source.get("longitude"), self._telemetry.lon),
            alt_rel_m=float(ac.get("elevation", 0.0)) if fresh and not in_dock else 0.0,
            groundspeed_mps=float(ac.get("horizontal_speed", 0.0)) if fresh else 0.0,
            heading_deg=float(head) % 360.0 if head is not None else None,
            mode=mode, armed=landed != "ON_GROUND", landed_state=landed,
            battery_pct=float(battery) if battery is not None else None,
            system_status="CRITICAL" if critical else ("ACTIVE" if landed != "ON_GROUND"
                                                       else "STANDBY"),
            last_text=f"aircraft in {mode} on its own" if critical else self._telemetry.last_text,
            last_heartbeat_at=beat_at, heartbeat_mono=beat_mono, position_at=beat_at,
            connected=self._mqtt_up and self._dock_at is not None,
            not_ready=self._not_ready(dock, battery, in_dock),
        )

    @staticmethod
    def _not_ready(dock: dict[str, Any], battery: Any, in_dock: bool) -> str:
        cover = dock.get("cover_state", 0)
        if cover == 3:
            return f"dock cover {COVER_NAMES[3]} (cover_state 3)"
        mode = dock.get("mode_code", 0)
        if mode in (1, 2, 3):
            return f"dock in {DOCK_MODE_NAMES[mode]}"
        if not in_dock:
            return "aircraft on the ground outside its dock"
        need = dock.get("flighttask_prepare_capacity")
        if battery is not None and need is not None and battery < need:
            return f"charging: {battery:.0f} % is below the dock's take-off threshold {need} %"
        return ""

    def _notify(self) -> None:
        if self._update_waiters and self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_waiters)

    def _settle(self, tid: str, message: dict[str, Any]) -> None:
        fut = self._replies.get(tid)
        if fut is None or self._loop is None:
            return

        def settle() -> None:
            if not fut.done():
                fut.set_result(message)

        self._loop.call_soon_threadsafe(settle)

    # ---------------------------------------------------------------- reading

    def check_flying(self, mode: str | None = None) -> None:
        """Raise if the link is lost (``LinkTimeout``), the aircraft returns or lands on its own
        (``MissionAborted``), or a pilot flies it (``ModeOverridden``)."""
        t = self.telemetry
        if self.lost():
            raise LinkTimeout(f"dock {self.gateway_sn}: no osd for "
                              f"{t.heartbeat_age_s(self.clock.now()):.1f} s",
                              drone_id=self.drone_id)
        if t.mode in SELF_RETURN_MODES and not self._sent_home:
            raise MissionAborted(f"the aircraft went to {t.mode} on its own (low battery, lost "
                                 "signal or a GEO zone)", drone_id=self.drone_id)
        if t.mode in PILOT_MODES:
            raise ModeOverridden(mode or _EXPECTED_MODE, t.mode, drone_id=self.drone_id)

    # ---------------------------------------------------------------- services

    async def _service(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        """Send ``method`` and await its services_reply; its ``output``. ``CommandRejected`` with
        DJI's result code when not 0, ``LinkTimeout`` when never answered."""
        client = self._client
        if client is None:
            raise LinkError(f"dock {self.gateway_sn} is not connected; call connect() first",
                            drone_id=self.drone_id)
        message = envelope(method, data, timestamp_ms=self._ms())
        tid = message["tid"]
        payload = json.dumps(message, ensure_ascii=False)
        sent_at, sent_wall = self.clock.now(), time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            for attempt in range(self.retries + 1):
                if attempt and not self.alive():
                    break
                fut = self._replies[tid] = loop.create_future()
                client.publish(topic(self.gateway_sn, "services"), payload, qos=1)
                try:
                    reply = await asyncio.wait_for(fut, self.ack_timeout_s)
                except TimeoutError:
                    continue
                body = reply.get("data") or {}
                result = int(body.get("result", -1))
                if result != 0:
                    raise CommandRejected(
                        f"dock {self.gateway_sn} refused {method}: {result_text(result)}",
                        command=method, result=str(result), drone_id=self.drone_id,
                        result_code=result)
                self.last_command = CommandRecord(DJI, method, sent_at, self.clock.now(),
                                                  time.monotonic() - sent_wall)
                return body.get("output") or {}
        finally:
            self._replies.pop(tid, None)
        raise LinkTimeout(f"dock {self.gateway_sn} did not answer {method} "
                          f"({self.retries + 1} tries, {self.ack_timeout_s:g} s each)",
                          drone_id=self.drone_id)

    def _ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _height(self, alt_rel_m: float) -> float:
        """The ellipsoid height ``alt_rel_m`` above the dock (fly-to heights are ellipsoidal)."""
        with self._lock:
            dock_h = float(self._dock.get("height", 0.0))
        return round(dock_h + alt_rel_m, 1)

    # ---------------------------------------------------------------- flying

    async def prepare(self) -> None:
        """Take the flight control authority (``flight_authority_grab``): a mission's first command."""
        await self._service("flight_authority_grab", {})

    async def fly_route(self, points: Sequence[tuple[float, float]], *, alt_rel_m: float,
                        switch_radius_m: float = 10.0, arrival_radius_m: float = 2.0,
                        on_update: Callable[[Telemetry], None] | None = None) -> Telemetry:
        """From the dock: ``takeoff_to_point`` to the first point; then ``fly_to_point`` through
        the rest. Returns when the last point's progress says ``wayline_ok`` or the osd is within
        ``arrival_radius_m`` of it."""
        if not points:
            raise ValueError("a route needs at least one point")
        self._sent_home = False
        points = list(points)
        if not self.telemetry.airborne:
            first, points = points[0], points[1:]
            flight_id = str(uuid.uuid4())
            await self._service("takeoff_to_point", {
                "flight_id": flight_id, "target_latitude": first[0], "target_longitude": first[1],
                "target_height": self._height(alt_rel_m),
                "security_takeoff_height": max(20.0, alt_rel_m), "rth_altitude": alt_rel_m,
                "rth_mode": 1, "rc_lost_action": 2, "commander_mode_lost_action": 1,
                "commander_flight_mode": 1, "commander_flight_height": alt_rel_m,
                "max_speed": MAX_SPEED_MPS})
            await self._follow("takeoff_to_point", flight_id, first,
                               switch_radius_m if points else arrival_radius_m, on_update)
        if points:
            fly_to_id = await self._fly_to(points, alt_rel_m)
            await self._follow("fly_to_point", fly_to_id, points[-1], arrival_radius_m, on_update)
        return self.telemetry

    async def _fly_to(self, points: Sequence[tuple[float, float]], alt_rel_m: float) -> str:
        fly_to_id = str(uuid.uuid4())
        height = self._height(alt_rel_m)
        await self._service("fly_to_point", {
            "fly_to_id": fly_to_id, "max_speed": MAX_SPEED_MPS,
            "points": [{"latitude": lat, "longitude": lon, "height": height}
                       for lat, lon in points]})
        return fly_to_id

    async def _follow(self, method: str, task_id: str, target: tuple[float, float],
                      radius_m: float, on_update: Callable[[Telemetry], None] | None) -> None:
        """Wait for the aircraft within ``radius_m`` of ``target``; or for ``task_id``'s
        progress to end well and then, for at most ``OSD_AGREE_S`` mission seconds, for an osd
        that agrees.

        The dock says "wayline_ok" on its events topic as soon as the aircraft arrives, but the
        position comes on osd every 2 s: the last osd can still show the aircraft metres short
        and moving. Waiting for the next one means the caller is handed where the aircraft is.
        """
        ok_at = None  # mission time of the first "ended well"
        while True:
            t = await self.wait_update(WATCH_POLL_S)
            if on_update is not None:
                on_update(t)
            self.check_flying()
            with self._lock:
                progress = self._progress.get(task_id, {})
            status, result = progress.get("status"), int(progress.get("result", 0) or 0)
            if status in _END_FAILED or result != 0:
                raise CommandRejected(
                    f"dock {self.gateway_sn}: {method} ended {status}: {result_text(result)}",
                    command=method, result=str(result), drone_id=self.drone_id,
                    result_code=result)
            if t.airborne and t.mode not in TAKEOFF_MODES and \
                    t.distance_m(*target) <= radius_m:
                return
            if status in _END_OK and t.airborne:
                now = self.clock.now()
                ok_at = ok_at or now
                if (now - ok_at).total_seconds() >= OSD_AGREE_S:
                    log.warning("dock %s: %s ended %s but osd still puts the aircraft %.1f m "
                                "from its target after %.0f s", self.gateway_sn, method, status,
                                t.distance_m(*target), OSD_AGREE_S)
                    return

    async def hold_at(self, lat: float, lon: float, alt_rel_m: float) -> None:
        """``fly_to_point`` to (lat, lon): the aircraft hovers there once it arrives."""
        await self._fly_to([(lat, lon)], alt_rel_m)

    async def return_home(self) -> None:
        """``return_home``: back to the dock, which lands it, closes its cover and charges it."""
        self._sent_home = True
        await self._service("return_home", {})

    async def land(self) -> None:
        """Refused: the Cloud API has no land-here service for a dock's aircraft."""
        raise CommandRejected(f"dock {self.gateway_sn}: DJI's Cloud API has no land-here service "
                              "for a dock's aircraft; return_home lands it in its dock",
                              command="land", result="UNSUPPORTED", drone_id=self.drone_id)

    async def run_patrol(self, waypoints: Sequence[tuple[float, float]], *,
                         alt_rel_m: float) -> int:
        """Refused: a dock's patrol is a wayline task (a KMZ file), which flyonce does not write yet."""
        raise CommandRejected(f"dock {self.gateway_sn}: patrols on DJI docks need a wayline KMZ "
                              "task (flighttask_prepare), which flyonce does not write yet",
                              command="flighttask_prepare", result="UNSUPPORTED",
                              drone_id=self.drone_id)

    # ---------------------------------------------------------------- payloads

    async def announce(self, *, clip_id: int | None = None, text: str | None = None,
                       repeat: int = 1, volume_pct: int = 100) -> Announcement:
        """Speak ``text`` (``speaker_tts_play_start``) or play clip ``clip_id``
        (``speaker_audio_play_start``, its file from ``clips``) on the PSDK loudspeaker.

        Returns once the dock accepted the play; further plays up to ``repeat`` are sent as
        ``speaker_replay`` after each "ok" progress, in the background.
        """
        kind = check_request(clip_id, text, repeat, volume_pct)
        if kind == "clip" and clip_id not in self.clips:
            raise PayloadError(f"clip {clip_id} has no audio file for DJI docks (a URL and its "
                               "MD5); configure it, or send the warning as text")
        await self._service("speaker_play_volume_set",
                            {"psdk_index": self.psdk_index, "play_volume": volume_pct})
        if kind == "text":
            assert text is not None
            md5 = hashlib.md5(text.encode("utf-8")).hexdigest()  # DJI's file id, not a secret
            await self._service("speaker_tts_play_start", {
                "psdk_index": self.psdk_index,
                "tts": {"name": f"flyonce-{md5[:8]}", "text": text, "md5": md5}})
        else:
            clip = self.clips[clip_id]  # type: ignore[index]
            md5 = clip.md5
            await self._service("speaker_audio_play_start", {
                "psdk_index": self.psdk_index,
                "file": {"name": clip.name, "url": clip.url, "md5": clip.md5,
                         "format": clip.format}})
        with self._lock:
            self._progress.pop(md5, None)
        if repeat > 1:
            task = asyncio.create_task(self._replay(md5, repeat - 1), name=f"replay-{md5[:8]}")
            self._replays.add(task)
            task.add_done_callback(self._replays.discard)
        return Announcement(drone_id=self.drone_id, kind=kind, clip_id=clip_id, text=text,
                            repeat=repeat, accepted_at=self.clock.now(), result=0,
                            volume_pct=volume_pct)

    async def _replay(self, md5: str, times: int) -> None:
        for _ in range(times):
            while True:
                await self.wait_update(0.5)
                with self._lock:
                    progress = self._progress.get(md5)
                if progress is not None and (progress.get("output") or {}).get("status") == "ok":
                    break
                if not self.alive():
                    return
            with self._lock:
                self._progress.pop(md5, None)
            try:
                await self._service("speaker_replay", {"psdk_index": self.psdk_index})
            except LinkError as exc:
                log.warning("dock %s: replay refused: %s", self.gateway_sn, exc)
                return

    async def start_live(self, url: str | None = None) -> str:
        """``live_start_push`` of the aircraft's camera to ``url`` (RTMP or RTSP); returns it."""
        url = url or self.live_url
        url_type = 2 if url.startswith("rtsp") else 1
        await self._service("live_start_push", {
            "url_type": url_type, "url": url, "video_quality": 0,
            "video_id": f"{self.aircraft_sn or self.gateway_sn}/{self.camera_index}/normal-0"})
        return url

    def __repr__(self) -> str:
        return f"DjiLink({self.url!r}, drone_id={self.drone_id!r})"


def _num(value: Any, default: float | None) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default
