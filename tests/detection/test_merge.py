"""Merging sightings into candidates: radius, time window, tracks, stable ids, best snapshot."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from detection.merge import Sighting, SightingMerger

T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def to_wgs84(e, n):
    return 29.5 + n / 111_000.0, 120.9 + e / 96_000.0


def s(t=0.0, kind="street_stall", e=0.0, n=0.0, conf=0.5, drone="d1", track=None):
    return Sighting(T0 + timedelta(seconds=t), kind, e, n, conf, 2.0, drone,
                    (drone, track) if track is not None else None, 0, (10, 10, 30, 30))


@pytest.mark.parametrize("second,expected_candidates", [
    (s(t=5, e=3.0, n=4.0), 1),  # 5 m away: the same stall
    (s(t=5, e=30.0), 2),  # 30 m away: another one
    (s(t=5000, e=1.0), 2),  # same place, hours later: a new event
    (s(t=5, kind="mobile_fuel_sale", e=1.0), 2),  # another type at the same place
    (s(t=5, e=1.0, drone="d2"), 1),  # another drone, same object
])
def test_merge_by_radius_window_and_type(second, expected_candidates):
    m = SightingMerger(to_wgs84, "detector:d1", radius_m=8.0, window_s=900.0, min_sightings=1)
    m.add(s())
    m.add(second)
    assert len(m.candidates()) == expected_candidates


def test_track_ids_keep_a_moving_estimate_together():
    m = SightingMerger(to_wgs84, "src", radius_m=2.0, min_sightings=1)
    for i in range(5):  # drifts 3 m a frame, more than the radius, but the tracker follows it
        m.add(s(t=i, e=3.0 * i, track=7))
    (c,) = m.candidates()
    assert c.sightings == 5


def test_candidate_position_is_confidence_weighted_and_best_snapshot_kept():
    m = SightingMerger(to_wgs84, "src", min_sightings=2)
    img_low = np.zeros((100, 100, 3), np.uint8)
    img_best = np.full((100, 100, 3), 200, np.uint8)
    m.add(s(e=0.0, conf=0.25), img_low)
    m.add(s(t=1, e=4.0, conf=0.75), img_best)
    (c,) = m.candidates()
    lat, lon = to_wgs84(3.0, 0.0)  # (0*0.25 + 4*0.75) / 1.0
    assert (c.lat, c.lon) == pytest.approx((lat, lon))
    assert c.confidence == 0.75 and c.sightings == 2 and c.detected_at == T0
    assert c.snapshot_jpeg[:2] == b"\xff\xd8"


def test_single_sightings_are_held_back_and_ids_are_stable():
    def run():
        m = SightingMerger(to_wgs84, "src", min_sightings=2)
        m.add(s())
        m.add(s(t=1, e=1.0))
        m.add(s(t=2, e=50.0))  # seen once: not yet a candidate
        return m.candidates()

    a, b = run(), run()
    assert len(a) == 1
    assert a[0].source_event_id == b[0].source_event_id


@pytest.mark.parametrize("confidences,candidates", [
    ((0.25, 0.5), 0),  # averages 0.375: a look-alike the detector half-takes for a violation
    ((0.375, 0.5), 1),  # averages 0.4375, over the 0.42 gate
    ((0.25, 0.9), 1),  # one weak look of a real stall does not sink a clear one (0.575)
    ((0.3, 0.35, 0.4, 0.45), 0),  # many sightings, none sure: 0.375
])
def test_the_mean_confidence_gate_drops_what_the_detector_only_half_believes(confidences,
                                                                             candidates):
    from detection.candidate import MIN_MEAN_CONFIDENCE

    assert MIN_MEAN_CONFIDENCE == 0.42
    m = SightingMerger(to_wgs84, "src", min_sightings=2)
    off = SightingMerger(to_wgs84, "src", min_sightings=2, min_mean_confidence=0.0)
    for i, c in enumerate(confidences):
        m.add(s(t=i, e=0.5 * i, conf=c))
        off.add(s(t=i, e=0.5 * i, conf=c))
    assert len(m.candidates()) == candidates
    assert len(off.candidates()) == 1  # with the gate off every cluster of two counts


def test_a_gate_outside_0_to_1_is_refused():
    with pytest.raises(ValueError, match="min_mean_confidence must be in 0..1, got 1.5"):
        SightingMerger(to_wgs84, "src", min_mean_confidence=1.5)


def test_ready_hands_out_each_cluster_once_when_it_first_qualifies():
    m = SightingMerger(to_wgs84, "src", min_sightings=2)
    m.add(s(conf=0.5))
    assert m.ready() == []  # one sighting: not yet a candidate
    m.add(s(t=1, e=2.0, conf=0.5))
    (first,) = m.ready()
    assert first.sightings == 2
    assert (first.lat, first.lon) == pytest.approx(to_wgs84(1.0, 0.0))  # (0 + 2) / 2
    m.add(s(t=2, e=4.0, conf=0.5))  # refines it to (0 + 2 + 4) / 3 = 2 m east
    m.add(s(t=2, e=60.0, conf=0.25))  # another place, seen once
    assert m.ready() == []
    m.add(s(t=3, e=61.0, conf=0.5))  # twice now, but averaging 0.375, under the 0.42 gate
    assert m.ready() == []
    m.add(s(t=4, e=61.0, conf=0.9))  # (0.25 + 0.5 + 0.9) / 3 = 0.55: it qualifies now
    (second,) = m.ready()
    assert second.sightings == 3
    m.add(s(t=5, e=2.0, conf=0.05))  # the first sinks under the gate: 1.55 / 4 = 0.3875 ...
    m.add(s(t=6, e=2.0, conf=0.95))  # ... and rises over it again (0.5): not handed out twice
    assert m.ready() == []
    # the end-of-clip list names the same clusters by the same ids, as they stand now
    a, b = m.candidates()
    assert (a.source_event_id, b.source_event_id) == (first.source_event_id,
                                                      second.source_event_id)
    assert a.sightings == 5 and b.sightings == 3
    assert (a.lat, a.lon) == pytest.approx(to_wgs84(2.0, 0.0))  # all later looks 2 m east


def test_ready_forgets_clusters_quiet_for_the_window():
    # a live stream runs for days: what no sighting has joined for window_s can take no more,
    # and its frame is let go
    m = SightingMerger(to_wgs84, "src", window_s=900.0, min_sightings=2)
    m.add(s(t=0), np.zeros((8, 8, 3), np.uint8))
    m.add(s(t=1, e=1.0))
    m.add(s(t=2, e=50.0))  # seen once, never a candidate
    (a,) = m.ready()
    m.add(s(t=900, e=100.0))  # 899 s after the last look of a: it is kept
    assert m.ready() == [] and [c.source_event_id for c in m.candidates()] == [a.source_event_id]
    m.add(s(t=902, e=101.0))  # 901 s after a's last look: a is forgotten
    (b,) = m.ready()
    assert [c.source_event_id for c in m.candidates()] == [b.source_event_id]
    m.add(s(t=903, e=0.5))  # the place of a again: a new cluster, seen once so far
    m.add(s(t=904, e=0.5))
    (again,) = m.ready()
    assert again.source_event_id != a.source_event_id and again.sightings == 2
