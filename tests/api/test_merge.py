"""One violation, one event (api/lifecycle/merge.py), through HTTP on SQLite and PostgreSQL.

Positions are laid out north of one corner of the sample town with the length of a degree of
latitude there from the meridian-arc series (as tests/api/test_offences.py does), so "4.2 m" is
4.2 m to a millimetre and the 15 m merge radius falls where the tests say.
"""

from __future__ import annotations

import base64
import functools
import math
import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, select

from api.core.models import AuditEntry, Event, Sighting
from api.core.settings import Settings
from api.core.zones import ZoneIndex
from api.lifecycle import events as verbs
from api.lifecycle import merge
from api.lifecycle.merge import MergeRules
from api.lifecycle.offences import distances_m
from api.lifecycle.schemas import CandidateIn
from api.lifecycle.states import OPEN_STATES
from tests.api.conftest import START, TEST_SECRET, ManualClock, candidate, live_protocols
from tests.api.test_events_api import jpeg

CORNER = (29.506766, 120.904641)  # residential block Beiyuan
PHI = math.radians(CORNER[0])
M_PER_DEG_LAT = 111132.954 - 559.822 * math.cos(2 * PHI) + 1.175 * math.cos(4 * PHI)
RADIUS_M, WINDOW_S, QUIET_S = 15.0, 12 * 3600.0, 4 * 3600.0


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key=TEST_SECRET,
                    merge_radius_m=RADIUS_M, merge_window_s=WINDOW_S, reject_quiet_s=QUIET_S)


def at_north(north_m: float, **overrides) -> dict:
    """A candidate ``north_m`` north of the corner (fields as ``conftest.candidate``)."""
    return candidate(lat=CORNER[0] + north_m / M_PER_DEG_LAT, lon=CORNER[1], **overrides)


def post(client: TestClient, headers: dict, body: dict, status: int) -> dict:
    """Post as the detector (which is told only the event's id) and read the event as staff."""
    r = client.post("/api/v1/candidates", json=body, headers=headers["det"])
    assert r.status_code == status, r.text
    return client.get(f"/api/v1/events/{r.json()['id']}", headers=headers["op"]).json()


def reasons(client: TestClient, headers: dict, eid: int) -> list[str]:
    r = client.get(f"/api/v1/events/{eid}/audit", headers=headers["op"])
    assert r.status_code == 200, r.text
    return [row["reason"] for row in r.json()]


def count_events(client: TestClient) -> int:
    with Session(client.app.state.engine) as session:
        return len(session.exec(select(Event.id)).all())


def test_a_second_look_within_the_radius_is_a_sighting_of_the_open_event(
        client: TestClient, headers: dict) -> None:
    first = post(client, headers, at_north(0, drone_id="drone-1", confidence=0.9), 201)
    again = post(client, headers, at_north(4.2, drone_id="drone-3", confidence=0.6), 200)
    assert again["id"] == first["id"] and again["state"] == "alerted"
    assert again["candidates"] == 2
    assert again["confidence"] == 0.9  # the best look
    # weights 0.9 and 0.6 (no position error given: 1 m each): 4.2 × 0.6 / 1.5 = 1.68 m north
    assert (again["lat"] - CORNER[0]) * M_PER_DEG_LAT == pytest.approx(1.68, abs=0.005)
    assert "sighting from drone-3 merged (4.2 m)" in reasons(client, headers, first["id"])
    # the first stays the alert: one alerted row, two sightings listed
    r = client.get(f"/api/v1/events/{first['id']}/sightings", headers=headers["op"])
    assert [(s["kind"], s["drone_id"]) for s in r.json()] == [("first", "drone-1"),
                                                              ("merged", "drone-3")]
    assert r.json()[1]["distance_m"] == pytest.approx(4.2, abs=0.01)
    assert count_events(client) == 1


@pytest.mark.parametrize(("north_m", "merged"), [(14.9, True), (15.0, True), (15.1, False)])
def test_the_radius_is_inclusive(client: TestClient, headers: dict, north_m: float,
                                 merged: bool) -> None:
    first = post(client, headers, at_north(0), 201)
    second = post(client, headers, at_north(north_m), 200 if merged else 201)
    assert (second["id"] == first["id"]) is merged


def test_another_type_at_the_same_place_is_another_event(client: TestClient, headers: dict) -> None:
    stall = post(client, headers, at_north(0), 201)
    fuel = post(client, headers, at_north(0.5, type="mobile_fuel_sale"), 201)
    assert fuel["id"] != stall["id"]


def test_a_hotline_call_about_a_stall_on_the_map_attaches_to_it(client: TestClient,
                                                                headers: dict) -> None:
    seen = post(client, headers, at_north(0, drone_id="drone-2"), 201)
    r = client.post("/api/v1/candidates", headers=headers["op"], json=at_north(
        0.5, source="hotline", source_event_id="12345-0001", confidence=1.0,
        note="caller: fruit stall blocking the lane"))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == seen["id"] and r.json()["confidence"] == 1.0
    assert "sighting from hotline merged (0.5 m)" in reasons(client, headers, seen["id"])


def test_a_retried_candidate_is_one_sighting(client: TestClient, headers: dict) -> None:
    post(client, headers, at_north(0), 201)
    body = at_north(3)
    once = post(client, headers, body, 200)
    twice = post(client, headers, body, 200)
    assert once["candidates"] == twice["candidates"] == 2


def test_outside_the_window_the_stale_event_does_not_swallow_a_new_sighting(
        client: TestClient, headers: dict, clock: ManualClock) -> None:
    old = post(client, headers, at_north(0), 201)
    clock.advance(WINDOW_S + 1)
    new = post(client, headers, at_north(2), 201)
    assert new["id"] != old["id"]


def test_a_stall_back_after_its_event_was_resolved_is_a_new_event_and_a_repeat(
        client: TestClient, headers: dict, clock: ManualClock) -> None:
    eid = post(client, headers, at_north(0), 201)["id"]
    for path, kw in ((f"/api/v1/events/{eid}/review", {"json": {"decision": "confirm"},
                                                         "headers": headers["op"]}),
                     (f"/api/v1/events/{eid}/assign", {"json": {"team_id": "t1"},
                                                         "headers": headers["op"]}),
                     (f"/api/v1/events/{eid}/on-scene", {"headers": headers["tm1"]}),
                     (f"/api/v1/events/{eid}/resolve", {"data": {"disposition": "removed"},
                                                          "headers": headers["tm1"]})):
        assert client.post(path, **kw).status_code == 200
    clock.advance(3600)
    back = post(client, headers, at_north(1), 201)
    assert back["id"] != eid
    r = client.post(f"/api/v1/events/{back['id']}/review", json={"decision": "confirm"},
                    headers=headers["op"])
    assert r.json()["offence"] == "repeat"


def test_a_rejected_lookalike_absorbs_its_repeats_for_the_quiet_time(
        client: TestClient, headers: dict, clock: ManualClock) -> None:
    umbrella = post(client, headers, at_north(0), 201)["id"]
    r = client.post(f"/api/v1/events/{umbrella}/review", headers=headers["op"],
                    json={"decision": "reject", "reason": "a café umbrella"})
    assert r.status_code == 200
    with client.websocket_connect("/api/v1/live",
                                  subprotocols=live_protocols(headers["op"]["Authorization"][7:])) as ws:
        assert ws.receive_json()["kind"] == "hello"
        clock.advance(QUIET_S - 60)
        quiet = post(client, headers, at_north(3, drone_id="drone-4"), 200)
        assert quiet["id"] == umbrella
        clock.advance(120)  # the quiet time is over: an operator looks again
        fresh = post(client, headers, at_north(3, drone_id="drone-4"), 201)
        # the absorbed one sent nothing: the first messages are the new event's
        for to_state in ("detected", "alerted"):
            message = ws.receive_json()
            assert (message["kind"], message["event_id"], message["to"]) == (
                "transition", fresh["id"], to_state)
    trail = reasons(client, headers, umbrella)
    assert any(r.startswith("sighting from drone-4 absorbed (3.0 m): rejected at") and
               "a café umbrella" in r for r in trail), trail


def test_an_operator_splits_a_wrong_merge(client: TestClient, headers: dict) -> None:
    stall = post(client, headers, at_north(0, drone_id="drone-1", confidence=0.8), 201)["id"]
    post(client, headers, at_north(10, drone_id="drone-2", confidence=0.8), 200)
    [first, second] = client.get(f"/api/v1/events/{stall}/sightings",
                                 headers=headers["op"]).json()
    r = client.post(f"/api/v1/events/{stall}/sightings/{second['id']}/split",
                    json={"reason": "a second stall across the lane"}, headers=headers["op"])
    assert r.status_code == 201, r.text
    split = r.json()
    assert split["id"] != stall and split["state"] == "alerted" and split["candidates"] == 1
    assert (split["lat"] - CORNER[0]) * M_PER_DEG_LAT == pytest.approx(10, abs=0.005)
    assert [s["id"] for s in split["all_sightings"]] == [second["id"]]
    old = client.get(f"/api/v1/events/{stall}", headers=headers["op"]).json()
    assert old["candidates"] == 1 and old["lat"] == pytest.approx(CORNER[0], abs=1e-9)
    assert (f"sighting {second['id']} from drone-2 split off into event {split['id']}: "
            "a second stall across the lane") in reasons(client, headers, stall)
    assert f"split from event {stall}: a second stall across the lane" in \
        reasons(client, headers, split["id"])
    # the first sighting is the alert and stays; a sighting of another event is not found
    r = client.post(f"/api/v1/events/{stall}/sightings/{first['id']}/split",
                    json={"reason": "x"}, headers=headers["op"])
    assert r.status_code == 409
    r = client.post(f"/api/v1/events/{stall}/sightings/{second['id']}/split",
                    json={"reason": "x"}, headers=headers["op"])
    assert r.status_code == 404
    # a later look goes to the nearer of the two
    near_split = post(client, headers, at_north(9), 200)
    assert near_split["id"] == split["id"]
    # splitting is the operator's: a detector may not
    r = client.post(f"/api/v1/events/{split['id']}/sightings/{second['id']}/split",
                    json={"reason": "x"}, headers=headers["det"])
    assert r.status_code == 403


def test_the_event_page_lists_every_sighting_with_its_snapshot(client: TestClient,
                                                                headers: dict) -> None:
    photo = jpeg()
    eid = post(client, headers, at_north(0), 201)["id"]
    post(client, headers, at_north(2, drone_id="drone-5", box_xyxy=[10, 20, 50, 60],
                                   snapshot_jpeg_b64=base64.b64encode(photo).decode()), 200)
    detail = client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()
    merged = detail["all_sightings"][1]
    assert merged["box_xyxy"] == [10, 20, 50, 60]
    [snapshot] = [e for e in detail["evidence"] if e["id"] == merged["evidence_id"]]
    assert snapshot["kind"] == "snapshot"
    assert client.get(snapshot["url"], headers=headers["op"]).content == photo


# ---------------------------------------------------------------- a property over streams

@functools.cache
def _zones() -> ZoneIndex:
    return ZoneIndex.load(None, default_target_s=300)


STREAM = st.lists(
    st.tuples(st.sampled_from(["street_stall", "mobile_fuel_sale"]),
              st.floats(0, 60), st.floats(0, 60), st.floats(0.3, 1.0),
              st.floats(0, 600)),
    min_size=1, max_size=40)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=STREAM)
def test_no_two_open_events_of_a_type_lie_within_the_merge_radius(stream) -> None:
    """Random candidates over a 60 m square (times within the window, in order): afterwards
    every candidate is exactly one sighting, and no two open events of one type are closer
    than the merge radius (none was split)."""
    engine = sa.create_engine("sqlite://")  # the tables as the models declare them, in memory
    SQLModel.metadata.create_all(engine)
    zones = _zones()
    rules = MergeRules(RADIUS_M, WINDOW_S, QUIET_S)
    clock = ManualClock(START)
    m_per_deg_lon = M_PER_DEG_LAT * math.cos(PHI)
    with Session(engine) as session:
        for i, (kind, east, north, conf, dt) in enumerate(stream):
            clock.advance(dt)
            body = CandidateIn(source="detector:prop", source_event_id=str(i), type=kind,
                               lat=CORNER[0] + north / M_PER_DEG_LAT,
                               lon=CORNER[1] + east / m_per_deg_lon, confidence=conf,
                               position_error_m=random.Random(i).choice([None, 0.5, 3.0]))
            verbs.ingest(session, body, zones=zones, actor="det", now=clock.now(),
                         merge_rules=rules)
            session.commit()
        events = session.exec(select(Event)).all()
        sightings = session.exec(select(Sighting)).all()
        assert len(sightings) == len(stream)
        assert sum(e.candidates for e in events) == len(stream)
        for kind in ("street_stall", "mobile_fuel_sale"):
            opened = [e for e in events if e.type == kind and e.state in OPEN_STATES]
            for a_i, a in enumerate(opened):
                others = opened[a_i + 1:]
                dist = distances_m(a.lat, a.lon, [b.lat for b in others], [b.lon for b in others])
                assert all(d > RADIUS_M for d in dist), (a.id, dist)
        # one alert per event: merging never alerts again
        assert len(session.exec(select(AuditEntry).where(
            AuditEntry.to_state == "alerted", AuditEntry.from_state == "detected")).all()) \
            == len(events)
        # the running fit a merge folds into says what a fit of every sighting says
        for event in events:
            assert_fit_is_the_full_refit(event, [s for s in sightings if s.event_id == event.id])
    engine.dispose()


def assert_fit_is_the_full_refit(event: Event, sightings: list[Sighting]) -> None:
    full = Event(**{c: getattr(event, c) for c in ("type", "state", "source", "source_event_id",
                                                   "target_s")}, lat=0, lon=0, confidence=0)
    merge.refit(full, sightings)
    # (the event's own lat/lon may have stayed put where the fit would crowd another event)
    for name in ("fit_weight", "fit_lat_sum", "fit_lon_sum"):
        assert getattr(event, name) == pytest.approx(getattr(full, name), rel=1e-12), name
    for name in ("confidence", "candidates", "sightings", "last_seen_at", "position_error_m"):
        assert getattr(event, name) == getattr(full, name), name


def test_an_event_stored_before_the_running_fit_is_fitted_from_all_its_sightings_once() -> None:
    """An event from before migration 0008 has no running fit: the next merge fits it from every
    sighting (so its position is right), and folds after that."""
    engine = sa.create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    zones, rules = _zones(), MergeRules(RADIUS_M, WINDOW_S, QUIET_S)
    looks = [(0.0, 0.9, 2.0), (4.0, 0.5, None), (-3.0, 0.8, 1.0)]  # north m, confidence, error
    with Session(engine) as session:
        for i, (north, conf, error) in enumerate(looks):
            if i == 2:  # forget the fit, as the migration leaves every older event
                event = session.exec(select(Event)).one()
                event.fit_weight = event.fit_lat_sum = event.fit_lon_sum = None
                session.add(event)
                session.commit()
            verbs.ingest(session, CandidateIn(
                source="old", source_event_id=str(i), type="street_stall",
                lat=CORNER[0] + north / M_PER_DEG_LAT, lon=CORNER[1], confidence=conf,
                position_error_m=error), zones=zones, actor="det", now=START, merge_rules=rules)
            session.commit()
        event = session.exec(select(Event)).one()
        sightings = list(session.exec(select(Sighting)).all())
        assert event.candidates == 3
        assert_fit_is_the_full_refit(event, sightings)
        assert (event.lat, event.lon) == (event.fit_lat_sum / event.fit_weight,
                                          event.fit_lon_sum / event.fit_weight)
        # by hand: weights 0.9/2² = 0.225, 0.5/1² = 0.5, 0.8/1² = 0.8 on norths 0, 4, -3 m
        north_m = (event.lat - CORNER[0]) * M_PER_DEG_LAT
        assert north_m == pytest.approx((0.225 * 0 + 0.5 * 4 + 0.8 * -3) / 1.525, abs=1e-6)
    engine.dispose()
