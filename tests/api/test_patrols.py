"""Department patrol requests (综合飞一次) in the service: filing with roles, area checks, a week
planned into merged flights and stored, the scheduler flying a due flight on a simulated copter
over MAVLink, and the findings of that flight shown under the request."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from api.core import db
from api.core.auth import create_token
from api.core.errors import Conflict
from api.core.models import Event, PatrolFlight, User
from api.core.settings import Settings
from api.patrols.scheduler import PatrolScheduler
from dispatch.dispatcher import DroneView
from dispatch.link import Telemetry
from geofence import sample_town
from simulators.clock import SimClock
from simulators.fleet import Fleet
from tests.api.conftest import (
    START,
    TEST_SECRET,
    TEST_TOKEN_TTL_S,
    ManualClock,
    candidate,
    demo_hash,
    seed_fleet,
    wait_for,
    write_fleet_file,
)

TOWN = sample_town()
LOCAL = ZoneInfo("Asia/Shanghai")
MONDAY = "2026-11-30"  # the week after START (Wednesday 2026-11-25)
# Monday 08:00 in Shanghai (UTC+8, no daylight saving) is 00:00 UTC.
MONDAY_0800_UTC = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def rect(west: float, south: float, east: float, north: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


# Two 290 m x 220 m blocks west of Dongyuan that share their middle third, near drone d1's dock
# (29.50, 120.90); d2's dock (29.49, 120.91) is ~1.4 km away.
AREA_A = rect(120.9000, 29.5000, 120.9030, 29.5020)
AREA_B = rect(120.9020, 29.5000, 120.9050, 29.5020)


def bearer(name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


OP, EVA, TM1 = bearer("op", "operator"), bearer("eva", "evaluator"), bearer("tm1", "ground_team")
MKT = bearer("mkt", "department")  # 市场监管
CG = bearer("cg", "department")  # 城管


def add_departments(engine) -> None:
    with Session(engine) as session:
        session.add(User(username="mkt", password_hash=demo_hash(), role="department",
                         department="市场监管", created_at=START))
        session.add(User(username="cg", password_hash=demo_hash(), role="department",
                         department="城管", created_at=START))
        session.commit()


def request_body(**overrides) -> dict:
    body = {"title": "market street, mornings", "area": AREA_A, "looks_for": ["street_stall"],
            "window": {"start": "08:00", "end": "12:00"}, "weekdays": ["mon"], "per_day": 1}
    body.update(overrides)
    return body


@pytest.fixture
def dept_client(client: TestClient) -> TestClient:
    add_departments(client.app.state.engine)
    return client


# ---------------------------------------------------------------- filing and roles

def test_departments_file_list_and_withdraw_their_own_requests_only(dept_client: TestClient) -> None:
    c = dept_client
    mine = c.post("/api/v1/patrol-requests", json=request_body(), headers=MKT)
    assert mine.status_code == 201, mine.text
    assert mine.json()["department"] == "市场监管"  # a department account files for itself
    assert mine.json()["window"] == {"start": "08:00", "end": "12:00", "tz": "Asia/Shanghai"}

    other = c.post("/api/v1/patrol-requests", json=request_body(department="城管"), headers=MKT)
    assert other.status_code == 403
    assert "files for its own department only" in other.json()["detail"]
    assert "'市场监管', not '城管'" in other.json()["detail"]

    by_op = c.post("/api/v1/patrol-requests", json=request_body(department="城管", title="t"),
                   headers=OP)
    assert by_op.status_code == 201 and by_op.json()["created_by"] == "op"
    nameless = c.post("/api/v1/patrol-requests", json=request_body(), headers=OP)
    assert nameless.status_code == 422 and "department is required" in nameless.json()["detail"]
    assert c.post("/api/v1/patrol-requests", json=request_body(department="x"),
                  headers=EVA).status_code == 403  # evaluators read, never file
    assert c.get("/api/v1/patrol-requests", headers=TM1).status_code == 403

    assert [r["department"] for r in c.get("/api/v1/patrol-requests", headers=EVA).json()] == \
        ["市场监管", "城管"]
    assert [r["id"] for r in c.get("/api/v1/patrol-requests", headers=MKT).json()] == \
        [mine.json()["id"]]
    # another department's request is answered like a missing one (issue 33)
    foreign = c.get(f"/api/v1/patrol-requests/{by_op.json()['id']}", headers=MKT)
    assert foreign.status_code == 404 and "城管" not in foreign.json()["detail"]
    assert c.delete(f"/api/v1/patrol-requests/{by_op.json()['id']}", headers=MKT).status_code == 404

    gone = c.delete(f"/api/v1/patrol-requests/{mine.json()['id']}", headers=MKT)
    assert gone.status_code == 200 and gone.json()["status"] == "withdrawn"
    assert c.get("/api/v1/patrol-requests", headers=MKT).json() == []
    kept = c.get("/api/v1/patrol-requests?include_withdrawn=true", headers=MKT).json()
    assert [r["status"] for r in kept] == ["withdrawn"]  # withdrawn, never lost


def test_a_department_account_without_a_department_is_told_to_ask_an_admin(
        client: TestClient) -> None:
    with Session(client.app.state.engine) as session:
        session.add(User(username="nodept", password_hash=demo_hash(), role="department",
                         created_at=START))
        session.commit()
    answer = client.post("/api/v1/patrol-requests", json=request_body(),
                         headers=bearer("nodept", "department"))
    assert answer.status_code == 403 and "ask an admin" in answer.json()["detail"]


@pytest.mark.parametrize(("area", "says"), [
    ({"type": "Polygon", "coordinates": [[[120.900, 29.500], [120.903, 29.500],
                                          [120.903, 29.502], [120.900, 29.502]]]}, "not closed"),
    # a bow tie: the edges (0,0)-(1,1) and (1,0)-(0,1) cross
    ({"type": "Polygon", "coordinates": [[[120.900, 29.500], [120.903, 29.502],
                                          [120.903, 29.500], [120.900, 29.502],
                                          [120.900, 29.500]]]}, "Self-intersection"),
    # 0.4 degrees of latitude north of the town: ~44 km away
    (rect(120.900, 29.900, 120.903, 29.902), "km from the town's zones"),
    # lat and lon swapped: 120.9 is no latitude
    ({"type": "Polygon", "coordinates": [[[29.500, 120.900], [29.502, 120.900],
                                          [29.502, 120.903], [29.500, 120.900]]]},
     "outside the WGS84 range"),
    ({"type": "Point", "coordinates": [120.9, 29.5]}, "must be a GeoJSON Polygon"),
    ({"type": "Polygon", "coordinates": [[[120.900, 29.500], [120.903, 29.500],
                                          [120.900, 29.500], [120.900, 29.500]]]},
     "at least 3 distinct corners"),
])
def test_a_bad_area_is_refused_with_what_to_fix(dept_client: TestClient, area: dict,
                                                says: str) -> None:
    answer = dept_client.post("/api/v1/patrol-requests", json=request_body(area=area), headers=MKT)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["detail"]
    assert dept_client.get("/api/v1/patrol-requests", headers=MKT).json() == []


@pytest.mark.parametrize(("changes", "says"), [
    ({"window": {"start": "08:00", "end": "08:00"}}, "ambiguous"),
    ({"window": {"start": "8am", "end": "12:00"}}, "write HH:MM"),
    # 4 passes in 40 minutes leave 10 minutes each, under the planner's 15-minute pass
    ({"window": {"start": "08:00", "end": "08:40"}, "per_day": 4}, "ask for fewer passes"),
    ({"weekdays": ["funday"]}, "weekdays must be a non-empty list"),
    ({"valid_from": "2026-12-10", "valid_to": "2026-12-01"}, "before valid_from"),
])
def test_a_window_that_cannot_be_planned_is_refused(dept_client: TestClient, changes: dict,
                                                    says: str) -> None:
    answer = dept_client.post("/api/v1/patrol-requests", json=request_body(**changes), headers=MKT)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["detail"]


# ---------------------------------------------------------------- planning

def test_two_overlapping_requests_in_one_window_fly_as_one_stored_flight(
        dept_client: TestClient) -> None:
    c = dept_client
    a = c.post("/api/v1/patrol-requests", json=request_body(area=AREA_A), headers=MKT).json()
    b = c.post("/api/v1/patrol-requests", json=request_body(area=AREA_B, title="east block",
                                                           looks_for=["占道"]), headers=CG).json()
    assert c.post(f"/api/v1/patrol-plan?week={MONDAY}", headers=MKT).status_code == 403
    planned = c.post("/api/v1/patrol-plan?week=2026-12-02", headers=OP)  # any day of the week
    assert planned.status_code == 200, planned.text
    plan = planned.json()
    assert (plan["first_day"], plan["last_day"]) == ("2026-11-30", "2026-12-06")
    # one Monday window each: two passes; merged they are one flight, alone two
    assert plan["slots"] == 2 and plan["unserved"] == []
    assert plan["merged"]["flights"] == 1 and plan["alone"]["flights"] == 2
    assert plan["saving"]["flights_pct"] == 50.0
    # the union (a 500 m block) is swept once: shorter than the two 300 m blocks one by one,
    # longer than either alone
    assert plan["alone"]["length_km"] / 2 < plan["merged"]["length_km"] < plan["alone"]["length_km"]
    [flight] = plan["flights"]
    assert flight["drone_id"] == "d1"  # its dock is at the blocks' corner; d2's is 1.4 km off
    assert flight["state"] == "planned"
    # both windows open Monday 08:00 local: the flight starts then and ends inside the window
    assert flight["planned_start"] == MONDAY_0800_UTC.isoformat()
    assert datetime.fromisoformat(flight["planned_end"]) <= MONDAY_0800_UTC + timedelta(hours=4)
    assert sorted((s["request_id"], s["slot_start"]) for s in flight["serves"]) == \
        [(a["id"], MONDAY_0800_UTC.isoformat()), (b["id"], MONDAY_0800_UTC.isoformat())]
    # its path sweeps both blocks: it reaches the east edge of B and the west edge of A
    lons = [p[0] for p in flight["path"]["coordinates"]]
    assert min(lons) < 120.9005 and max(lons) > 120.9045

    # stored: listed by period, under each request, and a second plan replaces it
    listed = c.get("/api/v1/patrol-flights", params={"since": "2026-11-30T00:00:00Z",
                                                     "until": "2026-12-07T00:00:00Z"},
                   headers=EVA).json()
    assert [f["id"] for f in listed["flights"]] == [flight["id"]]
    assert listed["plans"][0]["merged"]["flights"] == 1
    assert [f["id"] for f in c.get(f"/api/v1/patrol-requests/{b['id']}",
                                   headers=CG).json()["flights"]] == [flight["id"]]
    mkt_view = c.get("/api/v1/patrol-flights", headers=MKT).json()["flights"]
    assert [f["id"] for f in mkt_view] == [flight["id"]]
    again = c.post(f"/api/v1/patrol-plan?week={MONDAY}", headers=OP).json()
    after = c.get("/api/v1/patrol-flights", headers=EVA).json()["flights"]
    assert [f["plan_id"] for f in after] == [again["plan_id"]]  # one flight, of the new plan
    assert again["plan_id"] != plan["plan_id"]

    # withdrawing one request keeps the flight (it still serves the other); both cancel it
    first = c.delete(f"/api/v1/patrol-requests/{a['id']}", headers=MKT).json()
    assert first["cancelled_flight_ids"] == []
    second = c.delete(f"/api/v1/patrol-requests/{b['id']}", headers=CG).json()
    assert second["cancelled_flight_ids"] == [after[0]["id"]]
    cancelled = c.get("/api/v1/patrol-flights", headers=EVA).json()["flights"][0]
    assert cancelled["state"] == "cancelled" and "withdrawn" in cancelled["reason"]


def test_a_due_flight_without_a_fleet_fails_saying_why(dept_client: TestClient, clock) -> None:
    c = dept_client
    c.post("/api/v1/patrol-requests", json=request_body(), headers=MKT)
    flight = c.post(f"/api/v1/patrol-plan?week={MONDAY}", headers=OP).json()["flights"][0]
    time.sleep(0.3)
    assert c.get("/api/v1/patrol-flights", headers=OP).json()["flights"][0]["state"] == "planned"
    clock.t = MONDAY_0800_UTC + timedelta(seconds=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stored = c.get("/api/v1/patrol-flights", headers=OP).json()["flights"][0]
        if stored["state"] != "planned":
            break
        time.sleep(0.1)
    assert stored["id"] == flight["id"] and stored["state"] == "failed"
    assert "no fleet is connected" in stored["reason"]
    assert stored["ended_at"] == clock.t.isoformat()


def test_a_plan_without_drones_says_how_to_add_them(settings: Settings, clock) -> None:
    app = create_app(settings, clock=clock)
    with TestClient(app) as c:  # no drones registered, no fleet
        add_departments(app.state.engine)
        c.post("/api/v1/patrol-requests", json=request_body(), headers=MKT)
        with Session(app.state.engine) as session:
            session.add(User(username="op", password_hash=demo_hash(), role="operator",
                             created_at=START))
            session.commit()
        answer = c.post(f"/api/v1/patrol-plan?week={MONDAY}", headers=OP)
    assert answer.status_code == 409 and "register drones" in answer.json()["detail"]


# ---------------------------------------------------------------- the scheduler alone

class FakeFleet:
    """A unit-test stand-in for the dispatch worker: one drone whose state the test sets."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.dispatcher = self
        self.available, self.reason = True, ""
        self.landed_state, self.armed = "ON_GROUND", False
        self.uploads: list[tuple[str, list]] = []
        self.refuse: str | None = None

    def drones(self) -> list[DroneView]:
        t = Telemetry(lat=29.5, lon=120.9, battery_pct=90.0, landed_state=self.landed_state,
                      armed=self.armed, connected=True, last_heartbeat_at=self.clock.now(),
                      system_status="ACTIVE")
        return [DroneView("d1", "D1", "tcp:x:1", 29.5, 120.9, t, self.available, self.reason,
                          None, False, None)]

    async def patrol(self, drone_id: str, waypoints: list) -> int:
        if self.refuse:
            raise Conflict(self.refuse)
        self.uploads.append((drone_id, waypoints))
        return len(waypoints) + 3


def test_the_scheduler_waits_for_a_busy_drone_then_fails_late_and_follows_a_flight_to_the_ground(
        db_url: str) -> None:
    engine = db.create_db_engine(db_url)
    db.upgrade(engine)
    t0 = MONDAY_0800_UTC
    path = [(120.9001, 29.5001), (120.9029, 29.5001), (120.9029, 29.5019)]  # [lon, lat]

    def flight(start: datetime) -> int:
        with Session(engine) as session:
            row = PatrolFlight(drone_id="d1", planned_start=start,
                               planned_end=start + timedelta(minutes=5), duration_s=300,
                               length_m=900, path_geojson=json.dumps(
                                   {"type": "LineString", "coordinates": path}),
                               created_at=t0)
            session.add(row)
            session.commit()
            return row.id

    def stored(flight_id: int) -> PatrolFlight:
        with Session(engine) as session:
            return session.get(PatrolFlight, flight_id)

    clock = ManualClock(t0)
    fleet = FakeFleet(clock)
    scheduler = PatrolScheduler(engine=engine, clock=clock, worker=fleet, late_s=900)
    tick = lambda: asyncio.run(scheduler.tick())

    busy = flight(t0)
    fleet.available, fleet.reason = False, "busy with event 7"
    clock.advance(1)
    tick()
    row = stored(busy)
    assert (row.state, row.reason) == ("planned", "waiting: drone d1 is unavailable: busy with event 7")
    clock.advance(900)  # 901 s after its planned start, past the 900 s it may be late
    tick()
    row = stored(busy)
    assert row.state == "failed" and row.ended_at == clock.now()
    assert row.reason == ("not started: drone d1 is unavailable: busy with event 7 "
                          "(still so 901 s after its planned start)")
    assert fleet.uploads == []

    flown = flight(t0 + timedelta(seconds=1000))
    fleet.available, fleet.reason = True, ""
    clock.t = t0 + timedelta(seconds=1000)
    tick()
    row = stored(flown)
    assert (row.state, row.started_at) == ("flying", clock.now())
    assert fleet.uploads == [("d1", [(lat, lon) for lon, lat in path])]  # (lat, lon) for MAVLink
    fleet.armed = True  # armed on the ground, not yet up: still flying, not done
    clock.advance(5)
    tick()
    fleet.landed_state = "IN_AIR"
    clock.advance(100)
    tick()
    assert stored(flown).state == "flying"
    fleet.landed_state, fleet.armed = "ON_GROUND", False
    clock.advance(200)
    tick()
    row = stored(flown)
    assert (row.state, row.ended_at, row.reason) == ("done", clock.now(), None)

    refused = flight(clock.now())
    fleet.refuse = "drone d1 cannot patrol: link lost (4 s since the last heartbeat)"
    tick()
    row = stored(refused)  # the upload failed: back to planned, retried at the next tick
    assert (row.state, row.started_at) == ("planned", None)
    assert row.reason == f"waiting: {fleet.refuse}"
    engine.dispose()


# ---------------------------------------------------------------- flying on the simulator

# A 145 m x 145 m block south-east of the south dock (29.48827, 120.90619), clear of the
# school's no-fly zone north of it.
SOUTH_BLOCK = rect(120.9075, 29.4865, 120.9090, 29.4878)
INSIDE = (29.4871, 120.9082)
OUTSIDE = (29.4890, 120.9010)  # ~600 m north-west of the block
# Inside the block too, 73 m from INSIDE: another stall, not a second look at the first.
ELSEWHERE = (29.4876, 120.9077)


@pytest.fixture
def flying(db_url: str, tmp_path: Path):
    fleet = Fleet.start(TOWN.docks, clock=SimClock(10.0), base_tcp_port=0)
    fleet_file = write_fleet_file(tmp_path / "fleet.toml", TOWN.docks, fleet.vehicles)
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path,
                        secret_key=TEST_SECRET, fleet_file=fleet_file, auto_assign=False,
                        drone_state_period_s=0.1, fleet_connect_timeout_s=5, patrol_tick_s=0.1)
    app = create_app(settings, clock=fleet.clock)
    try:
        with TestClient(app) as client:
            seed_fleet(app.state.engine)
            add_departments(app.state.engine)
            yield client, fleet
    finally:
        fleet.stop()



# One backend: what this test is about (the dispatcher and the drones) does not depend on the
# database; the lifecycle, claims and races are tested on both (CI time, issue 33's budget).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_scheduler_flies_a_due_flight_and_links_what_its_drone_finds(flying) -> None:
    client, fleet = flying
    south = next(v for d, v in zip(TOWN.docks, fleet.vehicles) if d.id == "dock-south")
    wait_for(lambda: client.get("/api/v1/dispatch/drones", headers=OP).json(),
             lambda ds: len(ds) == 3 and all(d["available"] for d in ds), 20)
    # a window opening two minutes of mission time from now (12 s of wall time at 10x)
    now_local = fleet.clock.now().astimezone(LOCAL)
    opens = (now_local + timedelta(minutes=2)).replace(second=0, microsecond=0)
    closes = opens + timedelta(hours=1)
    made = client.post("/api/v1/patrol-requests", headers=MKT, json=request_body(
        area=SOUTH_BLOCK, weekdays=[("mon", "tue", "wed", "thu", "fri", "sat", "sun")[opens.weekday()]],
        window={"start": f"{opens:%H:%M}", "end": f"{closes:%H:%M}"}))
    assert made.status_code == 201, made.text
    plan = client.post(f"/api/v1/patrol-plan?week={opens.date().isoformat()}", headers=OP).json()
    [flight] = plan["flights"]
    assert flight["drone_id"] == "dock-south"  # the block is 200 m from it, 1.5 km+ from the rest
    assert datetime.fromisoformat(flight["planned_start"]) == opens.astimezone(UTC)

    def stored() -> dict:
        return client.get(f"/api/v1/patrol-requests/{made.json()['id']}",
                          headers=MKT).json()["flights"][0]

    flying_now = wait_for(stored, lambda f: f["state"] != "planned", 40)
    assert flying_now["state"] == "flying", flying_now
    assert datetime.fromisoformat(flying_now["started_at"]) >= opens.astimezone(UTC)
    # the mission went over MAVLink: takeoff, the planned waypoints, RTL (and home as item 0).
    # The flight is claimed ("flying") before its upload, so the upload may still be under way.
    expected_items = len(flight["path"]["coordinates"]) + 3
    assert wait_for(lambda: south.state.mission_count, lambda n: n == expected_items, 20) == expected_items
    wait_for(lambda: south.state.landed_state, lambda s: s == "IN_AIR", 30)

    # the drone's detector reports two findings during the flight; another drone one
    def report(lat: float, lon: float, drone_id: str) -> dict:
        answer = client.post("/api/v1/candidates", headers=bearer("det", "detector"),
                             json=candidate(lat=lat, lon=lon, drone_id=drone_id))
        assert answer.status_code == 201, answer.text
        return answer.json()

    inside = report(*INSIDE, "dock-south")
    outside = report(*OUTSIDE, "dock-south")
    elsewhere = report(*ELSEWHERE, "dock-west")
    with Session(client.app.state.engine) as session:
        links = {e["id"]: session.get(Event, e["id"]).patrol_flight_id
                 for e in (inside, outside, elsewhere)}
    assert links == {inside["id"]: flight["id"], outside["id"]: flight["id"],
                     elsewhere["id"]: None}

    done = wait_for(stored, lambda f: f["state"] != "flying", 90)
    assert done["state"] == "done", done
    assert south.state.landed_state == "ON_GROUND" and not south.state.armed
    # the simulated copter flies the planner's own DroneModel: mission time close to the plan;
    # the stored span also holds the upload and arming before take-off and the disarm after
    # landing (measured 170 s against 150 s planned), hence the wide margin
    flown_s = (datetime.fromisoformat(done["ended_at"])
               - datetime.fromisoformat(done["started_at"])).total_seconds()
    assert flown_s == pytest.approx(flight["duration_s"], rel=0.35)

    detail = client.get(f"/api/v1/patrol-requests/{made.json()['id']}", headers=MKT).json()
    # only the finding inside the request's area shows under it
    assert [(f["id"], f["type"], f["state"], f["patrol_flight_id"]) for f in detail["findings"]] \
        == [(inside["id"], "street_stall", "alerted", flight["id"])]


# ---------------------------------------------------------------- command line

def flyonce(*args: str, data_dir: Path, url: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLYONCE_DATA_DIR": str(data_dir)}
    env.pop("FLYONCE_DATABASE_URL", None)
    if url:
        env["FLYONCE_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "api", *args], env=env, capture_output=True,
                          check=False,
                          text=True, timeout=300)


def test_users_add_makes_a_department_account(tmp_path: Path) -> None:
    done = flyonce("users", "add", "mkt", "--role", "department", "--department", "市场监管",
                   "--password", "s3cret-pass", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "created user mkt (department, 市场监管)" in done.stdout
    engine = db.create_db_engine(f"sqlite:///{tmp_path / 'flyonce.db'}")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "mkt")).one()
        assert (user.role, user.department) == ("department", "市场监管")
    engine.dispose()
    missing = flyonce("users", "add", "x", "--role", "department", "--password", "s3cret-pass",
                      data_dir=tmp_path)
    assert missing.returncode == 2 and "needs --department" in missing.stderr


def test_patrols_plan_stores_a_week_of_stored_requests(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'flyonce.db'}"
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    seed_fleet(engine)
    engine.dispose()
    app = create_app(Settings(_env_file=None, database_url=url, data_dir=tmp_path,
                              secret_key=TEST_SECRET))
    with TestClient(app) as c:
        add_departments(app.state.engine)
        for area in (AREA_A, AREA_B):
            assert c.post("/api/v1/patrol-requests", json=request_body(area=area),
                          headers=MKT).status_code == 201
    # a week far ahead, so that no flight is already due on the wall clock
    done = flyonce("patrols", "plan", "--week", "2030-01-07", data_dir=tmp_path, url=url)
    assert done.returncode == 0, done.stderr
    assert "2 passes -> 1 merged flights" in done.stdout and "vs 2 flights" in done.stdout
    assert "50.0 % fewer flights" in done.stdout
