"""A vehicle's MAVLink voice: decodes what ground stations send, answers as ArduCopter does.

One ``VehicleEndpoint`` per vehicle, with one ``Channel`` per link (a TCP connection, a UDP
peer). As in ArduPilot, stream rates and sequence numbers belong to the channel; replies go
to the channel a request came in on; heartbeats, status texts and mission progress go to all.
pymavlink's generated ``ardupilotmega`` dialect does all encoding and decoding (MAVLink 2).
Sockets are not handled here: a channel hands out bytes and takes bytes in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mav

from simulators.errors import CommandDenied, CommandRefused
from simulators.mission import MissionItem, alt_rel_m_of
from simulators.speaker import PAYLOAD_TYPE_TEXT
from simulators.vehicle import (
    POSITION_MODES,
    CurrentItem,
    ItemReached,
    Mode,
    ModeChanged,
    Text,
    Vehicle,
)

__all__ = ["MAX_STREAM_HZ", "STREAM_GROUPS", "Channel", "VehicleEndpoint"]

COMPONENT_ID = 1
MAX_STREAM_HZ = 50.0
# Streamed messages are skipped (as ArduPilot does when a link has no room) once this many
# bytes wait unsent; replies, texts and mission traffic are always queued.
STREAM_BACKLOG_BYTES = 16 * 1024
# A peer that stops reading entirely is cut off rather than buffered without bound.
MAX_BACKLOG_BYTES = 4 * 1024 * 1024
MISSION_RETRY_LIMIT = 8

ACCEPTED = mav.MAV_RESULT_ACCEPTED
DENIED = mav.MAV_RESULT_DENIED
UNSUPPORTED = mav.MAV_RESULT_UNSUPPORTED
FAILED = mav.MAV_RESULT_FAILED

# REQUEST_DATA_STREAM groups, as ArduCopter fills them (only the messages we produce).
STREAM_GROUPS: dict[int, tuple[int, ...]] = {
    mav.MAV_DATA_STREAM_EXTENDED_STATUS: (
        mav.MAVLINK_MSG_ID_SYS_STATUS, mav.MAVLINK_MSG_ID_GPS_RAW_INT,
        mav.MAVLINK_MSG_ID_MISSION_CURRENT,
    ),
    mav.MAV_DATA_STREAM_POSITION: (
        mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, mav.MAVLINK_MSG_ID_LOCAL_POSITION_NED,
    ),
    mav.MAV_DATA_STREAM_EXTRA1: (mav.MAVLINK_MSG_ID_ATTITUDE,),
    mav.MAV_DATA_STREAM_EXTRA2: (mav.MAVLINK_MSG_ID_VFR_HUD,),
    mav.MAV_DATA_STREAM_EXTRA3: (
        mav.MAVLINK_MSG_ID_SYSTEM_TIME, mav.MAVLINK_MSG_ID_BATTERY_STATUS,
        mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE,
    ),
}
STREAMABLE = frozenset(i for group in STREAM_GROUPS.values() for i in group)

_SENSORS = (
    mav.MAV_SYS_STATUS_SENSOR_3D_GYRO | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | mav.MAV_SYS_STATUS_SENSOR_3D_MAG | mav.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | mav.MAV_SYS_STATUS_SENSOR_GPS | mav.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
    | mav.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION | mav.MAV_SYS_STATUS_SENSOR_YAW_POSITION
    | mav.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL | mav.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
    | mav.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS | mav.MAV_SYS_STATUS_AHRS
    | mav.MAV_SYS_STATUS_SENSOR_BATTERY | mav.MAV_SYS_STATUS_PREARM_CHECK
)
_CAPABILITIES = (
    mav.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT | mav.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
    | mav.MAV_PROTOCOL_CAPABILITY_MISSION_INT | mav.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
    | mav.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
    | mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2
)
_FLIGHT_SW_VERSION = (4 << 24) | (5 << 16) | (7 << 8) | 255  # "4.5.7 official"
_POSITION_IGNORED = 0x7  # type_mask bits: x, y, z ignored
_CHANGE_MODE = 1  # MAV_DO_REPOSITION_FLAGS_CHANGE_MODE


class Channel:
    """One link to ground stations: its own sequence numbers, stream rates and unsent bytes."""

    def __init__(self, sysid: int, label: str, default_stream_hz: float = 0.0) -> None:
        self.label = label
        self.out = bytearray()
        self.closed = False
        self._enc = mav.MAVLink(None, srcSystem=sysid, srcComponent=COMPONENT_ID)
        self._dec = mav.MAVLink(None)
        self._dec.robust_parsing = True
        self.intervals_s: dict[int, float] = {mav.MAVLINK_MSG_ID_HEARTBEAT: 1.0}
        self.next_due_s: dict[int, float] = {mav.MAVLINK_MSG_ID_HEARTBEAT: 0.0}
        self.default_stream_hz = default_stream_hz
        if default_stream_hz > 0:
            for msg_id in STREAMABLE:
                self.set_interval(msg_id, 1.0 / default_stream_hz, now_s=0.0)
        self.sent = 0

    def send(self, msg: mav.MAVLink_message, *, streamed: bool = False) -> None:
        """Queue ``msg``; a streamed one is skipped while the link is backed up."""
        if self.closed or (streamed and len(self.out) > STREAM_BACKLOG_BYTES):
            return
        enc = self._enc
        self.out += msg.pack(enc)
        enc.seq = (enc.seq + 1) % 256
        self.sent += 1
        if len(self.out) > MAX_BACKLOG_BYTES:
            self.closed = True

    def parse(self, data: bytes) -> list[mav.MAVLink_message]:
        """Messages decoded from ``data``; garbage and bad checksums are dropped."""
        try:
            msgs = self._dec.parse_buffer(data) or []
        except Exception:  # noqa: BLE001 - a hostile byte stream must never stop the vehicle
            self._dec = mav.MAVLink(None)
            self._dec.robust_parsing = True
            return []
        return [m for m in msgs if m.get_type() != "BAD_DATA"]

    def set_interval(self, msg_id: int, interval_s: float | None, *, now_s: float) -> None:
        """Stream ``msg_id`` every ``interval_s`` mission seconds (None stops it)."""
        if interval_s is None:
            self.intervals_s.pop(msg_id, None)
            self.next_due_s.pop(msg_id, None)
            return
        self.intervals_s[msg_id] = max(interval_s, 1.0 / MAX_STREAM_HZ)
        self.next_due_s[msg_id] = now_s


@dataclass
class _Upload:
    channel: Channel
    count: int
    peer: tuple[int, int]
    items: list[MissionItem] = field(default_factory=list)
    asked_at_s: float = 0.0
    retries: int = 0


class VehicleEndpoint:
    """MAVLink for one vehicle over any number of channels; call ``tick`` after each step."""

    def __init__(
        self,
        vehicle: Vehicle,
        clock: object,
        *,
        mission_retry_s: float = 1.0,
    ) -> None:
        self.vehicle = vehicle
        self.clock = clock  # anything with now(); SYSTEM_TIME carries mission time
        self.channels: list[Channel] = []
        self.link_down_until_s = -math.inf
        self._mission_retry_s = mission_retry_s
        self._upload: _Upload | None = None
        self._after_ack: list[mav.MAVLink_message] = []
        self._messages: dict[int, Callable[[], mav.MAVLink_message]] = {
            mav.MAVLINK_MSG_ID_HEARTBEAT: self._heartbeat,
            mav.MAVLINK_MSG_ID_SYS_STATUS: self._sys_status,
            mav.MAVLINK_MSG_ID_GPS_RAW_INT: self._gps_raw_int,
            mav.MAVLINK_MSG_ID_MISSION_CURRENT: self._mission_current,
            mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: self._global_position_int,
            mav.MAVLINK_MSG_ID_LOCAL_POSITION_NED: self._local_position_ned,
            mav.MAVLINK_MSG_ID_ATTITUDE: self._attitude,
            mav.MAVLINK_MSG_ID_VFR_HUD: self._vfr_hud,
            mav.MAVLINK_MSG_ID_SYSTEM_TIME: self._system_time,
            mav.MAVLINK_MSG_ID_BATTERY_STATUS: self._battery_status,
            mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: self._extended_sys_state,
            mav.MAVLINK_MSG_ID_HOME_POSITION: self._home_position,
            mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION: self._autopilot_version,
        }
        self._commands: dict[int, Callable[[Channel, mav.MAVLink_message, bool], int]] = {
            mav.MAV_CMD_COMPONENT_ARM_DISARM: self._cmd_arm_disarm,
            mav.MAV_CMD_NAV_TAKEOFF: self._cmd_takeoff,
            mav.MAV_CMD_DO_SET_MODE: self._cmd_set_mode,
            mav.MAV_CMD_NAV_RETURN_TO_LAUNCH: lambda c, m, i: self._mode_result(Mode.RTL),
            mav.MAV_CMD_NAV_LAND: lambda c, m, i: self._mode_result(Mode.LAND),
            mav.MAV_CMD_DO_REPOSITION: self._cmd_reposition,
            mav.MAV_CMD_DO_CHANGE_SPEED: self._cmd_change_speed,
            mav.MAV_CMD_MISSION_START: lambda c, m, i: self._refusable(self.vehicle.start_mission),
            mav.MAV_CMD_DO_SET_MISSION_CURRENT: self._cmd_set_mission_current,
            mav.MAV_CMD_REQUEST_MESSAGE: self._cmd_request_message,
            mav.MAV_CMD_SET_MESSAGE_INTERVAL: self._cmd_set_message_interval,
            mav.MAV_CMD_GET_HOME_POSITION: self._cmd_get_home,
            mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES: self._cmd_capabilities,
            mav.MAV_CMD_DO_SEND_SCRIPT_MESSAGE: self._cmd_script_message,
        }
        self._handlers: dict[str, Callable[[Channel, mav.MAVLink_message], None]] = {
            "HEARTBEAT": self._on_heartbeat,
            "COMMAND_LONG": lambda c, m: self._on_command(c, m, is_int=False),
            "COMMAND_INT": lambda c, m: self._on_command(c, m, is_int=True),
            "SET_MODE": self._on_set_mode,
            "REQUEST_DATA_STREAM": self._on_request_data_stream,
            "SET_POSITION_TARGET_GLOBAL_INT": self._on_position_target,
            "PARAM_REQUEST_LIST": self._on_param_request_list,
            "PARAM_REQUEST_READ": self._on_param_request_read,
            "PARAM_SET": self._on_param_set,
            "MISSION_COUNT": self._on_mission_count,
            "MISSION_ITEM_INT": self._on_mission_item,
            "MISSION_ITEM": self._on_mission_item,
            "MISSION_REQUEST_LIST": self._on_mission_request_list,
            "MISSION_REQUEST_INT": self._on_mission_request,
            "MISSION_REQUEST": self._on_mission_request,
            "MISSION_CLEAR_ALL": self._on_mission_clear_all,
            "MISSION_SET_CURRENT": self._on_mission_set_current,
            "TUNNEL": self._on_tunnel,
        }

    @property
    def sysid(self) -> int:
        """This vehicle's MAVLink system id."""
        return self.vehicle.sysid

    @property
    def link_up(self) -> bool:
        """False while a dropped-link fault is active."""
        return self.vehicle.time_s >= self.link_down_until_s

    def add_channel(self, label: str, default_stream_hz: float = 0.0) -> Channel:
        """A new channel; the first HEARTBEAT goes out at once so clients lock on without waiting."""
        channel = Channel(self.sysid, label, default_stream_hz)
        self.channels.append(channel)
        if self.link_up:
            channel.send(self._heartbeat())
        channel.next_due_s[mav.MAVLINK_MSG_ID_HEARTBEAT] = self.vehicle.time_s + 1.0
        return channel

    def remove_channel(self, channel: Channel) -> None:
        """Forget ``channel`` (its peer went away)."""
        channel.closed = True
        if channel in self.channels:
            self.channels.remove(channel)
        if self._upload is not None and self._upload.channel is channel:
            self._upload = None

    # ------------------------------------------------------------------ input

    def receive(self, channel: Channel, data: bytes) -> None:
        """Handle bytes that arrived on ``channel``; anything not for us is ignored."""
        if not self.link_up:
            return
        for msg in channel.parse(data):
            handler = self._handlers.get(msg.get_type())
            if handler is None or msg.get_srcSystem() == self.sysid:
                continue
            if not self._for_us(msg):
                continue
            handler(channel, msg)
        self._say_events()  # a mode change's HEARTBEAT goes out now, not at the next step

    def _for_us(self, msg: mav.MAVLink_message) -> bool:
        target_system = getattr(msg, "target_system", 0)
        target_component = getattr(msg, "target_component", 0)
        return target_system in (0, self.sysid) and target_component in (0, COMPONENT_ID)

    # ------------------------------------------------------------------ output

    def broadcast(self, msg: mav.MAVLink_message) -> None:
        """Send ``msg`` on every channel (nothing while the link is down)."""
        if not self.link_up:
            return
        for channel in self.channels:
            channel.send(msg)

    def tick(self) -> None:
        """Say what the vehicle has to say, send the streams that are due, retry mission requests."""
        vehicle = self.vehicle
        self._say_events()
        if not self.link_up:
            return
        now = vehicle.time_s
        for channel in self.channels:
            due = channel.next_due_s
            for msg_id, at_s in due.items():
                if now + 1e-9 < at_s:
                    continue
                interval = channel.intervals_s[msg_id]
                due[msg_id] = at_s + interval if at_s + interval > now else now + interval
                channel.send(self._messages[msg_id](),
                             streamed=msg_id != mav.MAVLINK_MSG_ID_HEARTBEAT)
        upload = self._upload
        if upload is not None and now - upload.asked_at_s >= self._mission_retry_s:
            if upload.retries >= MISSION_RETRY_LIMIT:
                self._upload = None
                self._mission_ack(upload.channel, upload.peer,
                                  mav.MAV_MISSION_OPERATION_CANCELLED)
                self._say(upload.channel, mav.MAV_SEVERITY_WARNING, "Mission upload timeout")
            else:
                upload.retries += 1
                self._request_item(upload)

    def _say_events(self) -> None:
        """Send what the vehicle put in its outbox (nothing while the link is down)."""
        vehicle = self.vehicle
        if self.link_up:
            for event in vehicle.outbox:
                if isinstance(event, Text):
                    self.broadcast(self._statustext(event.severity, event.text))
                elif isinstance(event, ModeChanged):
                    self.broadcast(self._heartbeat())
                elif isinstance(event, ItemReached):
                    self.broadcast(mav.MAVLink_mission_item_reached_message(event.seq))
                elif isinstance(event, CurrentItem):
                    self.broadcast(self._mission_current())
        vehicle.outbox.clear()

    def _say(self, channel: Channel, severity: int, text: str) -> None:
        channel.send(self._statustext(severity, text))

    @staticmethod
    def _statustext(severity: int, text: str) -> mav.MAVLink_message:
        return mav.MAVLink_statustext_message(severity, text.encode()[:50])

    # ------------------------------------------------------------------ telemetry

    def _time_boot_ms(self) -> int:
        return int(self.vehicle.time_s * 1000.0) & 0xFFFFFFFF

    def _heartbeat(self) -> mav.MAVLink_message:
        v = self.vehicle
        base = (mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | mav.MAV_MODE_FLAG_STABILIZE_ENABLED
                | mav.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED)
        if v.armed:
            base |= mav.MAV_MODE_FLAG_SAFETY_ARMED
        if v.mode in POSITION_MODES or v.mode == Mode.LAND:
            base |= mav.MAV_MODE_FLAG_GUIDED_ENABLED
        if v.in_failsafe:
            status = mav.MAV_STATE_CRITICAL
        elif v.landed:
            status = mav.MAV_STATE_STANDBY
        else:
            status = mav.MAV_STATE_ACTIVE
        return mav.MAVLink_heartbeat_message(
            mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, base, int(v.mode), status, 3
        )

    def _sys_status(self) -> mav.MAVLink_message:
        v = self.vehicle
        health = _SENSORS
        if not v.gps_ok:
            health &= ~(mav.MAV_SYS_STATUS_SENSOR_GPS | mav.MAV_SYS_STATUS_AHRS)
        if "battery" in v.failsafes:
            health &= ~mav.MAV_SYS_STATUS_SENSOR_BATTERY
        if not v.prearm_ok:
            health &= ~mav.MAV_SYS_STATUS_PREARM_CHECK
        battery = v.battery
        return mav.MAVLink_sys_status_message(
            _SENSORS, _SENSORS, health, 200, int(battery.voltage_v * 1000),
            int(battery.current_a * 100), int(round(battery.remaining_pct)), 0, 0, 0, 0, 0, 0,
        )

    def _gps_raw_int(self) -> mav.MAVLink_message:
        v = self.vehicle
        if v.gps_ok:
            lat, lon = v.gps_latlon()
            fix, sats = 3, 14
        else:
            lat, lon = v.estimate_latlon()
            fix, sats = 1, 0
        speed = math.hypot(v.vel_e, v.vel_n)
        cog = math.degrees(math.atan2(v.vel_e, v.vel_n)) % 360.0
        return mav.MAVLink_gps_raw_int_message(
            int(v.time_s * 1e6), fix, int(lat * 1e7), int(lon * 1e7),
            int((v.home.amsl_m + v.up_m) * 1000), 80, 120, int(speed * 100), int(cog * 100), sats,
        )

    def _mission_current(self) -> mav.MAVLink_message:
        v = self.vehicle
        return mav.MAVLink_mission_current_message(v.mission_current, len(v.mission))

    def _global_position_int(self) -> mav.MAVLink_message:
        v = self.vehicle
        lat, lon = v.estimate_latlon()
        _, _, up = v.estimate_enu()
        return mav.MAVLink_global_position_int_message(
            self._time_boot_ms(), int(lat * 1e7), int(lon * 1e7),
            int((v.home.amsl_m + up) * 1000), int(up * 1000),
            int(v.vel_n * 100), int(v.vel_e * 100), int(-v.vel_u * 100),
            int(v.yaw_deg % 360.0 * 100) % 36000,
        )

    def _local_position_ned(self) -> mav.MAVLink_message:
        v = self.vehicle
        east, north, up = v.estimate_enu()
        return mav.MAVLink_local_position_ned_message(
            self._time_boot_ms(), north, east, -up, v.vel_n, v.vel_e, -v.vel_u
        )

    def _attitude(self) -> mav.MAVLink_message:
        roll, pitch, yaw = self.vehicle.attitude_rad()
        return mav.MAVLink_attitude_message(self._time_boot_ms(), roll, pitch, yaw, 0.0, 0.0, 0.0)

    def _vfr_hud(self) -> mav.MAVLink_message:
        v = self.vehicle
        wind_e, wind_n = v.wind_enu()
        airspeed = math.hypot(v.vel_e - wind_e, v.vel_n - wind_n) if not v.landed else 0.0
        throttle = 0 if not v.armed else (10 if v.landed else 45)
        return mav.MAVLink_vfr_hud_message(
            airspeed, math.hypot(v.vel_e, v.vel_n), int(v.yaw_deg) % 360, throttle,
            v.home.amsl_m + v.up_m, v.vel_u,
        )

    def _system_time(self) -> mav.MAVLink_message:
        now = self.clock.now()  # type: ignore[attr-defined]
        return mav.MAVLink_system_time_message(int(now.timestamp() * 1e6), self._time_boot_ms())

    def _battery_status(self) -> mav.MAVLink_message:
        v = self.vehicle
        b = v.battery
        remaining = int(round(b.remaining_pct))
        if "battery" in v.failsafes:
            state = mav.MAV_BATTERY_CHARGE_STATE_LOW
        else:
            state = mav.MAV_BATTERY_CHARGE_STATE_OK
        time_left = b.time_remaining_s()
        return mav.MAVLink_battery_status_message(
            0, mav.MAV_BATTERY_FUNCTION_ALL, mav.MAV_BATTERY_TYPE_LIPO, 32767,
            [int(b.voltage_v * 1000)] + [65535] * 9, int(b.current_a * 100), int(b.consumed_mah),
            int(b.consumed_wh * 36), remaining,
            int(min(time_left, 2**31 - 1)) if math.isfinite(time_left) else 0, state,
        )

    def _extended_sys_state(self) -> mav.MAVLink_message:
        return mav.MAVLink_extended_sys_state_message(
            mav.MAV_VTOL_STATE_UNDEFINED, int(self.vehicle.landed_state)
        )

    def _home_position(self) -> mav.MAVLink_message:
        home = self.vehicle.home
        return mav.MAVLink_home_position_message(
            int(home.lat * 1e7), int(home.lon * 1e7), int(home.amsl_m * 1000), 0.0, 0.0, 0.0,
            [1.0, 0.0, 0.0, 0.0], 0.0, 0.0, 0.0, int(self.vehicle.time_s * 1e6),
        )

    def _autopilot_version(self) -> mav.MAVLink_message:
        return mav.MAVLink_autopilot_version_message(
            _CAPABILITIES, _FLIGHT_SW_VERSION, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0,
            self.sysid,
        )

    # ------------------------------------------------------------------ commands

    def _on_command(self, channel: Channel, msg: mav.MAVLink_message, *, is_int: bool) -> None:
        handler = self._commands.get(msg.command)
        self._after_ack.clear()
        result = UNSUPPORTED if handler is None else handler(channel, msg, is_int)
        channel.send(mav.MAVLink_command_ack_message(
            msg.command, result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent()
        ))
        # ArduPilot queues a requested message behind the ACK; clients wait for the ACK first
        for reply in self._after_ack:
            channel.send(reply)
        self._after_ack.clear()

    def _refusable(self, action: Callable[[], None]) -> int:
        try:
            action()
        except CommandDenied as exc:
            self._tell(exc)
            return DENIED
        except CommandRefused as exc:
            self._tell(exc)
            return FAILED
        return ACCEPTED

    def _tell(self, exc: CommandRefused) -> None:
        if exc.text:
            self.broadcast(self._statustext(mav.MAV_SEVERITY_CRITICAL, exc.text))

    def _mode_result(self, mode: Mode) -> int:
        return self._refusable(lambda: self.vehicle.set_mode(mode))

    def _cmd_arm_disarm(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        if msg.param1 == 1:
            force = int(msg.param2) == 2989
            return self._refusable(lambda: self.vehicle.arm(force=force))
        if msg.param1 == 0:
            force = int(msg.param2) == 21196
            return self._refusable(lambda: self.vehicle.disarm(force=force))
        return DENIED

    def _cmd_takeoff(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        # param7 (z for COMMAND_INT) is metres above home
        alt = float(msg.z if is_int else msg.param7)
        return self._refusable(lambda: self.vehicle.takeoff(alt))

    def _cmd_set_mode(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        if not int(msg.param1) & mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            return DENIED
        try:
            mode = Mode(int(msg.param2))
        except ValueError:
            return FAILED
        return self._mode_result(mode)

    def _on_set_mode(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        if msg.base_mode & mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            try:
                self._mode_result(Mode(msg.custom_mode))
            except ValueError:
                pass

    def _cmd_reposition(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        if not is_int:
            return UNSUPPORTED
        vehicle = self.vehicle
        if vehicle.mode != Mode.GUIDED and not int(msg.param2) & _CHANGE_MODE:
            return DENIED
        lat, lon = msg.x / 1e7, msg.y / 1e7
        if not (-90 < lat < 90 and -180 <= lon <= 180):
            return DENIED

        def reposition() -> None:
            vehicle.set_mode(Mode.GUIDED)
            if msg.param1 > 0:
                vehicle.set_speed(msg.param1)
            vehicle.goto(lat, lon, alt_rel_m_of(msg.frame, msg.z, vehicle.home.amsl_m))

        return self._refusable(reposition)

    def _cmd_change_speed(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        return self._refusable(lambda: self.vehicle.set_speed(msg.param2))

    def _cmd_set_mission_current(self, channel: Channel, msg: mav.MAVLink_message,
                                 is_int: bool) -> int:
        return self._refusable(lambda: self.vehicle.set_mission_current(int(msg.param1)))

    def _cmd_request_message(self, channel: Channel, msg: mav.MAVLink_message,
                             is_int: bool) -> int:
        make = self._messages.get(int(msg.param1))
        if make is None:
            return FAILED
        self._after_ack.append(make())
        return ACCEPTED

    def _cmd_set_message_interval(self, channel: Channel, msg: mav.MAVLink_message,
                                  is_int: bool) -> int:
        msg_id, interval_us = int(msg.param1), msg.param2
        if msg_id not in self._messages:
            return FAILED
        now = self.vehicle.time_s
        if interval_us < 0:
            channel.set_interval(msg_id, None, now_s=now)
        elif interval_us == 0:
            default = (1.0 if msg_id == mav.MAVLINK_MSG_ID_HEARTBEAT else
                       1.0 / channel.default_stream_hz if channel.default_stream_hz > 0
                       and msg_id in STREAMABLE else None)
            channel.set_interval(msg_id, default, now_s=now)
        else:
            channel.set_interval(msg_id, interval_us / 1e6, now_s=now)
        return ACCEPTED

    def _cmd_get_home(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        self._after_ack.append(self._home_position())
        return ACCEPTED

    def _cmd_capabilities(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        if int(msg.param1) != 1:
            return DENIED
        self._after_ack.append(self._autopilot_version())
        return ACCEPTED

    def _cmd_script_message(self, channel: Channel, msg: mav.MAVLink_message,
                            is_int: bool) -> int:
        # The loudspeaker script (simulators/speaker.py); without it ArduCopter has no handler.
        vehicle = self.vehicle
        speaker = vehicle.speaker
        if speaker is None:
            return UNSUPPORTED
        lat, lon = vehicle.frame.to_wgs84(vehicle.east_m, vehicle.north_m)
        said: list[str] = []

        def play() -> None:
            said.append(speaker.command(
                msg.param1, msg.param2, msg.param3, msg.param4, time_s=vehicle.time_s,
                at=self.clock.now(),  # type: ignore[attr-defined]
                flying=vehicle.flying, position=(float(lat), float(lon), vehicle.up_m)))

        result = self._refusable(play)
        if said:
            self.broadcast(self._statustext(mav.MAV_SEVERITY_INFO, said[0]))
        return result

    # ------------------------------------------------------------------ other messages

    def _on_tunnel(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        speaker = self.vehicle.speaker
        if speaker is None or msg.payload_type != PAYLOAD_TYPE_TEXT:
            return  # ArduPilot ignores TUNNEL unless a script listens for it
        length = min(max(int(msg.payload_length), 0), len(msg.payload))
        speaker.receive_chunk(bytes(msg.payload[:length]))

    def _on_heartbeat(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        if msg.get_srcSystem() == int(self.vehicle.params["SYSID_MYGCS"]):
            self.vehicle.heard_gcs()

    def _on_request_data_stream(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        if msg.req_stream_id == mav.MAV_DATA_STREAM_ALL:
            msg_ids = sorted(STREAMABLE)
        else:
            msg_ids = list(STREAM_GROUPS.get(msg.req_stream_id, ()))
        rate = min(float(msg.req_message_rate), MAX_STREAM_HZ)
        interval = None if msg.start_stop == 0 or rate <= 0 else 1.0 / rate
        for msg_id in msg_ids:
            channel.set_interval(msg_id, interval, now_s=self.vehicle.time_s)

    def _on_position_target(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        # Position targets only; velocity/acceleration-only targets are ignored (see __init__).
        if msg.type_mask & _POSITION_IGNORED:
            return
        vehicle = self.vehicle
        alt = alt_rel_m_of(msg.coordinate_frame, msg.alt, vehicle.home.amsl_m)
        try:
            vehicle.goto(msg.lat_int / 1e7, msg.lon_int / 1e7, alt)
        except CommandRefused:
            pass  # a message, not a command: ArduCopter ignores it silently

    # ---- parameters

    def _param_value(self, name: str) -> mav.MAVLink_message:
        params = self.vehicle.params
        return mav.MAVLink_param_value_message(
            name.encode(), params[name], params.type_of(name), len(params), params.index(name)
        )

    def _on_param_request_list(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        for name in self.vehicle.params:
            channel.send(self._param_value(name))

    def _on_param_request_read(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        params = self.vehicle.params
        name = params.name_at(msg.param_index) if msg.param_index >= 0 else msg.param_id
        if name in params:
            channel.send(self._param_value(name))

    def _on_param_set(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        try:
            self.vehicle.set_param(msg.param_id, msg.param_value)
        except (KeyError, ValueError):
            return  # ArduPilot ignores unknown names and non-finite values without a reply
        self.broadcast(self._param_value(msg.param_id))

    # ---- missions

    def _mission_ack(self, channel: Channel, peer: tuple[int, int], result: int,
                     mission_type: int = 0) -> None:
        channel.send(mav.MAVLink_mission_ack_message(peer[0], peer[1], result, mission_type))

    @staticmethod
    def _peer(msg: mav.MAVLink_message) -> tuple[int, int]:
        return msg.get_srcSystem(), msg.get_srcComponent()

    def _request_item(self, upload: _Upload) -> None:
        upload.asked_at_s = self.vehicle.time_s
        upload.channel.send(mav.MAVLink_mission_request_int_message(
            upload.peer[0], upload.peer[1], len(upload.items)
        ))

    def _on_mission_count(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        peer = self._peer(msg)
        if getattr(msg, "mission_type", 0) != mav.MAV_MISSION_TYPE_MISSION:
            self._mission_ack(channel, peer, mav.MAV_MISSION_UNSUPPORTED, msg.mission_type)
            return
        if msg.count <= 1:
            self.vehicle.set_mission([])
            self._mission_ack(channel, peer, mav.MAV_MISSION_ACCEPTED)
            return
        self._upload = _Upload(channel=channel, count=msg.count, peer=peer)
        self._request_item(self._upload)

    def _item_of(self, msg: mav.MAVLink_message) -> MissionItem:
        scale = 1e7 if msg.get_type() == "MISSION_ITEM_INT" else 1.0
        return MissionItem(
            command=msg.command, frame=msg.frame, param1=msg.param1, param2=msg.param2,
            param3=msg.param3, param4=msg.param4, lat=msg.x / scale, lon=msg.y / scale,
            alt_m=msg.z, autocontinue=msg.autocontinue,
        )

    def _on_mission_item(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        peer = self._peer(msg)
        if msg.current in (2, 3):  # a guided-mode destination (2) or altitude change (3)
            self._guided_item(channel, peer, self._item_of(msg), change_alt_only=msg.current == 3)
            return
        upload = self._upload
        if upload is None or upload.channel is not channel or msg.seq != len(upload.items):
            return  # a stale repeat of an item we already have, or nobody asked: ignore
        upload.items.append(self._item_of(msg))
        upload.retries = 0
        if len(upload.items) < upload.count:
            self._request_item(upload)
            return
        self._upload = None
        self.vehicle.set_mission(upload.items)
        self._mission_ack(channel, peer, mav.MAV_MISSION_ACCEPTED)
        self.broadcast(self._statustext(mav.MAV_SEVERITY_INFO, "Flight plan received"))

    def _guided_item(self, channel: Channel, peer: tuple[int, int], item: MissionItem,
                     *, change_alt_only: bool) -> None:
        vehicle = self.vehicle
        alt = alt_rel_m_of(item.frame, item.alt_m, vehicle.home.amsl_m)
        try:
            if change_alt_only:
                lat, lon = vehicle.estimate_latlon()
                vehicle.goto(lat, lon, alt)
            else:
                vehicle.goto(item.lat, item.lon, alt)
        except CommandRefused:
            self._mission_ack(channel, peer, mav.MAV_MISSION_ERROR)
            return
        self._mission_ack(channel, peer, mav.MAV_MISSION_ACCEPTED)

    def _on_mission_request_list(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        mission_type = getattr(msg, "mission_type", 0)
        count = len(self.vehicle.mission) if mission_type == mav.MAV_MISSION_TYPE_MISSION else 0
        peer = self._peer(msg)
        channel.send(mav.MAVLink_mission_count_message(peer[0], peer[1], count, mission_type))

    def _on_mission_request(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        peer = self._peer(msg)
        mission = self.vehicle.mission
        if getattr(msg, "mission_type", 0) != mav.MAV_MISSION_TYPE_MISSION or \
                not 0 <= msg.seq < len(mission):
            self._mission_ack(channel, peer, mav.MAV_MISSION_INVALID_SEQUENCE,
                              getattr(msg, "mission_type", 0))
            return
        item = mission[msg.seq]
        args = (peer[0], peer[1], msg.seq, item.frame, item.command,
                int(msg.seq == self.vehicle.mission_current), item.autocontinue,
                item.param1, item.param2, item.param3, item.param4)
        if msg.get_type() == "MISSION_REQUEST_INT":
            channel.send(mav.MAVLink_mission_item_int_message(
                *args, int(round(item.lat * 1e7)), int(round(item.lon * 1e7)), item.alt_m))
        else:
            channel.send(mav.MAVLink_mission_item_message(*args, item.lat, item.lon, item.alt_m))

    def _on_mission_clear_all(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        mission_type = getattr(msg, "mission_type", 0)
        if mission_type == mav.MAV_MISSION_TYPE_MISSION:
            self.vehicle.set_mission([])
            result = mav.MAV_MISSION_ACCEPTED
        else:
            result = mav.MAV_MISSION_UNSUPPORTED
        self._mission_ack(channel, self._peer(msg), result, mission_type)

    def _on_mission_set_current(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        try:
            self.vehicle.set_mission_current(msg.seq)
        except CommandRefused:
            pass

