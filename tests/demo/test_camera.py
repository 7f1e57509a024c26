"""The patrol camera against the detection pipeline's geometry, with an oracle in the model's seat.

The oracle returns each frame's true boxes, so what is measured is the demo's own plumbing:
the pose a frame is rendered from must be the pose detection georeferences it with.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest

from api.demo.camera import PatrolCameras
from api.demo.scenario import Scenario
from detection.detections import Detections

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class Oracle:
    """A detector that sees exactly the true boxes of the frame just rendered (``tell``), each at
    confidence ``conf``."""

    names = ("street_stall", "mobile_fuel_sale")

    def __init__(self, conf: float = 0.9) -> None:
        self.boxes: list = []
        self.conf = conf

    def predict(self, images):
        n = len(self.boxes)
        return [Detections(np.array([b.xyxy for b in self.boxes], float).reshape(n, 4),
                           np.full(n, self.conf), np.array([b.class_id for b in self.boxes], int),
                           np.full(n, -1))] * len(images)

    def reset_tracker(self) -> None:
        pass


def tell(camera, oracle: Oracle) -> None:
    """Make ``camera`` hand each frame's true boxes to ``oracle`` as it renders the frame."""
    render = camera.render

    def render_and_tell(pose, *a, **kw):
        frame = render(pose, *a, **kw)
        oracle.boxes = frame.boxes
        return frame

    camera.render = render_and_tell


class Drone:
    def __init__(self, scenario: Scenario, east: float, north: float, heading: float) -> None:
        self.frame = scenario.town.frame
        self.move(east, north, heading)

    def move(self, east: float, north: float, heading: float, mode: str = "AUTO") -> None:
        lat, lon = self.frame.to_wgs84(east, north)
        self.state = SimpleNamespace(mode=mode, alt_rel_m=60.0, lat=float(lat), lon=float(lon),
                                     east_m=east, north_m=north, heading_deg=heading)


@pytest.fixture(scope="module")
def scenario():
    return Scenario(seed=7, duration_s=600, zone_ids=["com-gushan"], incidents=3,
                    present_share=1.0)


@pytest.mark.parametrize("heading_deg", [0.0, 30.0, 90.0, 215.0])
def test_a_seen_violation_is_placed_where_it_stands(scenario, heading_deg):
    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m + 12.0, inc.north_m - 7.0, heading_deg)
    oracle, posted = Oracle(), []
    cams = PatrolCameras(scenario, [("drone-1", drone)], now=lambda: NOW,
                         post=lambda cs: posted.extend(cs) or len(cs), patrol_alt_m=60.0,
                         detector=oracle)
    tell(cams.camera, oracle)
    assert cams.step() is True
    assert inc.object_id in cams.stats.first_seen_s
    mine = [c for c in posted
            if math.dist(scenario.town.frame.to_local(c.lat, c.lon), (inc.east_m, inc.north_m)) < 5]
    assert len(mine) == 1
    east, north = scenario.town.frame.to_local(mine[0].lat, mine[0].lon)
    # nadir: the box centre is the footprint's centre; only pixel rounding remains
    assert math.hypot(east - inc.east_m, north - inc.north_m) < 1.0
    assert mine[0].type == inc.type


def test_frames_come_once_per_spacing_and_only_on_patrol(scenario):
    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m, inc.north_m, 90.0)
    cams = PatrolCameras(scenario, [("drone-1", drone)], now=lambda: NOW,
                         post=len, patrol_alt_m=60.0, overlap=0.2, detector=Oracle())
    # 480 px of image along the track at 60 m, 84 deg diagonal: 60 * 480 / 444.2 = 64.8 m
    assert cams.spacing_m == pytest.approx(0.8 * 60 * 480 / (400 / math.tan(math.radians(42))),
                                           rel=1e-6)
    assert cams.step() is True
    assert cams.step() is False  # it has not moved
    drone.move(inc.east_m + cams.spacing_m * 0.9, inc.north_m, 90.0)
    assert cams.step() is False
    drone.move(inc.east_m + cams.spacing_m * 1.01, inc.north_m, 90.0)
    assert cams.step() is True
    drone.move(inc.east_m + cams.spacing_m * 3, inc.north_m, 90.0, mode="GUIDED")
    assert cams.step() is False  # off patrol (flying to an event): no frames
    assert cams.stats.frames == 2


# ---------------------------------------------------------------- scene checks (远程劝导)


def _holding(scenario, east, north, heading):
    drone = Drone(scenario, east, north, heading)
    drone.move(east, north, heading, mode="GUIDED")  # holding over the scene at 60 m
    return drone


def watching_cameras(scenario, drone, conf: float = 0.9) -> PatrolCameras:
    """The demo's cameras over one drone, with a detector that sees exactly the true boxes of the
    frame the zoomed camera (scene checks, zoom to verify) just rendered, at ``conf``."""
    oracle = Oracle(conf)
    cams = PatrolCameras(scenario, [("drone-1", drone)], now=lambda: NOW, post=len,
                         patrol_alt_m=60.0, detector=oracle, post_check=lambda *_: None)
    tell(cams.scene_camera, oracle)
    return cams


@pytest.mark.parametrize(("heading_deg", "event_off_m", "present"), [
    (0.0, 0.0, True), (130.0, 0.0, True),
    (0.0, 10.0, True),  # a report 10 m off still finds its stall (radius 12 m)
    (250.0, 16.0, False),  # 16 m off: that box is not the event's
])
def test_a_scene_check_places_the_zoomed_box_where_the_violation_stands(
        scenario, heading_deg, event_off_m, present):
    from api.demo.camera import SCENE_ZOOM, Watch

    inc = scenario.incidents[0]
    drone = _holding(scenario, inc.east_m + 6.0, inc.north_m - 4.0, heading_deg)
    cams = watching_cameras(scenario, drone)
    lat, lon = scenario.town.frame.to_wgs84(inc.east_m + event_off_m, inc.north_m)
    body = cams.scene_check("drone-1", drone.state, Watch(1, lat, lon, inc.type))
    assert body["present"] is present
    assert body["at"] == NOW.isoformat() and body["drone_id"] == "drone-1"
    # the zoomed camera: half the field of view's tangent, so a box twice the patrol's pixels
    wide = cams.camera.intrinsics.focal_px
    assert cams.scene_camera.intrinsics.focal_px == pytest.approx(SCENE_ZOOM * wide, rel=1e-9)


def test_the_first_look_anchors_on_the_object_and_later_looks_follow_it(scenario):
    from api.demo.camera import ANCHOR_RADIUS_M, SCENE_RADIUS_M, Watch

    inc = scenario.incidents[0]
    drone = _holding(scenario, inc.east_m + 3.0, inc.north_m + 2.0, 40.0)
    cams = watching_cameras(scenario, drone)
    # the event was reported 8 m off the stall: inside the search radius, so the first look finds
    # the stall and anchors there, within a metre of where it really stands
    lat, lon = scenario.town.frame.to_wgs84(inc.east_m - 8.0, inc.north_m)
    watch = Watch(3, lat, lon, inc.type)
    assert cams.scene_check("drone-1", drone.state, watch)["present"] is True
    anchor = cams._anchors[("drone-1", 3)]
    assert math.dist(anchor, (inc.east_m, inc.north_m)) < 1.0
    # later looks ask the anchor, at any gimbal angle
    assert cams.scene_check("drone-1", drone.state, watch, yaw_deg=135.0)["present"] is True
    cams._anchors[("drone-1", 3)] = (inc.east_m + ANCHOR_RADIUS_M + 1.0, inc.north_m)
    assert SCENE_RADIUS_M > ANCHOR_RADIUS_M + 1.0  # the stall is near the event, not the anchor
    assert cams.scene_check("drone-1", drone.state, watch)["present"] is False


def test_scene_checks_come_every_period_from_a_holding_drone_only(scenario):
    from api.demo.camera import Watch

    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m, inc.north_m, 90.0)
    clock = {"s": 0.0}
    scenario.start(lambda: clock["s"])
    checks = []
    cams = PatrolCameras(scenario, [("drone-1", drone)], now=lambda: NOW, post=len,
                         patrol_alt_m=60.0, detector=Oracle(), check_every_s=10.0,
                         post_check=lambda eid, body: checks.append((clock["s"], eid)))
    cams.end_patrols()  # patrol frames off: only scene checks can be taken
    cams.watching = {"drone-1": Watch(7, inc.lat, inc.lon, inc.type)}
    assert cams.step() is False  # on patrol (AUTO), not holding
    drone.move(inc.east_m, inc.north_m, 90.0, mode="GUIDED")
    assert cams.step() is True and cams.step() is False  # one, then not again at once
    clock["s"] = 9.9
    assert cams.step() is False
    clock["s"] = 10.0
    assert cams.step() is True
    cams.watching = {}
    clock["s"] = 30.0
    assert cams.step() is False
    assert checks == [(0.0, 7), (10.0, 7)] and cams.stats.scene_checks == 2


def test_a_watch_is_overdue_from_when_its_drone_holds_until_the_camera_looks(scenario):
    from api.demo.camera import Watch

    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m, inc.north_m, 90.0)
    clock = {"s": 0.0}
    scenario.start(lambda: clock["s"])
    cams = PatrolCameras(scenario, [("drone-1", drone)], now=lambda: NOW, post=len,
                         patrol_alt_m=60.0, detector=Oracle(), check_every_s=10.0,
                         post_check=lambda *_: None)
    cams.end_patrols()
    cams.watching = {"drone-1": Watch(7, inc.lat, inc.lon, inc.type)}
    assert cams.overdue_s(0.0) == 0.0  # still on patrol (AUTO): no look can be taken yet
    drone.move(inc.east_m, inc.north_m, 90.0, mode="GUIDED")
    assert cams.overdue_s(5.0) == 0.0  # holds from 5 s: a look is due at once
    assert cams.overdue_s(8.0) == 3.0  # and 3 s later it has not been taken
    clock["s"] = 8.0
    assert cams.step() is True
    assert cams.overdue_s(12.0) == 0.0  # the next is due at 18 s
    assert cams.overdue_s(21.0) == 3.0
    drone.move(inc.east_m, inc.north_m, 90.0, mode="AUTO")  # called away: nothing is due
    assert cams.overdue_s(30.0) == 0.0
    drone.move(inc.east_m, inc.north_m, 90.0, mode="GUIDED")  # back over the scene at 40 s
    assert cams.overdue_s(40.0) == 0.0 and cams.overdue_s(42.5) == 2.5
    cams.watching = {}
    assert cams.overdue_s(60.0) == 0.0


def test_the_shipped_detector_sees_a_stall_from_the_hold_and_not_once_it_left():
    from api.demo.camera import Watch

    # seed 7 places stall 51495 in the commercial street (see tests/demo/test_demo.py)
    sc = Scenario(seed=7, duration_s=600, zone_ids=["com-gushan"], incidents=5)
    inc = next(i for i in sc.incidents if i.object_id == 51495)
    clock = {"s": 0.0}
    sc.start(lambda: clock["s"])
    clock["s"] = inc.appear_s + 1.0
    drone = _holding(sc, inc.east_m, inc.north_m, 90.0)
    cams = PatrolCameras(sc, [("drone-1", drone)], now=lambda: NOW, post=len, patrol_alt_m=60.0,
                         post_check=lambda *_: None)
    watch = Watch(1, inc.lat, inc.lon, inc.type)
    seen = cams.scene_check("drone-1", drone.state, watch)
    assert seen["present"] is True and seen["confidence"] >= 0.25
    sc.remove(inc.object_id, clock["s"])  # the vendor packed up
    gone = cams.scene_check("drone-1", drone.state, watch)
    assert gone["present"] is False and gone["confidence"] is None


# ---------------------------------------------------------------- zoom to verify (变焦复核)


@pytest.mark.parametrize(("east", "north", "heading", "pitch"), [
    (30.0, 40.0, math.degrees(math.atan2(30, 40)), -math.degrees(math.atan2(60, 50))),  # 3-4-5
    (-20.0, 0.0, 270.0, -math.degrees(math.atan2(60, 20))),  # due west, steep
    (0.0, -100.0, 180.0, -40.0),  # 31 deg below the horizon: the camera stops at -40
    (0.2, 0.1, 123.0, -90.0),  # straight below: nadir, at the drone's heading
])
def test_aim_at_turns_and_tilts_the_gimbal_onto_the_spot(east, north, heading, pitch):
    from api.demo.camera import aim_at

    assert aim_at(east, north, 60.0, 123.0) == pytest.approx((heading, pitch), abs=1e-9)


def test_the_zoom_look_is_centred_on_the_spot_it_aims_at(scenario):
    from api.demo.camera import aim_at
    from detection.georef import Pose, ground_offsets_m

    cams = PatrolCameras(scenario, [], now=lambda: NOW, post=len, patrol_alt_m=60.0,
                         detector=Oracle())
    heading, pitch = aim_at(30.0, 40.0, 60.0, 0.0)
    intr = cams.scene_camera.intrinsics
    centre = np.array([[intr.width_px / 2, intr.height_px / 2]])
    # the frame's centre, georeferenced with the zoomed camera model, lands on the aimed spot
    off = ground_offsets_m(cams.scene_model, Pose(None, 0, 0, 60.0, heading, pitch), centre,
                           intr.width_px, intr.height_px)
    assert off[0] == pytest.approx([30.0, 40.0], abs=1e-6)


def _candidate(scenario, east, north, type_, conf, sightings=1, sid="c1"):
    lat, lon = scenario.town.frame.to_wgs84(east, north)
    return SimpleNamespace(lat=float(lat), lon=float(lon), type=type_, confidence=conf,
                           sightings=sightings, source_event_id=sid)


@pytest.mark.parametrize(("patrol_conf", "zoom_conf", "posted", "looks"), [
    (0.5, 0.9, True, 1),  # 0.45 >= 0.25: the zoom confirms it
    (0.4, 0.5, False, 1),  # 0.20 < 0.25: the zoom look is too unsure
    (0.3, 0.9, False, 0),  # below VERIFY_MIN_CONF: not worth a look
    (0.85, 0.0, True, 0),  # at or above VERIFY_SURE_CONF: posted as it is
])
def test_a_single_look_is_posted_when_the_zoom_look_confirms_it(scenario, patrol_conf,
                                                                 zoom_conf, posted, looks):
    inc = scenario.incidents[0]
    # the drone has flown on 35 m since the patrol look: the zoom look is oblique
    drone = Drone(scenario, inc.east_m + 35.0, inc.north_m, 90.0)
    cams = watching_cameras(scenario, drone, zoom_conf)
    c = _candidate(scenario, inc.east_m + 1.0, inc.north_m, inc.type, patrol_conf)
    assert cams.verify("drone-1", c) is posted
    assert cams.stats.verify_looks == looks


def test_the_zoom_look_must_find_the_same_object_of_the_same_type(scenario):
    from api.demo.camera import VERIFY_RADIUS_M

    inc = scenario.incidents[0]
    other = next(t for t in ("street_stall", "mobile_fuel_sale") if t != inc.type)
    drone = Drone(scenario, inc.east_m + 20.0, inc.north_m + 10.0, 0.0)
    cams = watching_cameras(scenario, drone, 0.9)
    # the violation is in the zoomed frame, but the candidate lies beyond the radius from it
    away = _candidate(scenario, inc.east_m, inc.north_m - VERIFY_RADIUS_M - 2.0, inc.type, 0.6)
    assert cams.verify("drone-1", away) is False
    assert cams.verify("drone-1", _candidate(scenario, inc.east_m, inc.north_m, other, 0.6)) \
        is False
    assert cams.verify("drone-1", _candidate(scenario, inc.east_m, inc.north_m, inc.type, 0.6))


def test_a_dismissed_candidate_is_looked_at_again_only_with_a_further_sighting(scenario):
    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m + 10.0, inc.north_m, 90.0)
    cams = watching_cameras(scenario, drone, 0.5)  # 0.4 x 0.5 = 0.2: dismissed
    once = _candidate(scenario, inc.east_m, inc.north_m, inc.type, 0.4)
    assert cams._worth_posting("drone-1", [once]) == []
    assert cams._worth_posting("drone-1", [once]) == []  # the next frame does not ask again
    assert cams.stats.verify_looks == 1 and list(cams.stats.dismissed) == ["c1"]
    # a second patrol look, no surer: looked at again, and still dismissed
    twice = _candidate(scenario, inc.east_m, inc.north_m, inc.type, 0.4, sightings=2)
    assert cams._worth_posting("drone-1", [twice]) == []
    assert cams.stats.verify_looks == 2
    # a third, surer one (0.6 x 0.5 = 0.3): posted, and no longer counted dismissed
    surer = _candidate(scenario, inc.east_m, inc.north_m, inc.type, 0.6, sightings=3)
    assert cams._worth_posting("drone-1", [surer]) == [surer]
    assert cams.stats.verify_looks == 3 and cams.stats.dismissed == {}


def test_a_confirmed_candidate_whose_post_failed_is_not_looked_at_twice(scenario):
    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m + 10.0, inc.north_m, 90.0)
    cams = watching_cameras(scenario, drone, 0.9)
    c = _candidate(scenario, inc.east_m, inc.north_m, inc.type, 0.5)
    assert cams._worth_posting("drone-1", [c]) == [c]
    # the service was busy: nothing was marked posted, so the next frame offers it again
    assert cams._worth_posting("drone-1", [c]) == [c]
    assert cams.stats.verify_looks == 1


def test_without_zoom_verify_every_candidate_not_yet_posted_goes_out(scenario):
    inc = scenario.incidents[0]
    drone = Drone(scenario, inc.east_m + 10.0, inc.north_m, 90.0)
    cams = PatrolCameras(scenario, [("drone-1", drone)], now=lambda: NOW, post=len,
                         patrol_alt_m=60.0, detector=Oracle(0.0), zoom_verify=False)
    weak = _candidate(scenario, inc.east_m, inc.north_m, inc.type, 0.26)
    assert cams._worth_posting("drone-1", [weak]) == [weak]
    cams._posted.add(weak.source_event_id)
    assert cams._worth_posting("drone-1", [weak]) == []
    assert cams.stats.verify_looks == 0
