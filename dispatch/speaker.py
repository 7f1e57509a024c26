"""Warnings through the drone's loudspeaker (远程劝导): what a caller gets, and the bytes on the wire.

The interface (the service codes against it; keep it stable):

    await link.announce(*, clip_id: int | None = None, text: str | None = None,
                        repeat: int = 1, volume_pct: int = 100) -> Announcement
    await dispatcher.announce(incident_id, *, clip_id=None, text=None, repeat=1,
                              volume_pct=100) -> Announcement

Exactly one of ``clip_id`` (a recorded clip on the speaker's card) and ``text`` (Chinese or any
text, spoken by the drone's text-to-speech) is given. Refusals:

- ``PayloadError`` (also a ``ValueError``) before anything is sent: neither or both of
  clip/text, an empty text, a text over ``MAX_TEXT_CHARS`` characters, a clip number outside
  1-65535, repeat outside 1-``MAX_REPEAT``, volume outside 1-100 %.
- ``CommandRejected`` when the drone's ACK is not ACCEPTED; ``result`` is the MAV_RESULT name,
  ``result_code`` the number, and the message carries the speaker's STATUSTEXT: DENIED on the
  ground / disarmed or for bad parameters, FAILED for a clip not on the card or a text that
  did not arrive whole, UNSUPPORTED for a drone without the speaker script.
- ``LinkTimeout`` when the drone never answers; ``DroneUnavailable`` (dispatcher) when the
  event has no drone on it.

On the wire (simulators/speaker.py is the receiving end; docs/dispatch.md draws it): a text is
first uploaded in TUNNEL messages (payload_type ``PAYLOAD_TYPE_TEXT``), each carrying
``<handle u16><index u8><count u8><crc32 u32>`` little-endian and up to ``CHUNK_TEXT_BYTES``
bytes of the UTF-8 text, then played with MAV_CMD_DO_SEND_SCRIPT_MESSAGE (217) param1 =
``MSG_PLAY_TEXT``, param2 = handle; a clip is one 217 with param1 = ``MSG_PLAY_CLIP``,
param2 = clip number. param3 = repeat, param4 = volume %. The pymavlink calls live in
``dispatch/link.py``; this module holds only the plain parts.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import datetime

from dispatch.errors import PayloadError

__all__ = [
    "CHUNK_TEXT_BYTES",
    "MAX_REPEAT",
    "MAX_TEXT_CHARS",
    "MSG_PLAY_CLIP",
    "MSG_PLAY_TEXT",
    "MSG_STOP",
    "PAYLOAD_TYPE_TEXT",
    "TUNNEL_PAYLOAD_BYTES",
    "Announcement",
    "check_request",
    "text_chunks",
]

MSG_PLAY_CLIP = 1
MSG_PLAY_TEXT = 2
MSG_STOP = 3
PAYLOAD_TYPE_TEXT = 32801  # "flyonce speaker text", in MAV_TUNNEL_PAYLOAD_TYPE's private range
TUNNEL_PAYLOAD_BYTES = 128
_HEADER = struct.Struct("<HBBI")
CHUNK_TEXT_BYTES = TUNNEL_PAYLOAD_BYTES - _HEADER.size  # 120
# About 50 s of Mandarin speech at 4 characters a second; a longer warning is a speech, not a
# warning, and at 3 UTF-8 bytes a character it is still only 5 chunks.
MAX_TEXT_CHARS = 200
MAX_REPEAT = 10
MAX_CLIP_ID = 0xFFFF


@dataclass(frozen=True)
class Announcement:
    """A warning the drone's speaker accepted: which drone, what, how often, and when."""

    drone_id: str
    kind: str  # "clip" | "text"
    clip_id: int | None
    text: str | None
    repeat: int
    accepted_at: datetime  # the COMMAND_ACK's arrival, on the injected clock
    result: int  # MAV_RESULT of the play command (0, ACCEPTED)
    volume_pct: int = 100


def check_request(clip_id: int | None, text: str | None, repeat: int, volume_pct: int) -> str:
    """The kind ("clip" or "text") of a valid request; PayloadError saying what to fix if not."""
    if (clip_id is None) == (text is None):
        raise PayloadError("give exactly one of clip_id (a recorded clip) and text (to be spoken)")
    if not _is_int(repeat) or not 1 <= repeat <= MAX_REPEAT:
        raise PayloadError(f"repeat must be a whole number from 1 to {MAX_REPEAT}, got {repeat!r}")
    if not _is_int(volume_pct) or not 1 <= volume_pct <= 100:
        raise PayloadError(f"volume_pct must be a whole number from 1 to 100, got {volume_pct!r}")
    if clip_id is not None:
        if not _is_int(clip_id) or not 1 <= clip_id <= MAX_CLIP_ID:
            raise PayloadError(f"clip_id must be a whole number from 1 to {MAX_CLIP_ID}, "
                               f"got {clip_id!r}")
        return "clip"
    if not isinstance(text, str) or not text.strip():
        raise PayloadError("text is empty; write the warning to be spoken")
    if len(text) > MAX_TEXT_CHARS:
        raise PayloadError(f"text has {len(text)} characters; the speaker takes at most "
                           f"{MAX_TEXT_CHARS} (about 50 s of speech): shorten it or use a clip")
    return "text"


def text_chunks(handle: int, text: str) -> list[bytes]:
    """The TUNNEL payloads that upload ``text`` under ``handle`` (1-65535), in order."""
    raw = text.encode("utf-8")
    parts = [raw[i:i + CHUNK_TEXT_BYTES] for i in range(0, len(raw), CHUNK_TEXT_BYTES)] or [b""]
    if len(parts) > 255:
        raise PayloadError(f"text of {len(raw)} bytes needs {len(parts)} chunks; at most 255")
    crc = zlib.crc32(raw)
    return [_HEADER.pack(handle, index, len(parts), crc) + part
            for index, part in enumerate(parts)]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
