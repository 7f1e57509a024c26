"""The one adapter to ultralytics: load weights (PyTorch or ONNX), predict, track.

Everything ultralytics returns is turned into ``Detections`` here and goes no further.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from detection.detections import Detections
from detection.errors import WeightsError

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "flyonce-yolo.pt"
#: (width, height) px of the frames the shipped weights learned from: the simulator's survey
#: camera (simulators' ``Intrinsics``, 84 deg diagonal; detection may not import it, so a test
#: holds the two equal). Stages 1-8 learned from 640x480 and ran it at 1.3x (832); see the
#: model card.
FRAME_WH = (1280, 960)
# Frames go in at their own size, 1.0x (best on the val crops); a 1920x1080 frame of an 84 deg
# camera is downscaled to about the same metres per pixel.
INFER_IMGSZ = max(FRAME_WH)


def letterbox_shape(imgsz: int, frame_wh: tuple[int, int] = FRAME_WH,
                    stride: int = 32) -> tuple[int, int]:
    """(height, width) a frame of ``frame_wh`` becomes at ``imgsz`` on its long side, padded to
    the stride: the fixed input shape the ONNX export is given (PyTorch pads the same way)."""
    w, h = frame_wh
    scale = imgsz / max(w, h)
    return tuple(int(-(-round(v * scale) // stride) * stride) for v in (h, w))


class Detector:
    """A YOLO detector over BGR frames; ``.onnx`` weights run on ONNX Runtime, ``.pt`` on PyTorch."""

    def __init__(self, weights: Path | str | None = None, *, imgsz: int = INFER_IMGSZ, conf: float = 0.25,
                 iou: float = 0.5, device: str = "cpu", tracker: str = "botsort.yaml"):
        path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
        if not path.is_file():
            raise WeightsError(f"weights {path} not found; pass --weights FILE (.pt or .onnx)")
        os.environ.setdefault("YOLO_OFFLINE", "1")
        from ultralytics import YOLO

        try:
            self._model = YOLO(str(path), task="detect")
        except Exception as exc:  # ultralytics raises many kinds for a bad file
            raise WeightsError(f"cannot load weights {path}: {exc}") from exc
        self.weights = path
        self.backend = "onnxruntime" if path.suffix.lower() == ".onnx" else "pytorch"
        self.imgsz, self.conf, self.iou, self.device = imgsz, conf, iou, device
        # BoT-SORT rather than ByteTrack by default: its global motion compensation follows the
        # moving camera; at a few frames a second a 10 px stall moves further than its own size
        # between frames, and plain IoU matching (ByteTrack) would never confirm its track.
        self.tracker = tracker
        names = self._model.names
        self.names: tuple[str, ...] = tuple(names[i] for i in sorted(names))

    def _kw(self) -> dict:
        return {"imgsz": self.imgsz, "conf": self.conf, "iou": self.iou, "device": self.device,
                    "verbose": False}

    def predict(self, images_bgr: list[np.ndarray]) -> list[Detections]:
        """Detections for each image, run as one batch (ONNX: one by one, its batch is fixed)."""
        if not images_bgr:
            return []
        if self.backend == "onnxruntime":
            return [Detections.from_ultralytics(self._model.predict(im, **self._kw())[0])
                    for im in images_bgr]
        return [Detections.from_ultralytics(r) for r in self._model.predict(images_bgr,
                                                                             **self._kw())]

    def track(self, images_bgr: list[np.ndarray]) -> list[Detections]:
        """Detections of the next frames of one stream, in order, with track ids kept across
        calls (ultralytics' tracker); one batch on PyTorch, one by one on ONNX."""
        if not images_bgr:
            return []
        if self.backend == "onnxruntime":
            return [Detections.from_ultralytics(self._model.track(
                im, persist=True, tracker=self.tracker, **self._kw())[0]) for im in images_bgr]
        rs = self._model.track(images_bgr, persist=True, tracker=self.tracker, **self._kw())
        return [Detections.from_ultralytics(r) for r in rs]

    def reset_tracker(self) -> None:
        """Forget the tracks (a new stream begins)."""
        predictor = getattr(self._model, "predictor", None)
        for t in getattr(predictor, "trackers", None) or []:
            t.reset()
