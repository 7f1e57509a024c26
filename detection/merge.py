"""Sightings of one object, across frames, passes and drones, merged into one EventCandidate."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime

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
    """

    def __init__(self, to_wgs84, source: str, *, radius_m: float = 8.0, window_s: float = 900.0,
                 min_sightings: int = 2, min_mean_confidence: float = MIN_MEAN_CONFIDENCE):
        if not 0.0 <= min_mean_confidence <= 1.0:
            raise ValueError(f"min_mean_confidence must be in 0..1, got {min_mean_confidence}")
        self.to_wgs84 = to_wgs84
        self.source = source
        self.radius_m, self.window_s, self.min_sightings = radius_m, window_s, min_sightings
        self.min_mean_confidence = min_mean_confidence
        self._clusters: list[_Cluster] = []
        self._by_track: dict[tuple, _Cluster] = {}

    def add(self, s: Sighting, image_bgr: np.ndarray | None = None) -> None:
        """Merge one sighting in; ``image_bgr`` is its frame, kept only if it is the best view."""
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
        out = []
        for c in sorted(self._clusters, key=lambda c: c.first.time):
            if c.count < self.min_sightings or c.mean_confidence < self.min_mean_confidence:
                continue
            lat, lon = self.to_wgs84(c.east_m, c.north_m)
            kind = max(c.type_score, key=c.type_score.get)
            f = c.first
            # stable for the same first sighting: a re-run of the same clip posts the same ids
            key = f"{self.source}|{f.drone_id}|{f.time.isoformat()}|{f.east_m:.1f}|{f.north_m:.1f}"
            out.append(EventCandidate(
                source=self.source, source_event_id=str(uuid.uuid5(_NAMESPACE, key)), type=kind,
                lat=float(lat), lon=float(lon),
                confidence=float(min(1.0, c.best.confidence if c.best else 0.0)),
                detected_at=f.time, position_error_m=round(float(c.min_error_m), 2),
                sightings=c.count, drone_id=f.drone_id,
                snapshot_jpeg=snapshot_jpeg(c.best_image, c.best.xyxy)
                if c.best_image is not None and c.best is not None else None))
        return out


def snapshot_jpeg(image_bgr: np.ndarray, xyxy, max_width_px: int = 960) -> bytes:
    """The frame with the box drawn and an enlarged crop of the object inset top-left, as JPEG."""
    img = image_bgr.copy()
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (round(v) for v in xyxy)
    pad = max(8, (x1 - x0) // 2, (y1 - y0) // 2)
    crop = image_bgr[max(0, y0 - pad):min(h, y1 + pad), max(0, x0 - pad):min(w, x1 + pad)]
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 255), 2)
    if crop.size:
        side = max(64, min(h, w) // 3)
        scale = side / max(crop.shape[:2])
        inset = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        img[:inset.shape[0], :inset.shape[1]] = inset
        cv2.rectangle(img, (0, 0), (inset.shape[1] - 1, inset.shape[0] - 1), (255, 255, 255), 2)
    if w > max_width_px:
        img = cv2.resize(img, (max_width_px, int(h * max_width_px / w)),
                         interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else b""
