"""Frames and poses in, deduplicated geolocated EventCandidates out."""

from __future__ import annotations

import logging
import time as _time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from detection.candidate import EVENT_TYPES, MIN_MEAN_CONFIDENCE, EventCandidate
from detection.errors import FrameError, TelemetryError
from detection.georef import CameraModel, Pose, ground_offsets_m, position_error_m
from detection.merge import Sighting, SightingMerger
from detection.sources import Frame, require_image
from detection.telemetry import PoseTrack
from detection.tiles import TILING_MODES, TilePlan, gsd_m_per_px, plan_tiles

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    """What a run did: frames seen, used, skipped (by reason), and where the time went."""

    frames_in: int = 0
    frames_used: int = 0
    skipped: Counter = field(default_factory=Counter)
    detections: int = 0
    sightings: int = 0
    frames_tiled: int = 0
    tiles: int = 0
    inference_s: float = 0.0
    total_s: float = 0.0

    def to_json(self) -> dict:
        """The figures as a plain dict."""
        return {"frames_in": self.frames_in, "frames_used": self.frames_used,
                "frames_skipped": sum(self.skipped.values()), "skipped": dict(self.skipped),
                "detections": self.detections, "sightings": self.sightings,
                "frames_tiled": self.frames_tiled, "tiles": self.tiles,
                "inference_s": round(self.inference_s, 3), "total_s": round(self.total_s, 3)}


class Sampler:
    """Passes frames at ``rate_hz`` of clip time (all frames when None)."""

    def __init__(self, rate_hz: float | None):
        self.period_s = 1.0 / rate_hz if rate_hz else 0.0
        self._next = -1e-9

    def __call__(self, t_s: float) -> bool:
        if t_s + 1e-6 < self._next:
            return False
        self._next = max(self._next + self.period_s, t_s + self.period_s * 0.5)
        return True


class Pipeline:
    """Runs a detector over frames, georeferences every detection, merges sightings.

    ``frame`` is the local metric frame (geofence's ``LocalFrame``) in which sightings are merged;
    ``start_time`` anchors clip seconds to mission time when the telemetry carries no clock.
    ``tiling``: "auto" cuts a frame into tiles when its pose's ground sampling distance makes the
    smallest stall too small for the model (``detection.tiles``; ``flyonce detect``'s default),
    "on" tiles every frame, "off" none (the default here: the demo's single looks keep it).
    Tiled frames go to the detector's ``track_tiled``, whole ones to ``track``; the two share
    one tracker, so a stream that crosses the altitude keeps its track ids.
    """

    def __init__(self, detector, frame, *, source: str, drone_id: str | None = None,
                 camera: CameraModel | None = None, start_time: datetime | None = None,
                 track: bool = True, radius_m: float = 8.0, window_s: float = 900.0,
                 min_sightings: int = 2, min_mean_confidence: float = MIN_MEAN_CONFIDENCE,
                 min_alt_m: float = 5.0, batch: int = 1, tiling: str = "off"):
        if tiling not in TILING_MODES:
            raise ValueError(f"tiling must be one of {', '.join(TILING_MODES)}, got {tiling!r}")
        self.tiling = tiling
        self.detector = detector
        self.frame = frame
        self.camera = camera or CameraModel()
        self.source, self.drone_id = source, drone_id
        self.start_time = start_time
        self.track = track
        self.min_alt_m = min_alt_m
        # One frame a call by default: on this 2-core CPU at 1280 px a batch of 4 ran 2.97
        # frames/s against 3.74 one at a time (bare predict 3.95); a GPU wants larger batches.
        self.batch = max(1, batch)
        self.merger = SightingMerger(frame.to_wgs84, source, radius_m=radius_m,
                                     window_s=window_s, min_sightings=min_sightings,
                                     min_mean_confidence=min_mean_confidence,
                                     model_version=getattr(detector, "version", None))
        self.stats = PipelineStats()

    def run(self, frames: Iterable[Frame], poses: PoseTrack | None = None,
            on_skip: Callable[[Frame, str], None] | None = None,
            on_candidate: Callable[[EventCandidate], None] | None = None
            ) -> list[EventCandidate]:
        """Every merged candidate once the frames end (``SightingMerger.candidates()``); each
        frame is processed, ``batch`` at a time; bad frames are skipped, counted and reported,
        never fatal.

        ``on_candidate(candidate)`` is called while the frames are still read, after the model
        call that makes a cluster qualify, once per cluster (``SightingMerger.ready()``: the
        cluster as it stood then, under the id the returned list gives it); a live stream,
        which never ends, reports through it alone."""
        t0 = _time.perf_counter()
        pending: list[tuple[Frame, np.ndarray, Pose, datetime]] = []
        for f in frames:
            self.stats.frames_in += 1
            try:
                pending.append(self._prepare(f, poses))
            except (FrameError, TelemetryError) as exc:
                reason = "telemetry" if isinstance(exc, TelemetryError) else "frame"
                self.stats.skipped[reason] += 1
                log.warning("frame %s skipped: %s", f.index, exc)
                if on_skip:
                    on_skip(f, str(exc))
                continue
            if len(pending) >= self.batch:
                self._detect(pending)
                pending = []
                self._hand_out(on_candidate)
        self._detect(pending)
        self._hand_out(on_candidate)
        self.stats.total_s += _time.perf_counter() - t0
        return self.merger.candidates()

    def _hand_out(self, on_candidate: Callable[[EventCandidate], None] | None) -> None:
        if on_candidate is not None:
            for c in self.merger.ready():
                on_candidate(c)

    def _prepare(self, f: Frame, poses: PoseTrack | None) -> tuple[Frame, np.ndarray, Pose,
                                                                    datetime]:
        image = require_image(f)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 32:
            raise FrameError(f"frame {f.index}: unusable image of shape {image.shape}")
        if f.pose is not None:
            pose = f.pose
        elif poses is None:
            raise TelemetryError("no pose for this frame: give telemetry (.SRT or .csv)")
        else:
            pose = poses.at(f.t_s)
        if not pose.alt_rel_m >= self.min_alt_m:
            raise TelemetryError(f"frame {f.index}: altitude {pose.alt_rel_m} m above home is "
                                 f"below {self.min_alt_m} m, cannot place detections")
        if pose.time is not None:
            when = pose.time
        elif self.start_time is not None:
            when = self.start_time + timedelta(seconds=f.t_s)
        else:
            raise TelemetryError("no mission time: the telemetry has no clock; give a start time")
        return f, image, pose, when

    def _detect(self, batch: list[tuple[Frame, np.ndarray, Pose, datetime]]) -> None:
        if not batch:
            return
        images = [b[1] for b in batch]
        t = _time.perf_counter()
        plans = ([None] * len(batch) if self.tiling == "off"
                 else [self._plan(image, pose) for _, image, pose, _ in batch])
        if all(p is None for p in plans):
            results = self.detector.track(images) if self.track else self.detector.predict(images)
        else:
            for p in plans:
                if p is not None:
                    self.stats.frames_tiled += 1
                    self.stats.tiles += p.grid ** 2
            results = (self.detector.track_tiled(images, plans) if self.track
                       else self.detector.predict_tiled(images, plans))
        self.stats.inference_s += _time.perf_counter() - t
        self.stats.frames_used += len(batch)
        for (f, image, pose, when), dets in zip(batch, results, strict=True):
            self.stats.detections += len(dets)
            if len(dets):
                self._place(f, image, pose, when, dets)

    def _plan(self, image: np.ndarray, pose: Pose) -> TilePlan | None:
        h, w = image.shape[:2]
        if not pose.gimbal_pitch_deg < 0:
            return None  # no ground at the image centre to measure; its boxes will not place
        gsd = gsd_m_per_px(self.camera, pose.alt_rel_m, pose.gimbal_pitch_deg, w, h)
        return plan_tiles(gsd, (w, h), self.detector.imgsz, force=self.tiling == "on")

    def _place(self, f: Frame, image: np.ndarray, pose: Pose, when: datetime, dets) -> None:
        h, w = image.shape[:2]
        offsets = ground_offsets_m(self.camera, pose, dets.centres(), w, h)
        errors = position_error_m(self.camera, pose, offsets, w, h)
        de, dn = self.frame.to_local(pose.lat, pose.lon)
        names = self.detector.names
        for i in range(len(dets)):
            if not np.isfinite(offsets[i]).all():
                continue
            kind = names[int(dets.class_id[i])]
            if kind not in EVENT_TYPES:
                continue
            tid = int(dets.tracker_id[i])
            s = Sighting(when, kind, float(de + offsets[i, 0]), float(dn + offsets[i, 1]),
                         float(dets.confidence[i]), float(errors[i]), self.drone_id,
                         (self.drone_id, tid) if tid >= 0 else None, f.index,
                         tuple(float(v) for v in dets.xyxy[i]))
            self.stats.sightings += 1
            self.merger.add(s, image)


def sampled(frames: Iterable[Frame], rate_hz: float | None) -> Iterator[Frame]:
    """Only the frames that fall on a ``rate_hz`` grid of clip time."""
    keep = Sampler(rate_hz)
    return (f for f in frames if keep(f.t_s))
