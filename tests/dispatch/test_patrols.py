"""Merged patrol requests: slots by hand, merging, union sweeps, sorties, quiet windows, no-fly."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon, box

from dispatch import (
    DroneModel,
    InvalidPatrolRequest,
    PatrolDrone,
    PatrolPlanner,
    PatrolRequest,
    PatrolWindow,
)
from dispatch.patrol_sorties import SortieBuilder
from geofence import LocalFrame, QuietWindow, Router, Zone, ZoneSet, sample_town
from geofence.routing import to_local_geometry
from simulators.patrol_week import FIRST_DAY, week_of_requests

FRAME = LocalFrame(29.50, 120.90)
MONDAY = date(2026, 11, 30)
# 08:00 in Asia/Shanghai (UTC+8, no daylight saving) is 00:00 UTC.
EIGHT_LOCAL = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
MODEL = DroneModel()


def _lonlat(polygon_m: Polygon) -> Polygon:
    lat, lon = FRAME.to_wgs84(*np.asarray(polygon_m.exterior.coords).T)
    return Polygon(np.column_stack([lon, lat]))


def _drone(east_m: float, north_m: float, drone_id: str = "d1") -> PatrolDrone:
    lat, lon = FRAME.to_wgs84(east_m, north_m)
    return PatrolDrone(drone_id, float(lat), float(lon), "dock")


def _request(rid: str, area_m: Polygon, start: time, end: time, **kw) -> PatrolRequest:
    return PatrolRequest(rid, "城管", _lonlat(area_m), PatrolWindow(start, end), ("street_stall",),
                         **kw)


def _local_path(flight, dock_m: tuple[float, float]) -> np.ndarray:
    lats, lons = np.asarray(flight.waypoints).T
    return np.vstack([dock_m, np.column_stack(FRAME.to_local(lats, lons))])


def _planner(zones=(), drones=None, **kw) -> PatrolPlanner:
    return PatrolPlanner(ZoneSet(list(zones)), FRAME, drones or [_drone(-300, 50)], **kw)


# ------------------------------------------------------------------ requests and slots


def test_window_across_midnight_opens_friday_night_and_passes_split_it():
    # 22:00-02:00 on Friday (weekday 4), Asia/Shanghai = UTC+8: Fri 14:00 to Fri 18:00 UTC;
    # two passes cut it into 14:00-16:00 and 16:00-18:00.
    request = PatrolRequest("r", "应急管理", _lonlat(box(0, 0, 100, 100)),
                            PatrolWindow(time(22), time(2), frozenset({4})), passes_per_day=2)
    slots = request.slots(MONDAY, MONDAY + timedelta(days=6))
    friday = datetime(2026, 12, 4, tzinfo=UTC)
    assert [(s.start, s.end) for s in slots] == [
        (friday + timedelta(hours=14), friday + timedelta(hours=16)),
        (friday + timedelta(hours=16), friday + timedelta(hours=18)),
    ]


def test_slots_only_on_valid_days_and_listed_weekdays():
    # Mon-Fri window, valid from Wednesday: Wed, Thu, Fri -> 3 slots, each 08:00-09:00 local.
    window = PatrolWindow.from_mapping({"days": ["mon", "tue", "wed", "thu", "fri"],
                                        "start": "08:00", "end": "09:00"})
    request = PatrolRequest("r", "城管", _lonlat(box(0, 0, 100, 100)), window,
                            valid_from=date(2026, 12, 2))
    slots = request.slots(MONDAY, MONDAY + timedelta(days=6))
    assert [s.start for s in slots] == [EIGHT_LOCAL + timedelta(days=d) for d in (2, 3, 4)]
    assert all(s.end - s.start == timedelta(hours=1) for s in slots)


def test_request_from_the_generated_week_round_trips():
    raw = week_of_requests(seed=3)
    requests = [PatrolRequest.from_mapping(r) for r in raw]
    assert len({r.id for r in requests}) == len(raw) == 24
    assert {r.department for r in requests} == {"城管", "市场监管", "应急管理", "生态环境"}
    assert week_of_requests(seed=3) == raw  # seeded
    assert week_of_requests(seed=4) != raw


_WINDOW = {"start": "08:00", "end": "12:00"}
_AREA = {"type": "Polygon", "coordinates": [[[120.9, 29.5], [120.91, 29.5], [120.91, 29.51],
                                             [120.9, 29.5]]]}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"area": {"type": "Polygon", "coordinates": []}}, "empty"),
        ({"area": {"type": "Point", "coordinates": [120.9, 29.5]}}, "must be a polygon"),
        ({"area": "somewhere"}, "GeoJSON Polygon"),
        # a bow tie: its edges cross
        ({"area": {"type": "Polygon", "coordinates": [[[120.9, 29.5], [120.91, 29.51],
                                                       [120.91, 29.5], [120.9, 29.51],
                                                       [120.9, 29.5]]]}}, "crossing edges"),
        # latitude 120 is no latitude: the pairs were written [lat, lon]
        ({"area": {"type": "Polygon", "coordinates": [[[29.5, 120.9], [29.51, 120.9],
                                                       [29.51, 120.91], [29.5, 120.9]]]}},
         "[lon, lat]"),
        ({"window": {"start": "08:00", "end": "08:00"}}, "ambiguous"),
        ({"window": {"days": ["funday"], "start": "08:00", "end": "09:00"}}, "unknown weekday"),
        ({"window": {"start": "8 o'clock", "end": "09:00"}}, "HH:MM"),
        ({"window": {"start": "08:00", "end": "09:00", "tz": "Mars/Olympus"}}, "IANA"),
        # 8 passes in one hour: 7.5 minutes each, less than the 15 a pass needs
        ({"window": {"start": "08:00", "end": "09:00"}, "passes_per_day": 8}, "fewer passes"),
        ({"passes_per_day": 0}, "whole number >= 1"),
        ({"valid_from": "2026-12-05", "valid_until": "2026-12-01"}, "before valid_from"),
        ({"valid_from": "next week"}, "a date like"),
        ({"department": ""}, "department"),
        ({"colour": "red"}, "unknown patrol request keys"),
    ],
)
def test_bad_requests_are_refused_with_what_to_do(raw, says):
    body = {"id": "r1", "department": "城管", "area": _AREA, "window": _WINDOW} | raw
    with pytest.raises(InvalidPatrolRequest) as caught:
        PatrolRequest.from_mapping(body)
    assert isinstance(caught.value, ValueError)  # pydantic and the API map it to 422/400
    assert says in str(caught.value)


def test_weekday_numbers_out_of_range_and_short_rings_are_refused():
    with pytest.raises(InvalidPatrolRequest, match="subset of 0..6"):
        PatrolWindow(time(8), time(9), frozenset({7}))
    with pytest.raises(InvalidPatrolRequest, match="at least 3 distinct"):
        PatrolRequest.from_ring("r", "城管", [(29.5, 120.9), (29.51, 120.9), (29.5, 120.9)],
                                PatrolWindow(time(8), time(9)))


def test_repeated_request_ids_are_refused():
    request = _request("r", box(0, 0, 100, 100), time(8), time(9))
    with pytest.raises(InvalidPatrolRequest, match="repeated"):
        _planner().plan([request, request], MONDAY, MONDAY)


# ------------------------------------------------------------------ one flight by hand


def test_one_sortie_length_and_time_by_hand():
    # 300 x 200 m field, 100 m lanes: lanes along the long (east) side at north 150 and 50, each
    # 300 m, one 100 m hop: 700 m. The dock at (-300, 50) is nearer the (0, 50) end, so the
    # drone flies 300 m out, sweeps, and comes back from (0, 150): hypot(300, 100) m.
    plan = _planner(footprint_width_m=100.0).plan(
        [_request("r", box(0, 0, 300, 200), time(8), time(9))], MONDAY, MONDAY)
    (flight,) = plan.flights
    length_m = 300 + 700 + math.hypot(300, 100)
    assert flight.length_m == pytest.approx(length_m, abs=0.01)
    # Launch to 30 m: 0.5 s of commands + 30/2.5 + 2.5/1 s; the route at 12 m/s with 2.5 m/s²
    # ramps (d/v + v/a) and 4 corners of 1.5 s; landing: 5 s loiter, 20 m at 1.5 m/s, 10 at 0.5.
    duration_s = (0.5 + 30 / 2.5 + 2.5 / 1.0) + (length_m / 12 + 12 / 2.5 + 4 * 1.5) + (
        5 + 20 / 1.5 + 10 / 0.5)
    assert flight.duration_s == pytest.approx(duration_s, abs=0.01)
    assert flight.start == EIGHT_LOCAL
    assert flight.end == EIGHT_LOCAL + timedelta(seconds=duration_s)
    path = _local_path(flight, (-300, 50))
    np.testing.assert_allclose(path[[0, 1, -2, -1]], [(-300, 50), (0, 50), (0, 150), (-300, 50)],
                               atol=0.01)
    assert flight.serves == (("r", EIGHT_LOCAL),)
    assert plan.served_by() == {("r", EIGHT_LOCAL): (flight.id,)}
    assert plan.flights_per_day() == {MONDAY: 1}


# ------------------------------------------------------------------ merging


def test_two_identical_requests_in_one_window_share_one_flight():
    area = box(0, 0, 300, 200)
    requests = [_request("a", area, time(8), time(10)), _request("b", area, time(8), time(10))]
    merged = _planner().plan(requests, MONDAY, MONDAY)
    alone = _planner().plan(requests, MONDAY, MONDAY, merge=False)
    (flight,) = merged.flights
    assert set(flight.serves) == {("a", EIGHT_LOCAL), ("b", EIGHT_LOCAL)}
    assert alone.flight_count == 2
    assert flight.length_m == pytest.approx(alone.flights[0].length_m)  # the same path, once
    assert merged.flight_s == pytest.approx(alone.flight_s / 2)


@pytest.mark.parametrize(
    ("b_start", "b_end", "flights"),
    [
        (time(10), time(11), 2),  # disjoint windows
        (time(8, 40), time(10), 2),  # 20 minutes shared, less than min_shared_s (30)
        (time(8, 30), time(10), 1),  # exactly 30 minutes shared
    ],
)
def test_windows_share_a_flight_only_when_they_overlap_long_enough(b_start, b_end, flights):
    area = box(0, 0, 300, 200)
    requests = [_request("a", area, time(8), time(9)), _request("b", area, b_start, b_end)]
    plan = _planner().plan(requests, MONDAY, MONDAY)
    assert plan.flight_count == flights
    assert plan.all_served
    for flight in plan.flights:  # every flight inside every slot it serves
        for rid, slot_start in flight.serves:
            slot = next(s for s in plan.slots if s.key == (rid, slot_start))
            assert slot.start <= flight.start and flight.end <= slot.end


def test_the_union_of_overlapping_areas_is_swept_shorter_than_each_alone():
    # A = 400 x 200 m, B = the same shifted 200 m east; 50 m lanes run east: 4 lanes each.
    # Alone: 4 x 400 + 3 x 50 = 1750 m apiece, 3500 m together; the union (600 x 200):
    # 4 x 600 + 3 x 50 = 2550 m.
    a, b = box(0, 0, 400, 200), box(200, 0, 600, 200)
    builder = SortieBuilder(Router([], FRAME), MODEL, footprint_width_m=50.0, alt_rel_m=30.0,
                            cluster_gap_m=200.0)
    areas = [_lonlat(a), _lonlat(b)]
    (piece,) = builder.pieces(areas)
    (sweep,) = builder.sweeps(piece, areas)
    assert np.hypot(*np.diff(sweep, axis=0).T).sum() == pytest.approx(2550, abs=0.01)

    requests = [_request("a", a, time(8), time(10)), _request("b", b, time(8), time(10))]
    merged = _planner(footprint_width_m=50.0).plan(requests, MONDAY, MONDAY)
    alone = _planner(footprint_width_m=50.0).plan(requests, MONDAY, MONDAY, merge=False)
    (flight,) = merged.flights
    path = _local_path(flight, (-300, 50))
    out_m, back_m = np.hypot(*(path[1] - path[0])), np.hypot(*(path[-1] - path[-2]))
    assert flight.length_m == pytest.approx(2550 + out_m + back_m, abs=0.01)
    assert flight.length_m < alone.length_m


# ------------------------------------------------------------------ endurance


def test_an_area_beyond_one_battery_is_cut_into_sorties_that_each_fit():
    # 3 x 3 km at 60 m lanes: 50 lanes of 3000 m + 49 hops of 60 m = 152,940 m of sweep.
    # Usable energy: full 4S 10 Ah pack 10 x 4 x 3.75 = 150 Wh less the 25 % reserve
    # (2.5 x 4 x 3.4125 = 34.125 Wh) = 115.875 Wh; at cruise (300 + 0.8 x 12² = 415.2 W)
    # that is at most 1004.7 s x 12 m/s = 12,056 m a sortie, so at least 13 sorties.
    builder = SortieBuilder(Router([], FRAME), MODEL, footprint_width_m=60.0, alt_rel_m=30.0,
                            cluster_gap_m=200.0)
    sweep = builder.sweep(_lonlat(box(0, 0, 3000, 3000)))
    assert np.hypot(*np.diff(sweep, axis=0).T).sum() == pytest.approx(152_940, abs=0.1)
    sorties = builder.sorties((-100.0, 1500.0), [sweep])
    usable_wh = 150.0 - 34.125
    assert MODEL.usable_wh(100.0) == pytest.approx(usable_wh)
    assert len(sorties) >= math.ceil(152_940 / (usable_wh * 3600 / 415.2 * 12))
    assert all(s.energy_wh <= usable_wh for s in sorties)
    # Greedy cuts: every sortie but the last stops less than one 100 m step (about 1 Wh at
    # cruise, plus up to 100 m more way home and a corner) short of the limit.
    assert all(s.energy_wh > usable_wh - 3.0 for s in sorties[:-1])
    # The sweep is flown once, with no gap and no repeat.
    assert sum(s.sweeps_local.length for s in sorties) == pytest.approx(152_940, abs=0.1)


def test_the_planner_flies_a_huge_area_as_numbered_sorties_on_several_drones():
    drones = [_drone(-100, 1500, f"d{k}") for k in range(4)]
    plan = _planner(drones=drones).plan(
        [_request("big", box(0, 0, 3000, 3000), time(6), time(22))], MONDAY, MONDAY)
    assert plan.all_served
    assert plan.flight_count >= 13
    assert sorted(f.sortie for f in plan.flights) == list(range(1, plan.flight_count + 1))
    assert {f.sorties for f in plan.flights} == {plan.flight_count}
    assert all(f.energy_wh <= MODEL.usable_wh(100.0) for f in plan.flights)
    for drone_id in {f.drone_id for f in plan.flights}:  # a drone flies one sortie at a time
        own = [f for f in plan.flights if f.drone_id == drone_id]
        for before, after in itertools.pairwise(own):
            # and waits for its recharge: energy / 300 W
            assert after.start >= before.end + timedelta(seconds=before.energy_wh / 300 * 3600)


def test_a_slot_too_short_for_its_flight_is_reported_not_dropped():
    # 3000 x 600 m at 60 m lanes: 10 lanes of 3 km = 30 km, more than a 15-minute slot holds.
    plan = _planner().plan([_request("r", box(0, 0, 3000, 600), time(8), time(8, 15))],
                           MONDAY, MONDAY)
    assert plan.flights == ()
    (missed,) = plan.unserved
    assert (missed.request_id, missed.start) == ("r", EIGHT_LOCAL)
    assert "no drone" in missed.reason and "widen the window" in missed.reason


def test_an_area_beyond_one_battery_there_and_back_is_reported():
    # The dock 8 km away: 16 km there and back, more than the ~12 km one battery flies.
    plan = _planner(drones=[_drone(-8000, 0)]).plan(
        [_request("r", box(0, 0, 300, 200), time(8), time(12))], MONDAY, MONDAY)
    assert plan.flights == ()
    (missed,) = plan.unserved
    assert "beyond one battery's reach" in missed.reason and "add a dock" in missed.reason


# ------------------------------------------------------------------ quiet windows


def _quiet_zone(area_m: Polygon, start: time, end: time) -> Zone:
    window = QuietWindow(frozenset(range(7)), start, end)
    return Zone("q", "quiet works", "industrial", _lonlat(area_m), 300.0, (window,))


def test_a_flight_waits_for_the_quiet_window_of_a_zone_it_crosses():
    # Quiet 08:00-09:00 over the field; the request allows 08:00-10:00: it flies at 09:00.
    area = box(0, 0, 300, 200)
    plan = _planner([_quiet_zone(area, time(8), time(9))]).plan(
        [_request("r", area, time(8), time(10))], MONDAY, MONDAY)
    (flight,) = plan.flights
    assert flight.start == EIGHT_LOCAL + timedelta(hours=1)
    assert flight.skipped_quiet_zone_ids == ()


def test_when_no_time_avoids_a_quiet_zone_it_is_cut_out_and_named():
    # The request's whole window (08:00-09:00) is quiet over the east half: the flight keeps
    # out of it (and its 20 m margin) and says so; the west half is still swept.
    area, quiet = box(0, 0, 600, 200), box(400, 0, 600, 200)
    plan = _planner([_quiet_zone(quiet, time(7, 30), time(9, 30))]).plan(
        [_request("r", area, time(8), time(9))], MONDAY, MONDAY)
    (flight,) = plan.flights
    assert flight.skipped_quiet_zone_ids == ("q",)
    assert flight.start == EIGHT_LOCAL
    path = LineString(_local_path(flight, (-300, 50)))
    assert not path.intersects(quiet.buffer(19.9))
    assert path.intersects(box(0, 0, 380, 200))
    assert plan.all_served


def test_an_area_entirely_quiet_for_its_whole_window_is_unserved_with_the_reason():
    area = box(0, 0, 300, 200)
    plan = _planner([_quiet_zone(area.buffer(50), time(7), time(10))]).plan(
        [_request("r", area, time(8), time(9))], MONDAY, MONDAY)
    assert plan.flights == ()
    (missed,) = plan.unserved
    assert "avoids the quiet hours of q" in missed.reason


# ------------------------------------------------------------------ a week over the sample town


@pytest.fixture(scope="module")
def week():
    town = sample_town()
    drones = [PatrolDrone(f"{d.id}-{k}", d.lat, d.lon, d.id) for d in town.docks
              for k in range(2)]
    planner = PatrolPlanner(town.zones, town.frame, drones)
    requests = [PatrolRequest.from_mapping(r) for r in week_of_requests(seed=7)]
    last = FIRST_DAY + timedelta(days=6)
    return town, planner.plan(requests, FIRST_DAY, last), planner.plan(requests, FIRST_DAY, last,
                                                                       merge=False)


def test_every_slot_of_the_week_is_served_by_exactly_one_flight_group(week):
    _, merged, alone = week
    for plan in (merged, alone):
        assert plan.all_served
        groups: dict = {}
        for flight in plan.flights:
            for key in flight.serves:
                groups.setdefault(key, set()).add(flight.group)
        assert set(groups) == {s.key for s in plan.slots}
        assert all(len(g) == 1 for g in groups.values())
    assert all(len(f.serves) == 1 for f in alone.flights if f.sorties == 1)
    # overlapping areas of different departments in shared hours: merging saves flights
    assert merged.flight_count < alone.flight_count
    assert merged.flight_s < alone.flight_s


def test_no_flight_of_the_week_enters_a_no_fly_zone_or_a_zone_while_quiet(week):
    town, merged, alone = week
    no_fly = [z for z in town.zones if z.kind == "no_fly"]
    quiet = [z for z in town.zones if z.quiet_windows]
    for flight in merged.flights + alone.flights:
        dock = town.dock(flight.dock_id)
        lat_lon = [(dock.lat, dock.lon), *flight.waypoints]
        line = LineString([(lon, lat) for lat, lon in lat_lon])
        assert not any(line.intersects(z.geometry) for z in no_fly), flight.id
        # the ZoneSet agrees, every 10 m along the path
        local = to_local_geometry(line, town.frame)
        for d in np.arange(0.0, local.length, 10.0):
            p = local.interpolate(d)
            lat, lon = town.frame.to_wgs84(p.x, p.y)
            assert "no_fly" not in town.zones.kinds_at(lat, lon), flight.id
        for zone in quiet:
            if line.intersects(zone.geometry):
                span = flight.end - flight.start
                for k in range(0, int(span.total_seconds()) + 1, 60):
                    assert not zone.is_quiet(flight.start + timedelta(seconds=k)), flight.id


def test_the_week_keeps_each_drone_to_one_flight_at_a_time_inside_its_slots(week):
    _, merged, _ = week
    slots = {s.key: s for s in merged.slots}
    for flight in merged.flights:
        for key in flight.serves:
            assert slots[key].start <= flight.start and flight.end <= slots[key].end
    for drone_id in {f.drone_id for f in merged.flights}:
        own = [f for f in merged.flights if f.drone_id == drone_id]
        assert all(a.end <= b.start for a, b in itertools.pairwise(own))


def test_each_request_sees_its_flights(week):
    _, merged, _ = week
    for rid in {s.request_id for s in merged.slots}:
        flights = merged.flights_for(rid)
        served = {key for f in flights for key in f.serves if key[0] == rid}
        assert served == {s.key for s in merged.slots if s.request_id == rid}
    assert sum(merged.flights_per_day().values()) == merged.flight_count
