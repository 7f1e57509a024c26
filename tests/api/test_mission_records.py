"""What the dispatch worker writes for each mission update (api/fleet/missions.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.core.settings import PersuasionRule
from api.fleet import missions
from dispatch.dispatcher import MissionUpdate
from tests.api.conftest import ManualClock, candidate


def assigned_to_d1(client: TestClient, headers: dict) -> int:
    eid = client.post("/api/v1/candidates", json=candidate(), headers=headers["det"]).json()["id"]
    for path, body in (("review", {"decision": "confirm"}), ("assign", {"drone_id": "d1"})):
        r = client.post(f"/api/v1/events/{eid}/{path}", json=body, headers=headers["op"])
        assert r.status_code == 200, r.text
    return eid


def write(client: TestClient, update: MissionUpdate, rules: list[PersuasionRule] | None = None):
    with Session(client.app.state.engine, expire_on_commit=False) as session:
        alerts = missions.record_update(session, update, rules=rules or [])
        session.commit()
    return alerts


def test_a_drone_taken_by_another_ground_station_loses_its_task_and_the_audit_says_so(
        client: TestClient, headers: dict, clock: ManualClock) -> None:
    eid = assigned_to_d1(client, headers)
    clock.advance(40)
    write(client, MissionUpdate("overridden", eid, "d1", clock.now(), mode_from="GUIDED",
                                mode_to="BRAKE", reason="d1: left GUIDED for BRAKE"))
    event = client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()
    [task] = [t for t in event["tasks"] if t["kind"] == "drone"]
    assert (task["drone_id"], task["state"]) == ("d1", "cancelled")
    assert event["state"] == "assigned"  # the event waits for the next drone, not the lifecycle
    assert event["timeline"][-1]["reason"] == (
        "drone d1 taken over by another ground station (GUIDED → BRAKE): d1: left GUIDED for BRAKE")


def test_an_assignment_for_an_event_another_process_already_assigned_is_a_replacement(
        client: TestClient, headers: dict, clock: ManualClock) -> None:
    # the event was assigned meanwhile (by hand, or another process): the worker's row lock
    # re-reads it and records a replacement, never a second confirmed -> assigned transition
    eid = assigned_to_d1(client, headers)
    write(client, MissionUpdate("assigned", eid, "d2", clock.now(), eta_s=90.0))
    event = client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()
    moves = [(a["from_state"], a["to_state"]) for a in event["timeline"]
             if a["from_state"] != a["to_state"]]
    assert moves.count(("confirmed", "assigned")) == 1
    assert [(t["drone_id"], t["state"]) for t in event["tasks"] if t["kind"] == "drone"] == [
        ("d1", "cancelled"), ("d2", "assigned")]


def test_a_drone_flies_for_one_process_at_a_time(client: TestClient, headers: dict,
                                                 clock: ManualClock) -> None:
    first = assigned_to_d1(client, headers)
    second = client.post("/api/v1/candidates", json=candidate(lat=29.51),
                         headers=headers["det"]).json()["id"]

    def claim(owner: str, event_id: int) -> bool:
        with Session(client.app.state.engine) as session:
            mine = missions.claim_drone(session, "d2", event_id, owner=owner, now=clock.now(),
                                        lease_s=60)
            session.commit()
        return mine

    assert claim("a", first) is True
    assert claim("a", first) is True  # renewing one's own claim
    assert claim("b", second) is False  # a flies it for an open event
    clock.advance(61)
    assert claim("b", second) is True  # a went silent past the lease: b may take it
    assert claim("a", first) is False
    # the mission's end gives the drone up: anyone may claim it at once
    write(client, MissionUpdate("released", second, "d2", clock.now(), reason="home"))
    assert claim("a", first) is True
