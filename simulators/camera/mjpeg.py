"""Simulated drone cameras served as a real one's video: MJPEG over HTTP, one path per camera.

``multipart/x-mixed-replace`` of JPEG parts is what many IP cameras and drone video gateways
serve, FFmpeg reads it (its ``mpjpeg`` demuxer, so PyAV's ``av.open(url)``), and it needs no
encoder state: a viewer that joins late gets the next whole frame. Each camera renders in its own
thread at ``fps`` whether or not anyone watches (a camera does not wait for its viewers), stamps
its render time into the pixels (``timecode``) and in a part header (``X-Render-Time-Ms``), and
encodes once; every connection is sent the newest frame, never a queue of old ones.

    with MjpegServer({"1": render_fn}, fps=10) as server:
        server.url("1")  # http://127.0.0.1:PORT/video/1.mjpg
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import cv2
import numpy as np

from simulators.camera.timecode import stamp_ms

log = logging.getLogger("flyonce.sim.video")

BOUNDARY = "flyonceframe"


class _Camera:
    """One camera's render loop and its newest encoded frame."""

    def __init__(self, render: Callable[[], np.ndarray], fps: float, quality: int) -> None:
        self.render = render
        self.period_s = 1.0 / fps
        self.quality = quality
        self.cond = threading.Condition()
        self.seq = 0
        self.jpeg = b""
        self.render_ms = 0
        self.dropped = False  # a link fault: connections are cut and refused while it lasts
        self.frames = 0

    def run(self, stop: threading.Event) -> None:
        next_t = time.monotonic()
        while not stop.is_set():
            try:
                image = np.ascontiguousarray(self.render())
                now_ms = time.time_ns() // 1_000_000
                stamp_ms(image, now_ms)
                ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                if not ok:
                    raise RuntimeError("JPEG encoding failed")
                with self.cond:
                    self.jpeg, self.render_ms = buf.tobytes(), now_ms
                    self.seq += 1
                    self.frames += 1
                    self.cond.notify_all()
            except Exception:  # a bad frame must not end the camera
                log.exception("camera render failed")
            next_t += self.period_s
            delay = next_t - time.monotonic()
            if delay < 0:  # behind: skip the frames that are already late instead of bursting
                next_t = time.monotonic()
                delay = 0.0
            stop.wait(delay)


class MjpegServer:
    """An HTTP server of ``/video/{camera_id}.mjpg`` streams; ``start``/``stop`` or ``with``."""

    def __init__(self, cameras: Mapping[str, Callable[[], np.ndarray]], *, fps: float = 10.0,
                 host: str = "127.0.0.1", port: int = 0, quality: int = 80) -> None:
        if not cameras:
            raise ValueError("an MJPEG server needs at least one camera")
        if not 0 < fps <= 60:
            raise ValueError(f"fps {fps} is outside 0-60")
        self.cameras = {str(k): _Camera(fn, fps, quality) for k, fn in cameras.items()}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]

    def url(self, camera_id: str) -> str:
        """Where camera ``camera_id`` is served."""
        return f"http://{self.host}:{self.port}/video/{camera_id}.mjpg"

    def start(self) -> Self:
        for cid, cam in self.cameras.items():
            t = threading.Thread(target=cam.run, args=(self._stop,), name=f"sim-camera-{cid}",
                                 daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                             name="sim-video-http", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for cam in self.cameras.values():
            with cam.cond:
                cam.cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def drop(self, camera_id: str, dropped: bool = True) -> None:
        """Cut camera ``camera_id``'s link (open streams end, new ones get 503) or restore it."""
        cam = self.cameras[camera_id]
        with cam.cond:
            cam.dropped = dropped
            cam.cond.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the stream ends when the connection closes

            def log_message(self, fmt: str, *args: object) -> None:  # quiet: one line per frame
                log.debug(fmt, *args)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                name = self.path.split("?", 1)[0]
                cid = name.removeprefix("/video/").removesuffix(".mjpg")
                cam = server.cameras.get(cid)
                if not name.startswith("/video/") or cam is None:
                    self.send_error(404, f"no camera {cid!r}; known: {sorted(server.cameras)}")
                    return
                if cam.dropped:
                    self.send_error(503, "link lost")
                    return
                self.send_response(200)
                self.send_header("Content-Type",
                                 f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                seen = 0
                try:
                    while not server._stop.is_set():
                        with cam.cond:
                            cam.cond.wait_for(lambda seen=seen: cam.seq != seen or cam.dropped
                                              or server._stop.is_set(), timeout=1.0)
                            if cam.dropped or server._stop.is_set():
                                return
                            if cam.seq == seen:
                                continue
                            seen, jpeg, render_ms = cam.seq, cam.jpeg, cam.render_ms
                        self.wfile.write(
                            (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                             f"Content-Length: {len(jpeg)}\r\nX-Render-Time-Ms: {render_ms}"
                             "\r\n\r\n").encode() + jpeg + b"\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler


def pose_camera(world, state_of: Callable[[], object], *, width_px: int = 320,
                height_px: int = 240, zoom: float = 1.0) -> Callable[[], np.ndarray]:
    """A render function for ``MjpegServer``: the town ``world`` through a nadir camera at the
    pose ``state_of()`` returns (an object with lat, lon, alt_rel_m, heading_deg: a simulated
    vehicle's true state), as the demo's patrol cameras render it. On the ground (below 2 m) the
    camera looks from 2 m, the dock's view."""
    import math

    from simulators.camera import DroneCamera, Intrinsics

    base = Intrinsics(width_px, height_px)
    fov = 2 * math.degrees(math.atan(math.tan(math.radians(base.diag_fov_deg / 2)) / zoom))
    camera = DroneCamera(world, Intrinsics(width_px, height_px, fov))

    def render() -> np.ndarray:
        st = state_of()
        pose = camera.pose_at(st.lat, st.lon, max(2.0, st.alt_rel_m), st.heading_deg)
        return camera.render(pose).image_bgr

    return render
