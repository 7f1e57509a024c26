"""Sightings of one object, across frames, passes and drones, merged into one EventCandidate."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import cv2
import numpy as np

from detection.candidate import MIN_MEAN_CONFIDENCE, EventCandidate

_NAMESPACE = uuid.UUID("6f1c3c1e-8a7d-4d5e-9a59-0f1e2d3c4b5a")


@dataclass(frozen=True)
class Sighting:
    """One detection placed on the map."""

    time: datetime
    type: str
    east_m: float
    north_m: float
    confidence: float
    position_error_m: float
    drone_id: str | None
    track_key: tuple | None  # (drone, tracker id) when the tracker followed it
    frame_index: int
    xyxy: tuple[float, float, float, float]


@dataclass
class _Cluster:
    first: Sighting
    last_time: datetime
    weight: float = 0.0
    east_sum: float = 0.0
    north_sum: float = 0.0
    count: int = 0
    type_score: dict[str, float] = field(default_factory=dict)
    best: Sighting | None = None
    best_image: np.ndarray | None = None  # encoded once, when the candidate is made
    min_error_m: float = math.inf
    drones: set = field(default_factory=set)
    handed_out: bool = False  # ready() gave its candidate already

    @property
    def mean_confidence(self) -> float:
        return self.weight / self.count

    @property
    def east_m(self) -> float:
        return self.east_sum / self.weight

    @property
    def north_m(self) -> float:
        return self.north_sum / self.weight

    def add(self, s: Sighting) -> bool:
        """Take the sighting in; True when it is the best one so far (take its snapshot)."""
        self.weight += s.confidence
        self.east_sum += s.east_m * s.confidence
        self.north_sum += s.north_m * s.confidence
        self.count += 1
        self.type_score[s.type] = self.type_score.get(s.type, 0.0) + s.confidence
        self.last_time = max(self.last_time, s.time)
        self.min_error_m = min(self.min_error_m, s.position_error_m)
        self.drones.add(s.drone_id)
        if self.best is None or s.confidence > self.best.confidence:
            self.best = s
            return True
        return False


class SightingMerger:
    """Clusters sightings: same track, or the same type within ``radius_m`` and ``window_s``.

    ``to_wgs84(east_m, north_m) -> (lat, lon)`` is the local frame the sightings are in.
    A cluster becomes a candidate once it has ``min_sightings`` sightings whose confidences
    average ``min_mean_confidence`` or more (``MIN_MEAN_CONFIDENCE``; 0 turns the gate off).

    Two ways out: ``candidates()`` gives every cluster that qualifies now, as it stands (the end
    of a clip); ``ready()``, called as sightings come in (a live stream), gives each cluster
    once, when it first qualifies. Both name a cluster by the same ``source_event_id``.
    """

    def __init__(self, to_wgs84, source: str, *, radius_m: float = 8.0, window_s: float = 900.0,
                 min_sightings: int = 2, min_mean_confidence: float = MIN_MEAN_CONFIDENCE,
                 model_version: str | None = None):
        if not 0.0 <= min_mean_confidence <= 1.0:
            raise ValueError(f"min_mean_confidence must be in 0..1, got {min_mean_confidence}")
        self.to_wgs84 = to_wgs84
        self.source = source
        self.radius_m, self.window_s, self.min_sightings = radius_m, window_s, min_sightings
        self.min_mean_confidence = min_mean_confidence
        self.model_version = model_version
        self._clusters: list[_Cluster] = []
        self._by_track: dict[tuple, _Cluster] = {}
        self._newest: datetime | None = None

    def add(self, s: Sighting, image_bgr: np.ndarray | None = None) -> None:
        """Merge one sighting in; ``image_bgr`` is its frame, kept only if it is the best view."""
        self._newest = s.time if self._newest is None else max(self._newest, s.time)
        c = self._by_track.get(s.track_key) if s.track_key is not None else None
        if c is None:
            c = self._nearest(s)
        if c is None:
            c = _Cluster(first=s, last_time=s.time)
            self._clusters.append(c)
        if s.track_key is not None:
            self._by_track[s.track_key] = c
        if c.add(s) and image_bgr is not None:
            c.best_image = image_bgr

    def _nearest(self, s: Sighting) -> _Cluster | None:
        best, best_d = None, self.radius_m
        for c in self._clusters:
            if abs((s.time - c.last_time).total_seconds()) > self.window_s:
                continue
            if max(c.type_score, key=c.type_score.get) != s.type:
                continue
            d = math.hypot(c.east_m - s.east_m, c.north_m - s.north_m)
            if d <= best_d:
                best, best_d = c, d
        return best

    def candidates(self) -> list[EventCandidate]:
        """One candidate per cluster with enough sightings, confident enough on average, in order
        of first sighting."""
        return [self._candidate(c) for c in self._by_first() if self._qualifies(c)]

    def ready(self) -> list[EventCandidate]:
        """The candidates of the clusters that qualify now and were not handed out before, in
        order of first sighting; each cluster is handed out once.

        A candidate is its cluster as of this call (position, sightings, best snapshot so far).
        Later sightings still refine the cluster, which ``candidates()`` shows, but ``ready()``
        does not give it again, nor take it back if its mean confidence later drops under the
        gate: the service merges further reports of the same place by radius anyway.

        It then forgets the clusters no sighting has joined for ``window_s`` before the newest
        (handed out, or never qualified): on a source read in time order none can take another
        sighting, and a stream that runs for days would otherwise keep each one's best frame
        (megabytes) for ever. ``candidates()`` no longer lists them."""
        out = []
        for c in self._by_first():
            if not c.handed_out and self._qualifies(c):
                c.handed_out = True
                out.append(self._candidate(c))
        if self._newest is not None:
            horizon = self._newest - timedelta(seconds=self.window_s)
            kept = [c for c in self._clusters if c.last_time >= horizon]
            if len(kept) < len(self._clusters):
                live = {id(c) for c in kept}
                self._clusters = kept
                self._by_track = {k: c for k, c in self._by_track.items() if id(c) in live}
        return out

    def _by_first(self) -> list[_Cluster]:
        return sorted(self._clusters, key=lambda c: c.first.time)

    def _qualifies(self, c: _Cluster) -> bool:
        return c.count >= self.min_sightings and c.mean_confidence >= self.min_mean_confidence

    def _candidate(self, c: _Cluster) -> EventCandidate:
        lat, lon = self.to_wgs84(c.east_m, c.north_m)
        kind = max(c.type_score, key=c.type_score.get)
        f = c.first
        snap = (snapshot_jpeg(c.best_image, c.best.xyxy)
                if c.best_image is not None and c.best is not None else None)
        # stable for the same first sighting: a re-run of the same clip posts the same ids
        key = f"{self.source}|{f.drone_id}|{f.time.isoformat()}|{f.east_m:.1f}|{f.north_m:.1f}"
        return EventCandidate(
            source=self.source, source_event_id=str(uuid.uuid5(_NAMESPACE, key)), type=kind,
            lat=float(lat), lon=float(lon),
            confidence=float(min(1.0, c.best.confidence if c.best else 0.0)),
            detected_at=f.time, position_error_m=round(float(c.min_error_m), 2),
            sightings=c.count, drone_id=f.drone_id,
            snapshot_jpeg=snap[0] if snap else None, box_xyxy=snap[1] if snap else None,
            model_version=self.model_version)


def snapshot_jpeg(image_bgr: np.ndarray, xyxy, max_width_px: int = 960
                  ) -> tuple[bytes, tuple[float, float, float, float]]:
    """The frame as JPEG, as the camera saw it (no box drawn: the console overlays the box, and
    a reviewed snapshot is a training image), scaled down to ``max_width_px``, and the box in
    the snapshot's pixels."""
    h, w = image_bgr.shape[:2]
    scale = min(1.0, max_width_px / w)
    img = image_bgr
    if scale < 1.0:
        img = cv2.resize(image_bgr, (max_width_px, round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    x0, y0, x1, y1 = (float(v) * scale for v in xyxy)
    sh, sw = img.shape[:2]
    box = (round(max(0.0, x0), 1), round(max(0.0, y0), 1), round(min(float(sw), x1), 1),
           round(min(float(sh), y1), 1))
    return (buf.tobytes() if ok else b""), box
