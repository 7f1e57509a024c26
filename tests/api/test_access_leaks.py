"""The reads issue 33 measured on main, each closed: the planner's suggestions, a detector's
idempotent replay (and merge), merged patrol flights as a department sees them, and the
403-or-404 that told a ground team which event ids exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape

from api.core.settings import Settings
from tests.api.conftest import TEST_SECRET, candidate
from tests.api.test_patrols import (
    AREA_A,
    AREA_B,
    CG,
    MKT,
    MONDAY,
    OP,
    add_departments,
    request_body,
)

RADIUS_M = 15.0  # merging on (conftest turns it off): a second look 5 m away is the same event


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key=TEST_SECRET,
                    max_upload_bytes=200_000, merge_radius_m=RADIUS_M)


def _assigned(client: TestClient, headers: dict, team: str, **where) -> int:
    eid = client.post("/api/v1/candidates", json=candidate(**where), headers=headers["op"]).json()["id"]
    for verb, body in (("review", {"decision": "confirm"}), ("assign", {"team_id": team})):
        r = client.post(f"/api/v1/events/{eid}/{verb}", json=body, headers=headers["op"])
        assert r.status_code == 200, r.text
    return eid


@pytest.mark.parametrize(("who", "status"), [("tm1", 403), ("tm2", 403), ("det", 403),
                                             ("eva", 503), ("op", 503)])
def test_only_staff_read_the_planners_suggestions(client: TestClient, headers: dict, who: str,
                                                  status: int) -> None:
    """The answer places the event, every drone's route and every team: not a ground team's to
    read, even for its own task. With no fleet connected staff are told so (503)."""
    eid = _assigned(client, headers, "t1")
    r = client.get(f"/api/v1/dispatch/events/{eid}/suggestions", headers=headers[who])
    assert r.status_code == status, r.text
    assert "distance_m" not in r.text and "state" not in r.json()


def test_a_detector_replaying_a_known_candidate_is_told_the_id_only(client: TestClient,
                                                                    headers: dict) -> None:
    body = candidate(source="hotline", source_event_id="call-7", note="called by the baker")
    stored = client.post("/api/v1/candidates", json=body, headers=headers["op"]).json()["id"]
    for verb, kwargs in (("review", {"json": {"decision": "confirm"}}),
                         ("assign", {"json": {"team_id": "t1"}}), ("on-scene", {}),
                         ("resolve", {"data": {"disposition": "removed",
                                               "note": "vendor moved on"}})):
        r = client.post(f"/api/v1/events/{stored}/{verb}", headers=headers["op"], **kwargs)
        assert r.status_code == 200, r.text
    replay = client.post("/api/v1/candidates", json=body, headers=headers["det"])
    assert replay.status_code == 200
    assert replay.json() == {"id": stored, "outcome": "retry"}
    for secret in ("vendor moved on", "baker", "evaluated", "removed", "29.5", "t1"):
        assert secret not in replay.text
    # a scene check on it now is refused as closed, without naming its state
    late = client.post(f"/api/v1/events/{stored}/scene-checks", json={"present": False},
                       headers=headers["det"])
    assert late.status_code == 409 and "not open" in late.text and "evaluated" not in late.text
    # the operator who filed it is still shown the event
    again = client.post("/api/v1/candidates", json=body, headers=headers["op"]).json()
    assert (again["state"], again["disposition"]) == ("evaluated", "removed")  # auto-evaluated


def test_a_detector_is_told_whether_its_candidate_was_new_or_merged(client: TestClient,
                                                                   headers: dict) -> None:
    new = client.post("/api/v1/candidates", json=candidate(), headers=headers["det"])
    assert new.status_code == 201 and new.json()["outcome"] == "new"
    # 5 m north of it (1° of latitude is ~110.6 km): inside the 15 m merge radius
    again = client.post("/api/v1/candidates", json=candidate(lat=29.5 + 5 / 110_600),
                        headers=headers["det"])
    assert again.status_code == 200
    assert again.json() == {"id": new.json()["id"], "outcome": "merged"}


def test_a_ground_team_cannot_tell_another_teams_event_from_a_missing_one(
        client: TestClient, headers: dict) -> None:
    theirs = _assigned(client, headers, "t2")
    missing = theirs + 1000
    for path in ("/api/v1/events/{}", "/api/v1/events/{}/audit", "/api/v1/events/{}/sightings"):
        a = client.get(path.format(theirs), headers=headers["tm1"])
        b = client.get(path.format(missing), headers=headers["tm1"])
        assert (a.status_code, b.status_code) == (404, 404)
        assert a.json() == {"detail": b.json()["detail"].replace(f"id {missing}", f"id {theirs}")}
    on_scene = client.post(f"/api/v1/events/{theirs}/on-scene", headers=headers["tm1"])
    assert on_scene.status_code == 404  # and the other team's task is untouched
    assert client.get(f"/api/v1/events/{theirs}", headers=headers["op"]).json()["state"] == "assigned"


def test_a_ground_team_sees_its_own_team_only(client: TestClient, headers: dict) -> None:
    assert [t["id"] for t in client.get("/api/v1/teams", headers=headers["tm1"]).json()] == ["t1"]
    assert [t["id"] for t in client.get("/api/v1/teams", headers=headers["op"]).json()] == \
        ["t1", "t2"]
    assert client.get("/api/v1/drones", headers=headers["tm1"]).status_code == 403


def test_a_department_sees_a_merged_flight_without_the_other_departments_request(
        client: TestClient) -> None:
    add_departments(client.app.state.engine)
    mine = client.post("/api/v1/patrol-requests", headers=MKT,
                       json=request_body(title="东区早市", area=AREA_A)).json()
    theirs = client.post("/api/v1/patrol-requests", headers=CG,
                         json=request_body(title="城管 east block", area=AREA_B)).json()
    plan = client.post(f"/api/v1/patrol-plan?week={MONDAY}", headers=OP).json()
    assert plan["merged"]["flights"] == 1  # one flight serves both blocks

    staff = client.get("/api/v1/patrol-flights", headers=OP).json()["flights"][0]
    assert {s["title"] for s in staff["serves"]} == {"东区早市", "城管 east block"}
    assert staff["path"]["type"] == "LineString"
    flown = shape(staff["path"])
    area_a = shape(AREA_A).buffer(1e-7)

    seen = client.get("/api/v1/patrol-flights", headers=MKT).json()
    detail = client.get(f"/api/v1/patrol-requests/{mine['id']}", headers=MKT).json()
    for flight in (seen["flights"][0], detail["flights"][0]):
        assert [s.get("title") for s in flight["serves"]] == ["东区早市", None]
        assert flight["serves"][1] == {"department": "城管"}  # shared, but not what for
        assert "城管 east block" not in str(flight) and str(theirs["id"]) not in str(
            [s.get("request_id") for s in flight["serves"]])
        assert flight["path"]["type"] == "MultiLineString"
        inside = shape(flight["path"])
        assert not inside.is_empty and area_a.covers(inside)  # only over its own block
        # the part of the flight over its own block, and no more
        assert inside.length == pytest.approx(flown.intersection(shape(AREA_A)).length, rel=1e-6)
    for plan_view in seen["plans"]:
        assert all(u["request_id"] == mine["id"] for u in plan_view["unserved"])
