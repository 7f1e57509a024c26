"""The drone's loudspeaker: the receiving end of flyonce's remote persuasion (远程劝导).

On a real ArduCopter this is an on-board Lua script driving an amplifier; here it is a
``Speaker`` the vehicle carries (``Vehicle.speaker``; None models a copter without the script).
The protocol, which ``dispatch.speaker`` speaks from the ground (docs/dispatch.md has the
byte layout):

- ``MAV_CMD_DO_SEND_SCRIPT_MESSAGE`` (217) in COMMAND_LONG or COMMAND_INT to component 1:
  param1 = message id (1 play clip, 2 speak uploaded text, 3 stop), param2 = clip number or
  text handle, param3 = repeat count (1-10; 0 = once), param4 = volume % (1-100; 0 = 100).
  Answered ACCEPTED with a "Speaker: …" STATUSTEXT, or refused with a STATUSTEXT saying why:
  DENIED while on the ground or disarmed (a speaker on the ground persuades nobody), for an
  unknown message id or a parameter out of range; FAILED for a clip not on the card or a text
  that did not arrive whole. A copter without the script answers UNSUPPORTED (the endpoint).
- TUNNEL (385), payload_type 32801, to the vehicle: one chunk of a UTF-8 text, with a 8-byte
  header (handle uint16, chunk index uint8, chunk count uint8, CRC-32 of the whole text
  uint32, little-endian) and up to 120 text bytes. TUNNEL has no acknowledgement; the play
  command that follows is where a missing or damaged chunk shows (FAILED, "incomplete" or
  "garbled"), never a crash. The last ``MAX_UPLOADS`` handles are kept.

Every STATUSTEXT fits MAVLink's 50 characters, in ASCII (no Chinese cut in half).

Where this deviates from ArduPilot: 217 reaches Lua in two ways there. In a mission, AP_Mission
queues it for ``mission_receive()`` (AP_Mission_Commands.cpp, start_command_do_scripting); from
a ground station, the script must ``mavlink:register_rx_msgid(COMMAND_LONG)`` and
``mavlink:block_command(217)`` (ArduPilot 4.5, lua_bindings.cpp) and send its own COMMAND_ACK
with any MAV_RESULT it likes; without a script blocking 217, ArduCopter ACKs UNSUPPORTED. We
model only the second way (217 inside an uploaded mission is skipped like other do-commands),
and answer at once where a script would answer on its next run (tens of milliseconds later).
TUNNEL reaches a script the same way (``register_rx_msgid(TUNNEL)``); ArduPilot itself ignores it.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from simulators.errors import CommandDenied, CommandFailed

__all__ = [
    "CHUNK_TEXT_BYTES",
    "DEFAULT_CLIPS",
    "MAX_REPEAT",
    "MAX_UPLOADS",
    "MSG_PLAY_CLIP",
    "MSG_PLAY_TEXT",
    "MSG_STOP",
    "PAYLOAD_TYPE_TEXT",
    "Play",
    "Speaker",
]

MSG_PLAY_CLIP = 1
MSG_PLAY_TEXT = 2
MSG_STOP = 3
PAYLOAD_TYPE_TEXT = 32801  # MAV_TUNNEL_PAYLOAD_TYPE private range starts at 32768
_HEADER = struct.Struct("<HBBI")  # handle, chunk index, chunk count, CRC-32 of the whole text
TUNNEL_PAYLOAD_BYTES = 128
CHUNK_TEXT_BYTES = TUNNEL_PAYLOAD_BYTES - _HEADER.size  # 120
MAX_REPEAT = 10
MAX_UPLOADS = 8
# Mandarin text-to-speech reads about 4 characters a second; a play's length is estimated so.
TEXT_CHARS_PER_S = 4.0
# The recorded warnings on the speaker's card: clip number -> length in seconds.
DEFAULT_CLIPS: dict[int, float] = {
    1: 12.0,  # 占道经营劝离: this road is not a market, please pack up and leave
    2: 10.0,  # 禁止流动供油: selling fuel from a vehicle is forbidden here
    3: 8.0,   # 安全提示: keep clear, drone overhead
}


@dataclass(frozen=True)
class Play:
    """One warning the speaker played: when, what, how, and where the drone was."""

    time_s: float  # the vehicle's mission seconds when the command was accepted
    at: datetime  # the fleet clock at that moment
    kind: str  # "clip" | "text"
    clip_id: int | None
    text: str | None
    repeat: int
    volume_pct: int
    lat: float
    lon: float
    alt_rel_m: float  # metres above home
    duration_s: float  # one playing of the clip or text

    @property
    def ends_s(self) -> float:
        """Mission seconds when the last repeat ends (if not stopped or replaced before)."""
        return self.time_s + self.duration_s * self.repeat


@dataclass
class _Upload:
    count: int
    crc: int
    chunks: dict[int, bytes] = field(default_factory=dict)
    garbled: str | None = None


class Speaker:
    """A loudspeaker with a card of recorded clips, a text-to-speech engine and a play log."""

    def __init__(self, clips: dict[int, float] | None = None) -> None:
        self.clips = dict(DEFAULT_CLIPS if clips is None else clips)
        self.played: list[Play] = []  # appended by the fleet thread; read, never write
        self._uploads: OrderedDict[int, _Upload] = OrderedDict()
        self._stopped_at_s: float | None = None

    def now_playing(self, time_s: float) -> Play | None:
        """The play still sounding at ``time_s`` (the latest, unless stopped or finished)."""
        if not self.played:
            return None
        last = self.played[-1]
        if self._stopped_at_s is not None and self._stopped_at_s >= last.time_s:
            return None
        return last if last.time_s <= time_s < last.ends_s else None

    # ------------------------------------------------------------------ TUNNEL

    def receive_chunk(self, payload: bytes) -> None:
        """Store one TUNNEL chunk of a text upload; a malformed one marks its upload garbled."""
        if len(payload) < _HEADER.size:
            return  # not even a handle to blame
        handle, index, count, crc = _HEADER.unpack_from(payload)
        data = bytes(payload[_HEADER.size:])
        upload = self._uploads.get(handle)
        if upload is None or upload.crc != crc or upload.count != count:
            # a new text under this handle replaces the old one
            upload = _Upload(count=count, crc=crc)
            self._uploads[handle] = upload
        self._uploads.move_to_end(handle)
        while len(self._uploads) > MAX_UPLOADS:
            self._uploads.popitem(last=False)
        if count == 0 or index >= count:
            upload.garbled = f"chunk {index} of {count}"
        elif index < count - 1 and len(data) != CHUNK_TEXT_BYTES:
            upload.garbled = f"chunk {index}: {len(data)} bytes"  # all but the last are full
        else:
            upload.chunks[index] = data

    def _text(self, handle: int) -> str:
        upload = self._uploads.get(handle)
        if upload is None:
            raise CommandFailed(f"Speaker: no text {handle} uploaded")
        if upload.garbled:
            raise CommandFailed(f"Speaker: text {handle} garbled ({upload.garbled})")
        if len(upload.chunks) < upload.count:
            raise CommandFailed(f"Speaker: text {handle} incomplete "
                                f"({len(upload.chunks)} of {upload.count} chunks)")
        raw = b"".join(upload.chunks[i] for i in range(upload.count))
        if zlib.crc32(raw) != upload.crc:
            raise CommandFailed(f"Speaker: text {handle} garbled (checksum)")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandFailed(f"Speaker: text {handle} garbled (not UTF-8)") from None

    # ------------------------------------------------------------------ the 217 command

    def command(self, message_id: float, p2: float, p3: float, p4: float, *, time_s: float,
                at: datetime, flying: bool, position: tuple[float, float, float]) -> str:
        """Carry out one script message; returns the STATUSTEXT to send, or raises a refusal.

        ``position`` is (lat, lon, metres above home) of the drone now; ``flying`` is armed
        and off the ground.
        """
        msg_id = _whole(message_id)
        if msg_id == MSG_STOP:
            self._stopped_at_s = time_s
            return "Speaker: stopped"
        if msg_id not in (MSG_PLAY_CLIP, MSG_PLAY_TEXT):
            raise CommandDenied(f"Speaker: unknown message id {message_id:g}")
        number = _whole(p2)
        repeat = 1 if p3 == 0 else _whole(p3)  # 0: MAVLink's empty parameter, the default
        volume = 100 if p4 == 0 else _whole(p4)
        if number is None or not 0 <= number <= 0xFFFF:
            raise CommandDenied(f"Speaker: bad clip or text number {p2:g}")
        if repeat is None or not 1 <= repeat <= MAX_REPEAT:
            raise CommandDenied(f"Speaker: repeat must be 1-{MAX_REPEAT}")
        if volume is None or not 1 <= volume <= 100:
            raise CommandDenied("Speaker: volume must be 1-100 %")
        if not flying:
            raise CommandDenied("Speaker: not flying, play refused")
        if msg_id == MSG_PLAY_CLIP:
            if number not in self.clips:
                raise CommandFailed(f"Speaker: no clip {number} on the card")
            kind, clip_id, text, duration = "clip", number, None, self.clips[number]
            said = f"clip {number}"
        else:
            text = self._text(number)
            kind, clip_id, duration = "text", None, len(text) / TEXT_CHARS_PER_S
            said = f"text {number}, {len(text)} chars"
        lat, lon, alt = position
        self.played.append(Play(time_s=time_s, at=at, kind=kind, clip_id=clip_id, text=text,
                                repeat=repeat, volume_pct=volume, lat=lat, lon=lon,
                                alt_rel_m=alt, duration_s=duration))
        return f"Speaker: {said} x{repeat} at {volume}%"


def _whole(value: float) -> int | None:
    """``value`` as an int when it is a finite whole number, else None."""
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)
