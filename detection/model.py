"""The one adapter to ultralytics: load weights (PyTorch or ONNX), predict, track.

Everything ultralytics returns is turned into ``Detections`` here and goes no further.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from detection.detections import Detections
from detection.errors import WeightsError
from detection.versions import version_of

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
        # which weights found a candidate: the file's hash (detection.versions), sent with it
        self.version = version_of(path)
        self.backend = "onnxruntime" if path.suffix.lower() == ".onnx" else "pytorch"
        self.imgsz, self.conf, self.iou, self.device = imgsz, conf, iou, device
        # BoT-SORT rather than ByteTrack by default: its global motion compensation follows the
        # moving camera; at a few frames a second a 10 px stall moves further than its own size
        # between frames, and plain IoU matching (ByteTrack) would never confirm its track.
        self.tracker = tracker
        self._tracker = None  # made on first use
        names = self._model.names
        self.names: tuple[str, ...] = tuple(names[i] for i in sorted(names))

    def _kw(self, imgsz: int | None = None) -> dict:
        return {"imgsz": imgsz or self.imgsz, "conf": self.conf, "iou": self.iou, "device": self.device,
                    "verbose": False}

    def predict(self, images_bgr: list[np.ndarray], imgsz: int | None = None) -> list[Detections]:
        """Detections for each image, run as one batch (ONNX: one by one, its batch is fixed),
        at ``imgsz`` (default the detector's; ONNX runs at the shape it was exported at)."""
        if not images_bgr:
            return []
        if self.backend == "onnxruntime":
            return [Detections.from_ultralytics(self._model.predict(im, **self._kw(imgsz))[0])
                    for im in images_bgr]
        return [Detections.from_ultralytics(r) for r in self._model.predict(images_bgr,
                                                                             **self._kw(imgsz))]

    def track(self, images_bgr: list[np.ndarray]) -> list[Detections]:
        """Detections of the next frames of one stream, in order, with track ids kept across
        calls: ``predict``'s boxes fed frame by frame to ultralytics' tracker (``tracker``),
        the same tracker ``track_tiled`` feeds, so a stream may mix tiled and whole frames."""
        return [self._update_tracker(image, dets)
                for image, dets in zip(images_bgr, self.predict(images_bgr), strict=True)]

    def predict_tiled(self, images_bgr: list[np.ndarray], plans: list) -> list[Detections]:
        """Detections for each image, cut into the tiles of its ``TilePlan`` (whole where the
        plan is None), each tile run at the plan's ``imgsz`` and the tiles' boxes merged across
        the seams.
        One batch a frame (its tiles share one shape); ONNX one tile at a time."""
        from detection.tiles import merge_tiles

        out = []
        for image, plan in zip(images_bgr, plans, strict=True):
            if plan is None:
                out.extend(self.predict([image]))
                continue
            out.append(merge_tiles(self.predict(plan.cut(image), plan.imgsz), plan.boxes()))
        return out

    def track_tiled(self, images_bgr: list[np.ndarray], plans: list) -> list[Detections]:
        """``predict_tiled``'s detections of the next frames of one stream, with ``track``'s
        track ids: its tracker is fed the merged boxes and the whole frame."""
        return [self._update_tracker(image, dets) for image, dets
                in zip(images_bgr, self.predict_tiled(images_bgr, plans), strict=True)]

    def _update_tracker(self, image_bgr: np.ndarray, dets: Detections) -> Detections:
        # what ultralytics' own track callback (trackers.track.on_predict_postprocess_end) does
        # with a frame's boxes (a test holds the two equal); done here rather than in its
        # predictor because a tiled frame's boxes come from several predictions
        import torch
        from ultralytics.engine.results import Boxes

        if self._tracker is None:
            from ultralytics.trackers.track import TRACKER_MAP
            from ultralytics.utils import YAML, IterableSimpleNamespace
            from ultralytics.utils.checks import check_yaml

            cfg = IterableSimpleNamespace(**YAML.load(check_yaml(self.tracker)))
            self._tracker = TRACKER_MAP[cfg.tracker_type](args=cfg)
        boxes = Boxes(torch.as_tensor(np.column_stack([dets.xyxy, dets.confidence,
                                                       dets.class_id]).reshape(-1, 6),
                                      dtype=torch.float32), image_bgr.shape[:2]).numpy()
        tracks = self._tracker.update(boxes, image_bgr)
        if len(tracks) == 0:
            if any(not t.is_activated for t in self._tracker.tracked_stracks):
                return Detections.empty()  # new tracks stay hidden until confirmed
            return dets
        # rows: x0, y0, x1, y1, track id, score, class, index of the detection
        return Detections(tracks[:, :4].astype(np.float64), tracks[:, 5].astype(np.float64),
                          tracks[:, 6].astype(int), tracks[:, 4].astype(int))

    def reset_tracker(self) -> None:
        """Forget the tracks (a new stream begins)."""
        if self._tracker is not None:
            self._tracker.reset()
