"""Errors of the detection package.

    DetectionError
    ├── SourceError        a video, stream or folder that cannot be opened or read
    ├── FrameError         one frame that cannot be decoded or used (skipped, counted)
    ├── TelemetryError     a pose file that is missing, unparsable or does not cover a frame
    ├── WeightsError       model weights that are missing or unreadable
    ├── TrainingError      a training run that cannot start (no dataset, bad settings)
    └── PublishError       the service refused or could not be reached when posting candidates
"""


class DetectionError(Exception):
    """Base of every error the detection package raises on purpose."""


class SourceError(DetectionError):
    """A source of frames cannot be opened or read."""


class FrameError(DetectionError):
    """One frame cannot be used; the pipeline skips it and counts it."""


class TelemetryError(DetectionError):
    """Pose data is missing, unparsable, or does not cover the frame asked for."""


class WeightsError(DetectionError):
    """Weights are missing or unreadable."""


class TrainingError(DetectionError):
    """A training run cannot start."""


class PublishError(DetectionError):
    """Posting candidates to the service failed; ``status_code`` is the service's refusal, None
    when it could not be reached."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code
