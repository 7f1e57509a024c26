"""Live video: glass-to-glass latency into Chromium, CPU per stream and per viewer, and whether
6 drones x 2 viewers hold 10 frames a second.

    python tests/bench/bench_video.py [--seconds 20] [--latency-frames 150]

Cameras: ``simulators.camera.mjpeg`` serving, per drone, a 640x480 frame of the sample town
(rendered once, then stamped with its send time each frame, so the bench measures the video path
and not the town renderer). The service: ``flyonce serve`` in its own process, streams from
``FLYONCE_VIDEO_SOURCES``, the shipped detector on (2 looks/s per stream at most, one thread).

1. Latency, one drone, one viewer: the console in Debian's Chromium; on every animation frame
   (just before Chromium paints) the page reads the time code off the canvas, and the latency is
   that paint time less the frame's render time (one machine, one wall clock). Baseline in the
   same run: the same camera read straight from its URL by a Python client (no service, no
   browser).
2. Load: 6 drones; CPU of the service process reading them with the detector off (per stream
   reader), and with 2 HTTP viewers per drone (per viewer); then with the detector on, with no
   viewer and with 12 HTTP viewers and one Chromium console; frames each viewer received per second, against the frames a
   camera sent in the same seconds (the baseline: a viewer cannot get more). CPU is process
   time (user + system) over wall time, 100 % = one core.

Prints one JSON line; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

FPS = 10
DRONES = 6
VIEWERS_PER_DRONE = 2


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (and its reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and every live descendant (Chromium's renderer, GPU processes)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += cpu_s(p)
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


class Viewer(threading.Thread):
    """An HTTP viewer of one stream: counts the parts it receives."""

    def __init__(self, url: str, headers: dict) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.frames = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import httpx

        with httpx.Client(timeout=10) as http, http.stream("GET", self.url, headers=self.headers) as r:
            mark, tail = b"Content-Type: image/jpeg", b""
            for chunk in r.iter_raw():
                data = tail + chunk  # a mark split across two chunks is counted once, whole
                self.frames += data.count(mark)
                tail = data[-(len(mark) - 1):]
                if self.stop.is_set():
                    return


def direct_latency_ms(url: str, n: int) -> list[float]:
    """Render-to-arrival of a Python client reading the camera straight (the baseline)."""
    import cv2
    import httpx
    import numpy as np

    from simulators.camera.timecode import read_ms

    out: list[float] = []
    buf = b""
    with httpx.Client(timeout=10) as http, http.stream("GET", url) as r:
        for chunk in r.iter_raw():
            buf += chunk
            while True:
                start = buf.find(b"\xff\xd8")
                end = buf.find(b"\xff\xd9", start + 2)
                if start < 0 or end < 0:
                    break
                jpeg, buf = buf[start:end + 2], buf[end + 2:]
                image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                out.append(time.time() * 1000 - read_ms(image))
            if len(out) >= n:
                return out
    return out


LATENCY_JS = """(n) => new Promise((done) => {
  const c = document.getElementById('video-canvas'), ctx = c.getContext('2d', { willReadFrequently: true });
  const BITS = %d, CELL = %d, PER_ROW = %d; const out = []; let last = -1;
  function tick() {
    const d = ctx.getImageData(0, 0, PER_ROW * CELL, 2 * CELL).data; let v = 0;
    for (let i = 0; i < BITS; i++) { const row = Math.floor(i / PER_ROW), col = i %% PER_ROW;
      const x = col * CELL + CELL / 2, y = row * CELL + CELL / 2, k = (y * PER_ROW * CELL + x) * 4;
      v = v * 2 + ((d[k] + d[k + 1] + d[k + 2]) / 3 >= 128 ? 1 : 0); }
    if (v !== last && v > 0) { last = v; out.push(performance.timeOrigin + performance.now() - v); }
    if (out.length >= n) done(out); else requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
})"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each load phase")
    parser.add_argument("--latency-frames", type=int, default=150)
    args = parser.parse_args()

    import httpx
    from playwright.sync_api import sync_playwright

    from simulators.camera import CameraPose, DroneCamera, Intrinsics
    from simulators.camera.mjpeg import MjpegServer
    from simulators.camera.timecode import BITS, CELL_PX, PER_ROW
    from simulators.town.sample import sample_world
    from tests.api.conftest import login, seeded_server
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, open_page

    world = sample_world(7)
    camera = DroneCamera(world, Intrinsics(640, 480))
    stalls = [o for o in world.objects if o.label == "street_stall"][:DRONES]
    frames = [camera.render(CameraPose(o.east_m, o.north_m, 40.0, 0.0)).image_bgr for o in stalls]
    cams = MjpegServer({str(i + 1): f.copy for i, f in enumerate(frames)}, fps=FPS).start()
    sources = {f"d{i + 1}": cams.url(str(i + 1)) for i in range(DRONES)}
    result: dict = {"fps": FPS, "frame_wh": [640, 480], "drones": DRONES,
                    "cpu_cores": os.cpu_count(), "load_avg_1m_before": os.getloadavg()[0]}
    try:
        # ---- 1. latency: one drone, one Chromium viewer
        server = seeded_server(Path(tempfile.mkdtemp(prefix="flyonce-bench-video-")),
                               FLYONCE_VIDEO_SOURCES=json.dumps({"d1": sources["d1"]}))
        try:
            http = httpx.Client(base_url=server.url, timeout=10)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = open_page(browser, server, "/ui/console", user="op")
                page.wait_for_function("window.flyonceVideo && window.flyonceVideo.frames >= 5",
                                       timeout=60000)
                g2g = page.evaluate(LATENCY_JS % (BITS, CELL_PX, PER_ROW), args.latency_frames)
                browser.close()
            base = direct_latency_ms(sources["d1"], args.latency_frames)
            result["latency_ms"] = {
                "chromium_via_service": {"p50": round(statistics.median(g2g), 1),
                                         "p95": round(pct(g2g, 95), 1), "max": round(max(g2g), 1),
                                         "frames": len(g2g)},
                "baseline_python_direct": {"p50": round(statistics.median(base), 1),
                                           "p95": round(pct(base, 95), 1), "frames": len(base)},
                "target_p95": 400}
        finally:
            server.stop()

        # ---- 2. load: 6 drones; first the readers alone (no detector, no viewer)
        server = seeded_server(Path(tempfile.mkdtemp(prefix="flyonce-bench-video-")),
                               FLYONCE_VIDEO_SOURCES=json.dumps(sources),
                               FLYONCE_VIDEO_DETECTOR="off")
        try:
            time.sleep(5)
            pid = server.proc.pid
            c0, t0 = cpu_s(pid), time.monotonic()
            time.sleep(args.seconds)
            readers_pct = 100 * (cpu_s(pid) - c0) / (time.monotonic() - t0)
            # ... and the same with 2 HTTP viewers per drone: what a viewer costs, the detector
            # (whose share of a loaded CPU varies by tens of percent) out of the sum
            op = login(httpx.Client(base_url=server.url, timeout=10), "op")
            viewers = [Viewer(f"{server.url}/api/v1/video/drones/d{i + 1}/live", op)
                       for i in range(DRONES) for _ in range(VIEWERS_PER_DRONE)]
            for v in viewers:
                v.start()
            time.sleep(2)
            c0, t0 = cpu_s(pid), time.monotonic()
            time.sleep(args.seconds)
            viewers_pct = 100 * (cpu_s(pid) - c0) / (time.monotonic() - t0)
            for v in viewers:
                v.stop.set()
        finally:
            server.stop()
        # ---- then with the detector, with no viewer, then 12 viewers and a Chromium console
        server = seeded_server(Path(tempfile.mkdtemp(prefix="flyonce-bench-video-")),
                               FLYONCE_VIDEO_SOURCES=json.dumps(sources))
        try:
            http = httpx.Client(base_url=server.url, timeout=10)
            op = login(http, "op")
            pid = server.proc.pid
            time.sleep(15)  # the readers connect and the detector loads its weights
            c0, t0 = cpu_s(pid), time.monotonic()
            time.sleep(args.seconds)
            idle_pct = 100 * (cpu_s(pid) - c0) / (time.monotonic() - t0)
            viewers = [Viewer(f"{server.url}/api/v1/video/drones/d{i + 1}/live", op)
                       for i in range(DRONES) for _ in range(VIEWERS_PER_DRONE)]
            for v in viewers:
                v.start()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = open_page(browser, server, "/ui/console", user="op")
                page.wait_for_function("window.flyonceVideo && window.flyonceVideo.frames >= 5",
                                       timeout=60000)
                time.sleep(2)
                counts0 = [v.frames for v in viewers]
                cam0 = cams.cameras["1"].frames
                page0 = page.evaluate("window.flyonceVideo.frames")
                c0, t0 = cpu_s(pid), time.monotonic()
                b0 = browser_cpu_s(pid)
                looks0 = sum(d["detector_looks"] for d in
                             http.get("/api/v1/video/drones", headers=op).json())
                time.sleep(args.seconds)
                wall = time.monotonic() - t0
                looks1 = sum(d["detector_looks"] for d in
                             http.get("/api/v1/video/drones", headers=op).json())
                busy_pct = 100 * (cpu_s(pid) - c0) / wall
                browser_pct = 100 * (browser_cpu_s(pid) - b0) / wall
                fps = [(v.frames - c) / wall for v, c in zip(viewers, counts0)]
                camera_fps = (cams.cameras["1"].frames - cam0) / wall
                page_fps = (page.evaluate("window.flyonceVideo.frames") - page0) / wall
                browser.close()
            for v in viewers:
                v.stop.set()
            streams = http.get("/api/v1/video/drones", headers=op).json()
            looks_per_s = (looks1 - looks0) / wall
            n_view = len(viewers) + 1
            result["load"] = {
                "service_cpu_pct_readers_only": round(readers_pct, 1),
                "service_cpu_pct_per_stream_reader": round(readers_pct / DRONES, 2),
                "service_cpu_pct_streams_and_detector": round(idle_pct, 1),
                "service_cpu_pct_per_stream_with_detector": round(idle_pct / DRONES, 1),
                "service_cpu_pct_readers_and_12_viewers": round(viewers_pct, 1),
                "service_cpu_pct_per_viewer": round((viewers_pct - readers_pct) / 12, 2),
                "service_cpu_pct_with_detector_and_viewers": round(busy_pct, 1),
                "chromium_cpu_pct_one_console_viewer": round(browser_pct, 1),
                "viewers": n_view,
                "delivered_fps_http_viewers": {"min": round(min(fps), 2),
                                               "mean": round(statistics.mean(fps), 2)},
                "delivered_fps_chromium_console": round(page_fps, 2),
                "camera_fps_sent": round(camera_fps, 2),
                "detector_looks_per_s_all_streams": round(looks_per_s, 2),
                "streams_live": sum(s["state"] == "live" for s in streams),
                "gaps": sum(len(s["gaps"]) for s in streams),
                # held: every viewer got at least 95 % of the frames the cameras sent meanwhile
                "held_camera_fps": min(fps) >= 0.95 * camera_fps and page_fps >= 0.95 * camera_fps,
            }
        finally:
            server.stop()
    finally:
        cams.stop()
    result["camera_frames_sent"] = sum(c.frames for c in cams.cameras.values())
    result["load_avg_1m_after"] = os.getloadavg()[0]
    print(json.dumps(result))


def browser_cpu_s(server_pid: int) -> float:
    """CPU seconds of this bench's own children but the server: Playwright's driver and the
    Chromium it started (other people's browsers on the machine are not counted)."""
    me = os.getpid()
    return tree_cpu_s(me) - cpu_s(me) - tree_cpu_s(server_pid)


if __name__ == "__main__":
    main()
