"""The candidate contract with the service."""

import base64
from datetime import UTC, datetime

import pytest

from detection.candidate import EventCandidate

WHEN = datetime(2025, 6, 1, 9, 0, 5, tzinfo=UTC)


def make(**kw):
    base = {"source": "detector:drone-3", "source_event_id": "abc", "type": "street_stall", "lat": 29.5,
                "lon": 120.9, "confidence": 0.8, "detected_at": WHEN, "position_error_m": 2.5, "sightings": 4,
                "drone_id": "drone-3", "snapshot_jpeg": b"\xff\xd8jpeg",
                "box_xyxy": (10.04, 20.0, 30.0, 44.56), "model_version": "0123456789ab"}
    base.update(kw)
    return EventCandidate(**base)


def test_to_json_is_exactly_the_ingest_body():
    body = make().to_json()
    assert body == {
        "source": "detector:drone-3", "source_event_id": "abc", "type": "street_stall",
        "lat": 29.5, "lon": 120.9, "confidence": 0.8, "detected_at": "2025-06-01T09:00:05+00:00",
        "position_error_m": 2.5, "sightings": 4, "drone_id": "drone-3",
        "snapshot_jpeg_b64": base64.b64encode(b"\xff\xd8jpeg").decode(),
        "box_xyxy": [10.0, 20.0, 30.0, 44.6], "model_version": "0123456789ab",
    }


def test_no_snapshot_is_null():
    assert make(snapshot_jpeg=None, position_error_m=None).to_json()["snapshot_jpeg_b64"] is None


@pytest.mark.parametrize("kw,message", [
    ({"type": "parking"}, "type must be"),
    ({"confidence": 1.2}, "confidence"),
    ({"detected_at": datetime(2025, 6, 1, 9, 0)}, "timezone-aware"),
])
def test_invalid_candidates_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        make(**kw)
