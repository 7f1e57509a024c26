"""Evidence clips: frames of the ring buffer written as a WebM (VP8) file a browser plays.

VP8 in WebM, not H.264 in MP4: PyAV's wheels carry libvpx and libx264 alike, and Debian's
Chromium on this machine plays both (``canPlayType`` answers "probably" to each), but Chromium
builds without the proprietary codecs (open-source Chromium, some kiosk and distribution builds)
play no H.264, while every Chromium and Firefox plays VP8. The frames keep their true times
(millisecond timestamps from their arrival), so a clip with a gap in it is as long as the time
it covers, not its frame count divided by a nominal rate.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

from api.core.errors import Conflict
from api.video.ring import Frame
from api.video.source import decode_jpeg

CONTENT_TYPE = "video/webm"
SUFFIX = ".webm"
BITRATE = 1_000_000  # bit/s: a 640x480 scene at 10 fps stays legible at this rate


class EmptyClip(Conflict):
    """No frames to write: the stream had none in the window asked for (409: ask again once
    the stream is back)."""


@dataclass(frozen=True)
class ClipInfo:
    """What a clip holds: frames, seconds from its first frame to the end of its last."""

    data: bytes
    frames: int
    duration_s: float


def encode_clip(frames: list[Frame]) -> ClipInfo:
    """A WebM (VP8) of ``frames`` (oldest first), each shown until the next one comes; the last
    for the median frame interval. Frames of another size than the first are scaled to it."""
    if not frames:
        raise EmptyClip("no frames of this drone's video in the clip's window: the stream was "
                        "down or not yet read; ask again once GET /api/v1/video/drones says it "
                        "is live")
    t0 = frames[0].at
    stamps_ms = [round((f.at - t0).total_seconds() * 1000) for f in frames]
    steps = np.diff(stamps_ms) if len(frames) > 1 else np.array([100])
    last_ms = int(np.median(steps)) or 100
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="webm") as out:
        first = decode_jpeg(frames[0].jpeg)
        h, w = first.shape[:2]
        stream = out.add_stream("libvpx", rate=1000)
        stream.width, stream.height = w - w % 2, h - h % 2
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = BITRATE
        stream.codec_context.time_base = Fraction(1, 1000)
        # libvpx's defaults ("good", cpu-used 0) spent 100 ms a 320x240 frame on this machine's
        # CPU; "realtime" at cpu-used 16 a tenth of that, which is what a 2-core service can afford
        stream.options = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0"}
        previous = -1
        for f, ms in zip(frames, stamps_ms, strict=True):
            if ms <= previous:  # two frames in one millisecond: the container needs rising stamps
                continue
            image = first if f is frames[0] else decode_jpeg(f.jpeg)
            if image.shape[:2] != (stream.height, stream.width):
                image = cv2.resize(image, (stream.width, stream.height))
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
            previous = ms
        for packet in stream.encode(None):
            out.mux(packet)
    return ClipInfo(buf.getvalue(), len(frames), (stamps_ms[-1] + last_ms) / 1000.0)
