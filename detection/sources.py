"""Frames from a video file or stream (OpenCV), a folder of images, or any iterable of frames."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detection.errors import FrameError, SourceError
from detection.georef import Pose

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Frame:
    """One frame: its index and time in the clip, the image (None if it could not be decoded,
    with the reason in ``error``), and its pose when the source knows it (the simulator does)."""

    index: int
    t_s: float
    image_bgr: np.ndarray | None
    pose: Pose | None = None
    error: str | None = None


def open_source(spec: str | Path, folder_fps: float = 1.0,
                wanted=lambda t_s: True) -> Iterator[Frame]:
    """Frames of a video file, an RTSP/HTTP stream, or a folder of images (``folder_fps`` apart).

    ``wanted(t_s)`` lets the caller skip decoding frames it will not use (sampling): they are
    grabbed but not decoded, and not yielded. Raises SourceError when the source cannot be opened.
    """
    s = str(spec)
    if "://" not in s and Path(s).is_dir():
        return _folder(Path(s), folder_fps, wanted)
    if "://" not in s and not Path(s).is_file():
        raise SourceError(f"source {s} is neither a file, a folder of images, nor a stream URL")
    if "://" not in s and Path(s).stat().st_size == 0:
        raise SourceError(f"video {s} is empty (0 bytes): the recording or copy did not finish")
    cap = cv2.VideoCapture(s)
    if not cap.isOpened():
        raise SourceError(f"cannot open video {s}: not a readable video or stream (truncated "
                          "before its index, or not video at all)")
    if "://" not in s and not cap.grab():  # a file that opens yet holds no frame at all
        cap.release()
        raise SourceError(f"video {s} holds no decodable frame: truncated or damaged")
    cap.release()
    return _video(cv2.VideoCapture(s), s, wanted)


def _video(cap: cv2.VideoCapture, name: str, wanted) -> Iterator[Frame]:
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    fps = fps if 0.1 < fps < 1000 else 30.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    index, failures = 0, 0
    try:
        while True:
            t_s = index / fps
            if not cap.grab():
                # a live stream or a damaged file can fail once and go on; a file ends for good
                if count and index < count - 1 and failures < 25:
                    failures += 1
                    yield Frame(index, t_s, None, error="cannot grab frame")
                    index += 1
                    continue
                if count and index < count - 1 and "://" not in name:
                    raise SourceError(f"video {name} ends at frame {index - failures} of the "
                                      f"{count} its header lists: truncated or damaged")
                break
            if wanted(t_s):
                ok, image = cap.retrieve()
                if not ok or image is None or image.size == 0:
                    yield Frame(index, t_s, None, error="cannot decode frame")
                else:
                    yield Frame(index, t_s, image)
            index += 1
    finally:
        cap.release()


def _folder(folder: Path, fps: float, wanted) -> Iterator[Frame]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SourceError(f"folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")

    def gen() -> Iterator[Frame]:
        for i, p in enumerate(files):
            t_s = i / fps
            if not wanted(t_s):
                continue
            image = cv2.imread(str(p), cv2.IMREAD_COLOR)
            yield Frame(i, t_s, image, error=None if image is not None else f"cannot decode {p}")

    return gen()


def require_image(frame: Frame) -> np.ndarray:
    """The frame's image, or FrameError saying why there is none."""
    if frame.image_bgr is None:
        raise FrameError(f"frame {frame.index} at {frame.t_s:.2f} s: {frame.error or 'no image'}")
    return frame.image_bgr
