"""Every write endpoint against every role, and ground teams confined to their own tasks.

A ground team acting on another team's event is answered 404, like an id that does not exist
(issue 33: 403 told it the event was there). tests/api/test_access_table.py checks every route."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.api.conftest import ROLE_USERS, candidate

ROLES = [name for name, _, _ in ROLE_USERS]  # op, adm, eva, tm1, tm2, det


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    return buf.getvalue()


def _event_in(client: TestClient, headers: dict, state: str) -> int:
    """An event brought to `state` by an admin, with team t1 tasked from `assigned` on."""
    eid = client.post("/api/v1/candidates", json=candidate(), headers=headers["adm"]).json()["id"]
    steps = {"confirmed": 1, "assigned": 2, "on_scene": 3}[state] if state != "alerted" else 0
    calls = [("review", {"decision": "confirm"}), ("assign", {"drone_id": "d1", "team_id": "t1"}),
             ("on-scene", None)]
    for path, body in calls[:steps]:
        r = client.post(f"/api/v1/events/{eid}/{path}", json=body, headers=headers["adm"])
        assert r.status_code == 200, r.text
    return eid


# Ground teams whose role may call the route but for whom the event is not theirs: 404.
NOT_THEIRS = {"on_scene": {"tm2"}, "resolve": {"tm2"}, "evidence": {"tm2"}, "team_position": {"tm2"}}

# (name, who may, state the event must be in, request builder)
WRITES = [
    ("ingest", {"op", "adm", "det"}, None,
     lambda c, h, e: c.post("/api/v1/candidates", json=candidate(), headers=h)),
    ("review", {"op", "adm"}, "alerted",
     lambda c, h, e: c.post(f"/api/v1/events/{e}/review", json={"decision": "confirm"}, headers=h)),
    ("assign", {"op", "adm"}, "confirmed",
     lambda c, h, e: c.post(f"/api/v1/events/{e}/assign", json={"team_id": "t1"}, headers=h)),
    # tm2 is a ground team, but not the tasked one: refused.
    ("on_scene", {"op", "adm", "tm1"}, "assigned",
     lambda c, h, e: c.post(f"/api/v1/events/{e}/on-scene", headers=h)),
    ("resolve", {"op", "adm", "tm1"}, "on_scene",
     lambda c, h, e: c.post(f"/api/v1/events/{e}/resolve", data={"disposition": "removed"}, headers=h)),
    ("evidence", {"op", "adm", "tm1"}, "assigned",
     lambda c, h, e: c.post(f"/api/v1/events/{e}/evidence", files={"photo": ("p.png", _png(), "image/png")},
                            headers=h)),
    ("add_drone", {"adm"}, None,
     lambda c, h, e: c.post("/api/v1/drones", json={"id": "d9", "name": "D9", "dock_lat": 29.5,
                                                   "dock_lon": 120.9}, headers=h)),
    ("add_team", {"adm"}, None,
     lambda c, h, e: c.post("/api/v1/teams", json={"id": "t9", "name": "T9", "lat": 29.5, "lon": 120.9},
                            headers=h)),
    ("add_user", {"adm"}, None,
     lambda c, h, e: c.post("/api/v1/users", json={"username": "new", "password": "long-enough-pw",
                                                  "role": "operator"}, headers=h)),
    ("team_position", {"tm1"}, None,
     lambda c, h, e: c.put("/api/v1/teams/t1/position", json={"lat": 29.5, "lon": 120.9}, headers=h)),
]
CASES = [(w, role) for w in WRITES for role in ROLES]


@pytest.mark.parametrize(("write", "role"), CASES, ids=[f"{w[0]}-{r}" for w, r in CASES])
def test_write_endpoint_role(client: TestClient, headers: dict, write, role: str) -> None:
    _name, allowed, state, call = write
    eid = _event_in(client, headers, state) if state else None
    r = call(client, headers[role], eid)
    if role in allowed:
        assert r.status_code in (200, 201), r.text
    elif role in NOT_THEIRS.get(_name, ()):
        assert r.status_code == 404, r.text
    else:
        assert r.status_code == 403, r.text
        assert "may not" in r.json()["detail"] or "team" in r.json()["detail"]


def test_no_token_is_401(client: TestClient) -> None:
    r = client.post("/api/v1/candidates", json=candidate())
    assert r.status_code == 401


def test_forged_token_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/events", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401 and "log in" in r.json()["detail"]


def test_evaluator_reads_but_cannot_write(client: TestClient, headers: dict) -> None:
    assert client.get("/api/v1/events", headers=headers["eva"]).status_code == 200
    assert client.get("/api/v1/metrics/summary", headers=headers["eva"]).status_code == 200


def test_ground_team_sees_only_its_own_tasks_and_events(client: TestClient, headers: dict) -> None:
    mine = _event_in(client, headers, "assigned")  # tasked to t1
    other = _event_in(client, headers, "alerted")
    listed = client.get("/api/v1/events", headers=headers["tm1"]).json()
    assert [e["id"] for e in listed["items"]] == [mine]
    assert client.get(f"/api/v1/events/{other}", headers=headers["tm1"]).status_code == 404
    assert client.get("/api/v1/events", headers=headers["tm2"]).json()["total"] == 0
    tasks = client.get("/api/v1/tasks", headers=headers["tm1"]).json()
    assert [(t["event_id"], t["team_id"]) for t in tasks] == [(mine, "t1")]
    assert client.get("/api/v1/tasks", headers=headers["tm2"]).json() == []
    task_id = tasks[0]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/accept", headers=headers["tm2"]).status_code == 404
    r = client.post(f"/api/v1/tasks/{task_id}/accept", headers=headers["tm1"])
    assert r.json()["state"] == "accepted"


def test_login_with_password(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "op", "password": "flyonce-demo"})
    assert r.status_code == 200 and r.json()["role"] == "operator"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["username"] == "op"
    bad = client.post("/api/v1/auth/token", data={"username": "op", "password": "wrong-password"})
    assert bad.status_code == 401


def test_an_admin_creates_a_department_account_that_names_its_department(
        client: TestClient, headers: dict) -> None:
    body = {"username": "smj", "password": "long-enough-pw", "role": "department"}
    missing = client.post("/api/v1/users", json=body, headers=headers["adm"])
    assert missing.status_code == 422 and "department" in missing.json()["detail"]
    made = client.post("/api/v1/users", json={**body, "department": "市场监管"}, headers=headers["adm"])
    assert made.status_code == 201, made.text
    assert (made.json()["role"], made.json()["department"]) == ("department", "市场监管")
    other = client.post("/api/v1/users", json={"username": "op9", "password": "long-enough-pw",
                                                "role": "operator", "department": "市场监管"},
                        headers=headers["adm"])
    assert other.status_code == 422 and "only for department users" in other.json()["detail"]
