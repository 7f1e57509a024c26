"""A vehicle's MAVLink voice: decodes what ground stations send, answers as ArduCopter does.

One ``VehicleEndpoint`` per vehicle, with one ``Channel`` per link (a TCP connection, a UDP
peer). As in ArduPilot, stream rates and sequence numbers belong to the channel; replies go
to the channel a request came in on; heartbeats, status texts and mission progress go to all.
What is streamed unasked comes from the SRn_ parameters (``simulators/streams.py``), what each
message says from ``simulators/telemetry.py``, plans travel by ``simulators/plan_protocol.py``.
pymavlink's generated ``ardupilotmega`` dialect does all encoding and decoding (MAVLink 2).
Sockets are not handled here: a channel hands out bytes and takes bytes in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pymavlink.dialects.v20 import ardupilotmega as mav

from simulators.channel import COMPONENT_ID, MAX_STREAM_HZ, Channel
from simulators.errors import CommandDenied, CommandRefused
from simulators.mission import MissionItem, alt_rel_m_of
from simulators.plan_protocol import PlanTransfer, item_of
from simulators.speaker import PAYLOAD_TYPE_TEXT
from simulators.streams import STREAMABLE, TCP_LINK, groups_for_request, rates_hz
from simulators.telemetry import Telemetry
from simulators.vehicle import CurrentItem, ItemReached, Mode, ModeChanged, Text, Vehicle

__all__ = ["Channel", "VehicleEndpoint"]

ACCEPTED = mav.MAV_RESULT_ACCEPTED
DENIED = mav.MAV_RESULT_DENIED
UNSUPPORTED = mav.MAV_RESULT_UNSUPPORTED
FAILED = mav.MAV_RESULT_FAILED

_POSITION_IGNORED = 0x7  # type_mask bits: x, y, z ignored
_CHANGE_MODE = 1  # MAV_DO_REPOSITION_FLAGS_CHANGE_MODE


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
        self.telemetry = Telemetry(vehicle, clock)
        self.plans = PlanTransfer(vehicle, retry_s=mission_retry_s, say=self._say,
                                  announce=lambda severity, text: self.broadcast(
                                      self._statustext(severity, text)))
        self._after_ack: list[mav.MAVLink_message] = []
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
            mav.MAV_CMD_DO_FENCE_ENABLE: self._cmd_fence_enable,
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
            "MISSION_COUNT": self.plans.on_count,
            "MISSION_ITEM_INT": self._on_mission_item,
            "MISSION_ITEM": self._on_mission_item,
            "MISSION_REQUEST_LIST": self.plans.on_request_list,
            "MISSION_REQUEST_INT": self.plans.on_request,
            "MISSION_REQUEST": self.plans.on_request,
            "MISSION_CLEAR_ALL": self.plans.on_clear_all,
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

    def add_channel(self, label: str, *, link: int = TCP_LINK, stream_hz: float = 0.0) -> Channel:
        """A new channel of SRn_ link ``link``; the first HEARTBEAT goes out at once so clients
        lock on without waiting. ``stream_hz`` > 0 streams every message at that rate instead
        of the link's SRn_ rates."""
        rates = dict.fromkeys(STREAMABLE, stream_hz) if stream_hz > 0 else \
            rates_hz(self.vehicle.params, link)
        channel = Channel(self.sysid, label, link=link, default_rates_hz=rates)
        self.channels.append(channel)
        if self.link_up:
            channel.send(self.telemetry.heartbeat())
        channel.next_due_s[mav.MAVLINK_MSG_ID_HEARTBEAT] = self.vehicle.time_s + 1.0
        return channel

    def remove_channel(self, channel: Channel) -> None:
        """Forget ``channel`` (its peer went away)."""
        channel.closed = True
        if channel in self.channels:
            self.channels.remove(channel)
        self.plans.forget(channel)

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
        build = self.telemetry.build
        for channel in self.channels:
            due = channel.next_due_s
            for msg_id, at_s in due.items():
                if now + 1e-9 < at_s:
                    continue
                interval = channel.intervals_s[msg_id]
                due[msg_id] = at_s + interval if at_s + interval > now else now + interval
                msg = build(msg_id)
                if msg is not None:
                    channel.send(msg, streamed=msg_id != mav.MAVLINK_MSG_ID_HEARTBEAT)
        self.plans.tick()

    def _say_events(self) -> None:
        """Send what the vehicle put in its outbox (nothing while the link is down)."""
        vehicle = self.vehicle
        if self.link_up:
            for event in vehicle.outbox:
                if isinstance(event, Text):
                    self.broadcast(self._statustext(event.severity, event.text))
                elif isinstance(event, ModeChanged):
                    self.broadcast(self.telemetry.heartbeat())
                elif isinstance(event, ItemReached):
                    self.broadcast(mav.MAVLink_mission_item_reached_message(event.seq))
                elif isinstance(event, CurrentItem):
                    self.broadcast(self.telemetry.mission_current())
        vehicle.outbox.clear()

    def _say(self, channel: Channel, severity: int, text: str) -> None:
        channel.send(self._statustext(severity, text))

    @staticmethod
    def _statustext(severity: int, text: str) -> mav.MAVLink_message:
        return mav.MAVLink_statustext_message(severity, text.encode()[:50])

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
        msg_id = int(msg.param1)
        if not self.telemetry.knows(msg_id):
            return FAILED
        reply = self.telemetry.build(msg_id)
        if reply is not None:  # e.g. FENCE_STATUS without a fence: accepted, nothing to send
            self._after_ack.append(reply)
        return ACCEPTED

    def _cmd_set_message_interval(self, channel: Channel, msg: mav.MAVLink_message,
                                  is_int: bool) -> int:
        msg_id, interval_us = int(msg.param1), msg.param2
        if not self.telemetry.knows(msg_id):
            return FAILED
        now = self.vehicle.time_s
        if interval_us < 0:
            channel.set_interval(msg_id, None, now_s=now)
        elif interval_us == 0:  # back to the default: the link's SRn_ rate for its group
            channel.set_interval(msg_id, channel.default_interval_s(msg_id), now_s=now)
        else:
            channel.set_interval(msg_id, interval_us / 1e6, now_s=now)
        return ACCEPTED

    def _cmd_get_home(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        self._after_ack.append(self.telemetry.home_position())
        return ACCEPTED

    def _cmd_capabilities(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        if int(msg.param1) != 1:
            return DENIED
        self._after_ack.append(self.telemetry.autopilot_version())
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

    def _cmd_fence_enable(self, channel: Channel, msg: mav.MAVLink_message, is_int: bool) -> int:
        # ArduPilot: 1 enables every configured fence, 0 disables them, 2 disables the floor
        # only (no floor is simulated: nothing to do); anything else FAILED.
        action = int(msg.param1)
        if action not in (0, 1, 2):
            return FAILED
        if action != 2:
            self.vehicle.enable_fence(action == 1)
        return ACCEPTED

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
        rate = min(float(msg.req_message_rate), MAX_STREAM_HZ)
        interval = None if msg.start_stop == 0 or rate <= 0 else 1.0 / rate
        for group in groups_for_request(msg.req_stream_id):
            for msg_id in group.msg_ids:
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

    # ---- missions (uploads, downloads and clears: simulators/plan_protocol.py)

    def _mission_ack(self, channel: Channel, peer: tuple[int, int], result: int) -> None:
        channel.send(mav.MAVLink_mission_ack_message(peer[0], peer[1], result, 0))

    def _on_mission_item(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        if msg.current in (2, 3):  # a guided-mode destination (2) or altitude change (3)
            peer = msg.get_srcSystem(), msg.get_srcComponent()
            self._guided_item(channel, peer, item_of(msg), change_alt_only=msg.current == 3)
            return
        self.plans.on_item(channel, msg)

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

    def _on_mission_set_current(self, channel: Channel, msg: mav.MAVLink_message) -> None:
        try:
            self.vehicle.set_mission_current(msg.seq)
        except CommandRefused:
            pass

