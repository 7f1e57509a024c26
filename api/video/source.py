"""One video stream read with PyAV/FFmpeg in a thread: frames out, reconnects, gaps recorded.

Any URL FFmpeg opens works: ``rtsp://``, ``rtmp://``, ``srt://``, ``http(s)://`` (HTTP-FLV, an
MJPEG camera's ``multipart/x-mixed-replace``), or a file path / ``file:`` URL (tests, replays; a
file is paced at its own frame rate, as FFmpeg's ``-re`` does, and played again when it ends).
MJPEG packets are already JPEG, so they are passed on as they came (no decode, no re-encode); any
other codec is decoded and encoded to JPEG once, here, for every consumer.

When the stream fails or ends, the reader records a gap (from its last frame until the next
one), waits (back-off doubling from ``backoff_s`` to ``max_backoff_s``) and opens it again, for
as long as it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import av
import cv2
import numpy as np

log = logging.getLogger("flyonce.video")

JPEG_QUALITY = 80  # for re-encoded (non-MJPEG) sources: a 640x480 frame is about 40 KB


@dataclass(frozen=True)
class Gap:
    """A stretch without frames: from the last frame before it until the first after (None
    while it lasts), and what ended the stream."""

    start: datetime
    end: datetime | None
    reason: str

    @property
    def duration_s(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class SourceFrame:
    """A frame as read: JPEG bytes, its size, and the decoded BGR image when the reader had to
    decode it anyway (None for MJPEG; ``image()`` decodes then)."""

    jpeg: bytes
    width: int
    height: int
    bgr: np.ndarray | None = None

    def image(self) -> np.ndarray:
        """The frame as a BGR array (decoded from the JPEG when it came as one)."""
        return self.bgr if self.bgr is not None else decode_jpeg(self.jpeg)


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """A JPEG as a BGR array; ValueError when it is not a decodable JPEG."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the frame is not a decodable JPEG")
    return image


def is_file(url: str) -> bool:
    """Whether ``url`` names a local file (paced and looped) rather than a live stream."""
    scheme = urlparse(url).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and Path(url).exists())  # C:\ on Windows


def _local_path(url: str) -> str:
    return urlparse(url).path if url.startswith("file:") else url


class StreamReader:
    """Reads ``url`` in a daemon thread and calls ``on_frame(SourceFrame)`` for every frame.

    ``now`` stamps gaps (the service's clock); ``on_gap(Gap)`` is told when a gap opens (end
    None) and again when it closes. ``open_timeout_s`` bounds connecting and each read, so a
    silent network stream counts as failed, not as slow.
    """

    def __init__(self, url: str, on_frame: Callable[[SourceFrame], None], *,
                 now: Callable[[], datetime], on_gap: Callable[[Gap], None] | None = None,
                 backoff_s: float = 0.5, max_backoff_s: float = 8.0,
                 open_timeout_s: float = 5.0, name: str = "") -> None:
        self.url = url
        self.on_frame = on_frame
        self.on_gap = on_gap or (lambda gap: None)
        self.now = now
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.open_timeout_s = open_timeout_s
        self.name = name or url
        self.frames = 0
        self.opens = 0
        self.last_frame_at: datetime | None = None
        self._open_gap: Gap | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._container = None

    def start(self) -> StreamReader:
        self._thread = threading.Thread(target=self._run, name=f"video-{self.name}", daemon=True)
        self._thread.start()
        return self

    def signal_stop(self) -> None:
        """Ask the thread to end (it does at its next frame or read timeout)."""
        self._stop.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    @property
    def live(self) -> bool:
        """Whether frames are flowing (no gap is open and one frame has come)."""
        return self._open_gap is None and self.frames > 0

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        delay = self.backoff_s
        while not self._stop.is_set():
            before = self.frames
            try:
                self._read_once()
                reason = "the stream ended"
            except (av.FFmpegError, OSError, ValueError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001 - a reader thread must outlive any one failure
                log.exception("video %s: unexpected failure", self.name)
                reason = f"{type(exc).__name__}: {exc}"
            if self._stop.is_set():
                break
            self._begin_gap(reason)
            if self.frames > before:
                delay = self.backoff_s  # it worked for a while: retry soon
            log.info("video %s: %s; reopening in %.1f s", self.name, reason, delay)
            self._stop.wait(delay)
            delay = min(self.max_backoff_s, delay * 2)

    def _begin_gap(self, reason: str) -> None:
        if self._open_gap is not None:
            return
        start = self.last_frame_at or self.now()
        self._open_gap = Gap(start, None, reason)
        self.on_gap(self._open_gap)

    def _end_gap(self) -> None:
        gap = self._open_gap
        if gap is not None:
            self._open_gap = None
            self.on_gap(Gap(gap.start, self.now(), gap.reason))

    def _read_once(self) -> None:
        file = is_file(self.url)
        target = _local_path(self.url) if file else self.url
        options = {} if file else {"fflags": "nobuffer", "probesize": "32768",
                                   "analyzeduration": "0",
                                   "rw_timeout": str(int(self.open_timeout_s * 1e6))}
        if self.url.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        container = av.open(target, options=options, timeout=self.open_timeout_s)
        self.opens += 1
        try:
            stream = container.streams.video[0]
        except IndexError:
            container.close()
            raise ValueError("the source has no video stream") from None
        stream.thread_type = "AUTO"
        passthrough = stream.codec_context.name == "mjpeg"
        fps = float(stream.average_rate or stream.guessed_rate or 10)
        t0 = time.monotonic()
        n = 0
        try:
            for packet in container.demux(stream):
                if self._stop.is_set():
                    return
                if packet.size == 0:
                    continue
                if passthrough:
                    jpeg = bytes(packet)
                    w, h = stream.codec_context.width, stream.codec_context.height
                    frames = [SourceFrame(jpeg, w, h)]
                else:
                    frames = []
                    for frame in packet.decode():
                        bgr = frame.to_ndarray(format="bgr24")
                        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                        if ok:
                            frames.append(SourceFrame(buf.tobytes(), frame.width, frame.height, bgr))
                for f in frames:
                    if file:  # as a camera would: one frame per 1/fps, not as fast as the disk
                        n += 1
                        wait = t0 + n / fps - time.monotonic()
                        if wait > 0 and self._stop.wait(wait):
                            return
                    self._end_gap()
                    self.last_frame_at = self.now()
                    self.frames += 1
                    self.on_frame(f)
        finally:
            container.close()
