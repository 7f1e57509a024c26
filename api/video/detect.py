"""The detector over live streams: one thread, one model, every stream at a set rate.

One model for all streams (a YOLO holds hundreds of MB; one per stream would not fit a small
server), one thread (inference is the CPU's heaviest work; two threads would only fight for the
same cores). Each stream is looked at no more often than ``hz``, newest frame first: when the CPU
cannot keep up, streams are looked at less often, in turn (the most overdue first), and viewers
keep their frame rate — boxes then lag, frames do not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from api.video.hub import StreamHub
from api.video.ring import Box
from api.video.source import decode_jpeg

log = logging.getLogger("flyonce.video.detect")


class DetectorWorker:
    """Runs ``make_detector()`` (built in the thread, so a slow model load delays no start-up)
    on the newest frame of each hub, at most ``hz`` times a second per hub.

    The detector is anything with ``predict(list of BGR arrays) -> list of Detections`` and
    ``names`` (``detection.model.Detector``).
    """

    def __init__(self, hubs: Sequence[StreamHub], make_detector: Callable[[], object], *,
                 hz: float) -> None:
        if hz <= 0:
            raise ValueError("the detection rate must be positive")
        self.hubs = list(hubs)
        self.make_detector = make_detector
        self.period_s = 1.0 / hz
        self.error = ""
        self._last: dict[str, float] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self, hub: StreamHub) -> None:
        """A new frame came (the reader thread calls this)."""
        self._wake.set()

    def start(self) -> DetectorWorker:
        self._thread = threading.Thread(target=self._run, name="video-detector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _due(self) -> tuple[StreamHub | None, float]:
        """The most overdue hub with an unseen frame, or None and how long until one is due."""
        now = time.monotonic()
        best, best_over, wait = None, -1.0, self.period_s
        for hub in self.hubs:
            latest, seen = hub.latest, hub.detected
            if latest is None or (seen is not None and latest.seq <= seen.seq):
                continue
            over = now - self._last.get(hub.drone_id, 0.0) - self.period_s
            if over >= 0 and over > best_over:
                best, best_over = hub, over
            elif over < 0:
                wait = min(wait, -over)
        return best, wait

    def _run(self) -> None:
        try:
            detector = self.make_detector()
        except Exception as exc:  # noqa: BLE001 - no model: the video still flows, without boxes
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("video detector unavailable, streams go without boxes: %s", self.error)
            return
        names = detector.names
        while not self._stop.is_set():
            hub, wait = self._due()
            if hub is None:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            frame = hub.latest
            self._last[hub.drone_id] = time.monotonic()
            try:
                bgr = frame._bgr  # read once: the reader drops it when a newer frame comes
                image = bgr if bgr is not None else decode_jpeg(frame.jpeg)
                dets = detector.predict([image])[0]
            except Exception:  # noqa: BLE001 - one bad frame must not stop detection
                log.exception("video %s: detection failed on frame %d", hub.drone_id, frame.seq)
                hub.set_boxes(frame, (), (0, 0))
                continue
            boxes = tuple(Box(tuple(float(v) for v in dets.xyxy[i]), names[int(dets.class_id[i])],
                              float(dets.confidence[i])) for i in range(len(dets)))
            hub.set_boxes(frame, boxes, (image.shape[1], image.shape[0]))
