"""The patrol drones' cameras: frames rendered from each drone's true pose, detected, posted.

One worker thread (rendering and inference never run on an event loop) looks at every drone
flying a patrol (AUTO at patrol height) and takes a frame only when the drone has moved on by
``spacing_m`` since its last one — the footprint's length less the wanted overlap — so the
camera renders what coverage needs and no more. When the CPU cannot keep up, frames come later
and further apart: coverage drops, and the scorecard shows it (frames due vs taken). Each
frame's true boxes say which placed violations the camera had in view: that set is the patrol's
coverage against which recall is measured.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

log = logging.getLogger("flyonce.demo.camera")


@dataclass
class CameraStats:
    """Where the camera worker's wall time went, and how many frames coverage asked for."""

    frames: int = 0
    frames_due: float = 0.0  # distance flown on patrol / spacing: frames full coverage needs
    render_s: float = 0.0
    detect_s: float = 0.0
    post_s: float = 0.0
    candidates: int = 0
    post_errors: int = 0
    first_seen_s: dict[int, float] = field(default_factory=dict)  # object id -> mission s
    footprints: list[tuple[float, float, float]] = field(default_factory=list)  # (e, n, t_s)


class PatrolCameras:
    """Renders and detects for the drones on patrol; ``start``/``stop`` a background thread.

    ``vehicles``: (drone id, object with a ``.state`` VehicleState) pairs; ``post`` takes a list
    of EventCandidates and returns how many the service accepted.
    """

    def __init__(self, scenario, vehicles: Sequence[tuple[str, object]], *, now: Callable[[], datetime],
                 post: Callable[[list], int], patrol_alt_m: float, overlap: float = 0.2,
                 min_sightings: int = 1, conf: float = 0.25, detector=None) -> None:
        from detection.model import Detector
        from detection.pipeline import Pipeline
        from simulators.camera import DroneCamera

        self.scenario = scenario
        self.vehicles = list(vehicles)
        self.now = now
        self.post = post
        self.patrol_alt_m = patrol_alt_m
        self.camera = DroneCamera(scenario.world)
        intr = self.camera.intrinsics
        # nadir footprint along the track (image height, the top points along the heading)
        along_m = patrol_alt_m * intr.height_px / intr.focal_px
        self.spacing_m = along_m * (1.0 - overlap)
        self.detector = detector or Detector(conf=conf)
        self.pipelines = {
            drone_id: Pipeline(self.detector, scenario.town.frame, source=f"detector:{drone_id}",
                               drone_id=drone_id, track=False, min_sightings=min_sightings,
                               batch=1)
            for drone_id, _ in self.vehicles}
        self.stats = CameraStats()
        self._last: dict[str, tuple[float, float]] = {}
        self._flown: dict[str, tuple[float, float]] = {}
        self._posted: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._index = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-cameras", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop taking frames; the frame in hand is finished and its candidates posted."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _on_patrol(self, state) -> bool:
        return state.mode == "AUTO" and state.alt_rel_m >= 0.8 * self.patrol_alt_m

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                took = self.step()
            except Exception:  # a bad frame must not blind the whole fleet
                log.exception("camera step failed")
                took = False
            if not took:
                time.sleep(0.02)

    def step(self) -> bool:
        """Take the most overdue frame, if any drone on patrol needs one; True if one was taken."""
        due: list[tuple[float, str, object]] = []
        for drone_id, vehicle in self.vehicles:
            st = vehicle.state
            if not self._on_patrol(st):
                self._last.pop(drone_id, None)
                self._flown.pop(drone_id, None)
                continue
            prev = self._flown.get(drone_id)
            if prev is not None:
                self.stats.frames_due += math.hypot(st.east_m - prev[0], st.north_m - prev[1]) \
                    / self.spacing_m
            self._flown[drone_id] = (st.east_m, st.north_m)
            last = self._last.get(drone_id)
            moved = math.inf if last is None else math.hypot(st.east_m - last[0],
                                                             st.north_m - last[1])
            if moved >= self.spacing_m:
                due.append((moved, drone_id, st))
        if not due:
            return False
        _, drone_id, st = max(due, key=lambda d: d[0])
        self._shoot(drone_id, st)
        return True

    def _shoot(self, drone_id: str, st) -> None:
        from simulators.camera.patrol import LiveFrame, LivePose

        when = self.now()
        t_s = self.scenario.now_s()
        t0 = time.perf_counter()
        pose = self.camera.pose_at(st.lat, st.lon, st.alt_rel_m, st.heading_deg)
        frame = self.camera.render(pose)
        t1 = time.perf_counter()
        self._last[drone_id] = (st.east_m, st.north_m)
        self.stats.frames += 1
        self.stats.footprints.append((pose.east_m, pose.north_m, t_s))
        for box in frame.boxes:
            self.stats.first_seen_s.setdefault(box.object_id, t_s)
        pipe = self.pipelines[drone_id]
        self._index += 1
        live = LiveFrame(self._index, t_s, frame.image_bgr,
                         LivePose(when, st.lat, st.lon, st.alt_rel_m, st.heading_deg, -90.0))
        candidates = pipe.run([live])
        t2 = time.perf_counter()
        fresh = [c for c in candidates if c.source_event_id not in self._posted]
        if fresh:
            try:
                self.stats.candidates += self.post(fresh)
                self._posted.update(c.source_event_id for c in fresh)
            except Exception as exc:  # noqa: BLE001 - the service may be busy; next frame retries
                self.stats.post_errors += 1
                log.warning("posting %d candidates failed: %s", len(fresh), exc)
        self.stats.render_s += t1 - t0
        self.stats.detect_s += t2 - t1
        self.stats.post_s += time.perf_counter() - t2
