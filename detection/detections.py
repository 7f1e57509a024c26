"""Detections of one frame as parallel arrays; the rest of the package never sees ultralytics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """N boxes: ``xyxy`` (N, 4) pixels, ``confidence`` (N,), ``class_id`` (N,), ``tracker_id``
    (N,) with -1 where the tracker has not (yet) given one."""

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or not (len(self.confidence) == len(self.class_id)
                                             == len(self.tracker_id) == n):
            raise ValueError("Detections arrays must be parallel: xyxy (N, 4) and three (N,)")

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> Detections:
        """No boxes."""
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), np.zeros(0, int))

    @classmethod
    def from_ultralytics(cls, result) -> Detections:
        """From one ultralytics ``Results`` (predict or track), without importing ultralytics."""
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return cls.empty()
        xyxy = boxes.xyxy.cpu().numpy().astype(np.float64)
        conf = boxes.conf.cpu().numpy().astype(np.float64)
        cls_ = boxes.cls.cpu().numpy().astype(int)
        ids = boxes.id
        tid = ids.cpu().numpy().astype(int) if ids is not None else np.full(len(xyxy), -1)
        return cls(xyxy, conf, cls_, tid)

    def centres(self) -> np.ndarray:
        """(N, 2) pixel centres of the boxes: for flat, low objects, the point on the ground."""
        return np.column_stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2,
                                (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2])
