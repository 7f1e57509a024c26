"""One link between a vehicle and its ground stations: sequence numbers, stream timers, bytes.

As in ArduPilot, stream rates and sequence numbers belong to the channel. A channel takes the
bytes that arrived and hands out the bytes to send; sockets live in ``simulators/links.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pymavlink.dialects.v20 import ardupilotmega as mav

__all__ = ["COMPONENT_ID", "MAX_STREAM_HZ", "Channel"]

COMPONENT_ID = 1
MAX_STREAM_HZ = 50.0
# Streamed messages are skipped (as ArduPilot does when a link has no room) once this many
# bytes wait unsent; replies, texts and mission traffic are always queued.
STREAM_BACKLOG_BYTES = 16 * 1024
# A peer that stops reading entirely is cut off rather than buffered without bound.
MAX_BACKLOG_BYTES = 4 * 1024 * 1024


class Channel:
    """One link to ground stations: its own sequence numbers, stream rates and unsent bytes.

    ``default_rates_hz`` ({message id: Hz}) is what it streams unasked (its SRn_ rates, see
    ``simulators/streams.py``); ``link`` is the SRn_ index it belongs to.
    """

    def __init__(self, sysid: int, label: str, *, link: int = 0,
                 default_rates_hz: Mapping[int, float] | None = None) -> None:
        self.label = label
        self.link = link
        self.out = bytearray()
        self.closed = False
        self._enc = mav.MAVLink(None, srcSystem=sysid, srcComponent=COMPONENT_ID)
        self._dec = mav.MAVLink(None)
        self._dec.robust_parsing = True
        self.intervals_s: dict[int, float] = {mav.MAVLINK_MSG_ID_HEARTBEAT: 1.0}
        self.next_due_s: dict[int, float] = {mav.MAVLINK_MSG_ID_HEARTBEAT: 0.0}
        self.default_rates_hz = dict(default_rates_hz or {})
        for msg_id, hz in self.default_rates_hz.items():
            self.set_interval(msg_id, 1.0 / hz, now_s=0.0)
        self.sent = 0

    def default_interval_s(self, msg_id: int) -> float | None:
        """The interval ``msg_id`` streams at unasked (SET_MESSAGE_INTERVAL 0); None: not at all."""
        if msg_id == mav.MAVLINK_MSG_ID_HEARTBEAT:
            return 1.0
        hz = self.default_rates_hz.get(msg_id, 0.0)
        return 1.0 / hz if hz > 0 else None

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
