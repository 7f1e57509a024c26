"""The scorecard on a hand-made case: which violation each event is, and the counts that follow."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from api.core.models import Event
from api.demo.camera import CameraStats, Dismissed
from api.demo.scenario import Incident
from api.demo.scoring import MATCH_RADIUS_M, score
from geofence import LocalFrame

FRAME = LocalFrame(29.5, 120.9)
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def incident(oid: int, east: float, north: float, kind: str = "street_stall") -> Incident:
    lat, lon = FRAME.to_wgs84(east, north)
    return Incident(oid, kind, float(lat), float(lon), east, north, "z", 0.0, math.inf)


def event(eid: int, east: float, north: float, kind: str = "street_stall",
          alerted_s: float = 100.0, source: str = "detector:drone-1") -> Event:
    lat, lon = FRAME.to_wgs84(east, north)
    return Event(id=eid, type=kind, state="alerted", lat=float(lat), lon=float(lon),
                 confidence=0.5, source=source, source_event_id=str(eid), target_s=180.0,
                 detected_at=T0, alerted_at=T0 + timedelta(seconds=alerted_s))


@pytest.fixture
def card():
    scenario = SimpleNamespace(town=SimpleNamespace(frame=FRAME), incidents=[
        incident(1, 0, 0), incident(2, 500, 0, "mobile_fuel_sale"), incident(3, 1000, 0)])
    cams = CameraStats(frames=4, frames_due=8.0, first_seen_s={1: 40.0, 2: 60.0},
                       verify_looks=3, posted_sure=1)
    for east in (2.0, 300.0):  # dismissed by the zoom look: one at violation 1, one at nothing
        lat, lon = FRAME.to_wgs84(east, 0.0)
        cams.dismissed[f"d{east}"] = Dismissed(float(lat), float(lon), "street_stall", 0.4, 1)
    events = [
        event(10, 3, 0),                 # violation 1, 3 m off: detected
        event(11, 0, 5),                 # violation 1 again, 5 m off: a duplicate
        event(12, 250, 0),               # near nothing: a false alarm
        event(13, 1000, MATCH_RADIUS_M - 1, kind="mobile_fuel_sale"),  # 3: never in view
        event(14, 500, 0, source="hotline"),  # a phoned-in report is not the detector's
    ]
    return score(scenario, cams, events, t0=T0)


@pytest.mark.parametrize(("name", "expected"), [
    ("placed", 3), ("covered", 2), ("detected", 1), ("missed", 1),
    ("detected_outside_coverage", 1), ("detector_events", 4), ("true_events", 3),
    ("duplicates", 1), ("false_events", 1), ("detected_ids", [1]), ("missed_ids", [2]),
    ("recall", 0.5), ("precision", 0.75), ("type_correct", 1),
    # of all 3 placed: violation 1 (in view) and 3 (never in view) have a detector event
    ("recall_placed", 2 / 3),
    ("verify_looks", 3), ("posted_sure", 1), ("dismissed", 2), ("dismissed_at_truth", 1),
    # alerts from any source: 10 and 11 at violation 1, 13 at 3, the hotline's 14 at 2; 12 none
    ("alerted_true", 4), ("violations_alerted", 3), ("duplicate_alerts", 1),
    ("merged_sightings", 0),
])
def test_counts(card, name, expected):
    assert getattr(card, name) == expected


def test_figures_of_the_matched_events(card):
    # violation 1: the 3 m event; violation 3 (out of view) is matched too, 19 m off
    assert sorted(card.georef_error_m) == pytest.approx([3.0, MATCH_RADIUS_M - 1], abs=0.01)
    assert card.seen_to_alert_s == [100.0 - 40.0]  # only violation 1 was seen by a frame
    assert card.appear_to_alert_s == [100.0, 100.0]
    assert card.frame_share == 0.5


def test_alerts_per_true_violation_and_the_merged_sightings():
    scenario = SimpleNamespace(town=SimpleNamespace(frame=FRAME),
                               incidents=[incident(1, 0, 0), incident(2, 500, 0)])
    merged = event(20, 1, 0)
    merged.candidates = 3  # two further looks were merged into it: no alert of their own
    unalerted = event(21, 500, 2)
    unalerted.alerted_at = None  # absorbed or still detected: not an alert
    card = score(scenario, CameraStats(), [merged, unalerted, event(22, 499, 0)], t0=T0)
    assert (card.alerted_true, card.violations_alerted, card.duplicate_alerts) == (2, 2, 0)
    assert card.alerts_per_violation == 1.0
    assert card.merged_sightings == 2


def test_a_stall_back_after_it_was_dealt_with_is_no_duplicate():
    scenario = SimpleNamespace(town=SimpleNamespace(frame=FRAME), incidents=[incident(1, 0, 0)])
    first = event(30, 1, 0, alerted_s=100)
    first.resolved_at = T0 + timedelta(seconds=400)
    back = event(31, 2, 0, alerted_s=500)  # after the first was resolved: a new occurrence
    again = event(32, 0, 1, alerted_s=600)  # while 31 is open: a duplicate
    card = score(scenario, CameraStats(), [first, back, again], t0=T0)
    assert (card.alerted_true, card.violations_alerted, card.duplicate_alerts) == (3, 1, 1)
