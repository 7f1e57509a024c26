"""The last seconds of one stream: frames (JPEG), when they came, and the detector's boxes."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Box:
    """One detection in a frame: pixel box (x0, y0, x1, y1), class label, confidence."""

    xyxy: tuple[float, float, float, float]
    label: str
    confidence: float

    def as_json(self) -> dict:
        return {"xyxy": [round(v, 1) for v in self.xyxy], "label": self.label,
                "confidence": round(self.confidence, 3)}


@dataclass
class Frame:
    """A frame of a drone's stream: its number in the stream, when it arrived (service clock),
    the JPEG, and — once the detector has looked at it — its boxes and the frame's size."""

    seq: int
    at: datetime
    jpeg: bytes
    boxes: tuple[Box, ...] | None = None  # None: the detector did not look at this frame
    wh: tuple[int, int] | None = None
    _bgr: object = field(default=None, repr=False)  # the decoded image, dropped once detected


class FrameRing:
    """Frames of the last ``seconds`` (by their arrival time), oldest first; thread-safe."""

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("a ring buffer must hold a positive number of seconds")
        self.span = timedelta(seconds=seconds)
        self._frames: deque[Frame] = deque()
        self._lock = threading.Lock()

    def add(self, frame: Frame) -> None:
        """Append ``frame`` and drop the frames older than ``seconds`` before it."""
        with self._lock:
            self._frames.append(frame)
            horizon = frame.at - self.span
            while self._frames and self._frames[0].at < horizon:
                self._frames.popleft()

    def window(self, start: datetime, end: datetime) -> list[Frame]:
        """The frames that arrived in [start, end], oldest first."""
        with self._lock:
            return [f for f in self._frames if start <= f.at <= end]

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def oldest(self) -> datetime | None:
        with self._lock:
            return self._frames[0].at if self._frames else None
