"""The review → retrain loop driven as a city would: frames of a scene style the shipped weights
were not trained on, the detector's findings posted as candidates, an operator who knows the
truth confirming, correcting or rejecting them, and the detector's precision on that style.

The style is a parameter: ``STYLES`` maps a name to a function over a rendered frame. "hue120"
turns every colour of the project's own town 120 degrees round the hue circle (red canopies
green, blue vans red, grey asphalt stays grey): the shapes are the ones the weights learned,
the colours are not, and the shipped weights fire on look-alikes they would leave alone (0.44
precision against 1.00 on the plain town, 10 frames; see MODEL_CARD.md). A second renderer
can be added here as another entry.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from detection.candidate import EVENT_TYPES
from detection.loso import IOU_MIN, iou_matrix, match_frame
from detection.merge import snapshot_jpeg
from simulators.camera.dataset import sample_view
from simulators.camera.geometry import Intrinsics
from simulators.camera.randomise import Look
from simulators.camera.render import DroneCamera, RenderedFrame
from simulators.town import build_town


def _hue(degrees: float) -> Callable[[np.ndarray], np.ndarray]:
    def shift(image_bgr: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + round(degrees / 2)) % 180).astype(np.uint8)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    return shift


STYLES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "town": lambda image_bgr: image_bgr,
    "hue120": _hue(120.0),
}

# Small frames keep the loop cheap: 640x480 seen from 20-60 m holds the objects at the pixel
# sizes the weights learned at 1280x960 from 40-120 m.
FRAME_WH = (640, 480)
SNAPSHOT_MAX_W = 960  # detection.merge.snapshot_jpeg's default


def render_frames(style: str, town_seed: int, count: int, seed: int,
                  frame_wh: tuple[int, int] = FRAME_WH) -> list[RenderedFrame]:
    """``count`` frames of town ``town_seed`` under clear light, drawn in ``style``, each with
    at least one violation in view (the loop is about what the detector says of them)."""
    town = build_town(town_seed, bounds_m=(-350.0, -350.0, 350.0, 350.0))
    cam = DroneCamera(town, Intrinsics(*frame_wh))
    rng = np.random.default_rng(seed)
    scale = frame_wh[0] / 1280
    out = []
    while len(out) < count:
        pose, _ = sample_view(town, rng)
        pose = replace(pose, alt_rel_m=float(np.clip(pose.alt_rel_m * scale, 20.0, 60.0)))
        frame = cam.render(pose, Look.clear(), rng)
        if frame.boxes:
            out.append(replace(frame, image_bgr=STYLES[style](frame.image_bgr)))
    return out


@dataclass(frozen=True)
class Tally:
    tp: int
    fp: int
    truth: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.truth if self.truth else 1.0


def tally(detector, frames: list[RenderedFrame]) -> Tally:
    """Per-frame precision and recall at IoU 0.3 of ``detector`` over ``frames``."""
    tp = fp = truth = 0
    for frame in frames:
        dets = detector.predict([frame.image_bgr])[0]
        _, correct = match_frame([b.xyxy for b in frame.boxes], [b.class_id for b in frame.boxes],
                                 dets.xyxy, dets.class_id, dets.confidence)
        tp += int(correct.sum())
        fp += int((~correct).sum())
        truth += len(frame.boxes)
    return Tally(tp, fp, truth)


def post_findings(client, detector_headers: dict, detector, frames: list[RenderedFrame],
                  tag: str) -> list[tuple[int, RenderedFrame, tuple]]:
    """Every detection of ``detector`` on ``frames`` posted as a candidate (snapshot, box, the
    weights' version), each at its own place so none merge; (event id, frame, detection) of
    the events made."""
    made = []
    for k, frame in enumerate(frames):
        dets = detector.predict([frame.image_bgr])[0]
        for i in range(len(dets)):
            jpeg, box = snapshot_jpeg(frame.image_bgr, dets.xyxy[i])
            n = len(made)
            body = {"source": "detector:review-loop", "source_event_id": f"{tag}-{uuid.uuid4().hex}",
                    "type": EVENT_TYPES[int(dets.class_id[i])],
                    "lat": 29.40 + 0.002 * n, "lon": 120.80 + 0.002 * k,
                    "confidence": round(float(dets.confidence[i]), 4), "sightings": 2,
                    "snapshot_jpeg_b64": base64.b64encode(jpeg).decode(),
                    "box_xyxy": list(box), "model_version": detector.version}
            r = client.post("/api/v1/candidates", json=body, headers=detector_headers)
            assert r.status_code == 201, r.text
            made.append((r.json()["id"], frame, (dets.xyxy[i], int(dets.class_id[i]))))
    return made


def operator_review(client, operator_headers: dict, made) -> dict[str, int]:
    """An operator who knows the truth: confirms a true finding, with the true box when the
    detector's is off (IoU under 0.6) and the true class when it named the wrong one; rejects
    the rest. Returns how many of each verdict."""
    counts = {"confirm": 0, "corrected": 0, "reject": 0}
    for event_id, frame, (xyxy, class_id) in made:
        scale = min(1.0, SNAPSHOT_MAX_W / frame.image_bgr.shape[1])  # snapshot px, as shown
        truth = np.array([b.xyxy for b in frame.boxes], float).reshape(-1, 4) * scale
        xyxy = np.asarray(xyxy) * scale
        iou = iou_matrix(np.asarray(xyxy)[None], truth)[0]
        j = int(np.argmax(iou)) if len(truth) else -1
        if j >= 0 and iou[j] >= IOU_MIN:
            true = frame.boxes[j]
            body = {"decision": "confirm"}
            if iou[j] < 0.6 or true.class_id != class_id:
                body["box_xyxy"] = [round(float(v), 1) for v in truth[j]]
                if true.class_id != class_id:
                    body["type"] = true.label
                counts["corrected"] += 1
            counts["confirm"] += 1
        else:
            body = {"decision": "reject", "reason": "nothing there"}
            counts["reject"] += 1
        r = client.post(f"/api/v1/events/{event_id}/review", json=body, headers=operator_headers)
        assert r.status_code == 200, r.text
    return counts
