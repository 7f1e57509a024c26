"""One drone's stream fanned out: the reader's frames to the ring, the detector and viewers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

from api.video.ring import Box, Frame, FrameRing
from api.video.source import Gap, SourceFrame, StreamReader

log = logging.getLogger("flyonce.video")

GAPS_KEPT = 50


class StreamHub:
    """A drone's video in the service: ``StreamReader`` → newest frame, ring buffer, gaps.

    Viewers ``await next_frame(after_seq)`` on their own event loop; the reader thread wakes
    them with ``call_soon_threadsafe``, and a viewer that falls behind skips to the newest frame
    (no queue grows for a slow browser). ``on_frame`` (the detector's wake-up) is called in the
    reader thread.
    """

    def __init__(self, drone_id: str, url: str, *, now: Callable[[], datetime], ring_s: float,
                 on_frame: Callable[[StreamHub], None] | None = None, **reader_kw) -> None:
        self.drone_id = drone_id
        self.url = url
        self.now = now
        self.ring = FrameRing(ring_s)
        self.latest: Frame | None = None
        self.detected: Frame | None = None  # the newest frame the detector has looked at
        self.looks = 0  # frames the detector has looked at
        self.boxes_json = "null"  # ``detected``'s boxes as viewers' X-Boxes header: built once
        self.gaps: deque[Gap] = deque(maxlen=GAPS_KEPT)
        self._on_frame = on_frame or (lambda hub: None)
        self._seq = 0
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.reader = StreamReader(url, self._frame, now=now, on_gap=self._gap, name=drone_id,
                                   **reader_kw)

    def start(self) -> StreamHub:
        self.reader.start()
        return self

    def stop(self) -> None:
        self.reader.stop()

    # ------------------------------------------------------------------ reader thread

    def _frame(self, source: SourceFrame) -> None:
        with self._lock:
            self._seq += 1
            frame = Frame(self._seq, self.now(), source.jpeg, _bgr=source.bgr)
            if self.latest is not None:
                # only the newest frame keeps its decoded image (for the detector): 30 s of
                # decoded 640x480 frames would be 270 MB a stream, their JPEGs 10-20 MB
                self.latest._bgr = None
            self.latest = frame
            waiters = list(self._waiters)
        self.ring.add(frame)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that viewer's loop has closed
                loop.call_soon_threadsafe(event.set)
        self._on_frame(self)

    def _gap(self, gap: Gap) -> None:
        with self._lock:
            if self.gaps and gap.end is not None and self.gaps[-1].start == gap.start:
                self.gaps[-1] = gap  # the open gap closes
            else:
                self.gaps.append(gap)
        if gap.end is None:
            log.warning("video %s: signal lost after %s (%s)", self.drone_id,
                        gap.start.isoformat(), gap.reason)
        else:
            log.info("video %s: signal back after %.1f s", self.drone_id, gap.duration_s or 0.0)

    def set_boxes(self, frame: Frame, boxes: tuple[Box, ...], wh: tuple[int, int]) -> None:
        """The detector's answer for ``frame`` (called from the detector thread)."""
        frame.boxes, frame.wh, frame._bgr = boxes, wh, None
        with self._lock:
            self.looks += 1
            if self.detected is None or frame.seq > self.detected.seq:
                self.detected = frame
                self.boxes_json = json.dumps({"seq": frame.seq, "wh": list(wh),
                                              "boxes": [b.as_json() for b in boxes]},
                                             ensure_ascii=True)

    # ------------------------------------------------------------------ viewers

    async def next_frame(self, after_seq: int, timeout_s: float) -> Frame | None:
        """The newest frame after ``after_seq``, waiting up to ``timeout_s``; None if none came."""
        event = asyncio.Event()
        key = (asyncio.get_running_loop(), event)
        with self._lock:
            latest = self.latest
            if latest is not None and latest.seq > after_seq:
                return latest
            self._waiters.add(key)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout_s)
            latest = self.latest
            return latest if latest is not None and latest.seq > after_seq else None
        finally:
            with self._lock:
                self._waiters.discard(key)

    def status(self) -> dict:
        """What a console shows of this stream: live or lost, since when, its gaps."""
        with self._lock:
            gaps = list(self.gaps)
        latest = self.latest
        open_gap = gaps[-1] if gaps and gaps[-1].end is None else None
        return {
            "drone_id": self.drone_id,
            "state": "lost" if open_gap else ("live" if latest else "connecting"),
            "last_frame_at": latest.at if latest else None,
            "frames": latest.seq if latest else 0,
            "detector_looks": self.looks,
            "lost_since": open_gap.start if open_gap else None,
            "reason": open_gap.reason if open_gap else None,
            "gaps": [{"start": g.start, "end": g.end, "reason": g.reason} for g in gaps],
        }
