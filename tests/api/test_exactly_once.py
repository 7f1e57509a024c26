"""Exactly once, however many processes race: two real `serve` processes on one database
(a SQLite file, and PostgreSQL when configured), sharing alerts through Redis, both linked to
the same simulated fleet with auto-assign on, fired at concurrently through both.

What must hold, counted in the database and in the air:
- 50 candidates for one stall, half through each process, in the same second → one event with
  50 sightings, one `detected` and one `alerted` row;
- 50 confirmations → one `alerted → confirmed` row, 49 refusals (409);
- the auto-assign in both processes → one `confirmed → assigned` row, one drone task, and one
  copter airborne (the other process never commands one);
- a second event confirmed while 50 operators assign a team by hand → still one
  `confirmed → assigned` row, one team task and one live drone task.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from api.core.auth import create_token
from geofence import sample_town
from simulators.clock import SimClock
from simulators.fleet import Fleet
from tests.api.conftest import (
    REDIS_URL,
    TEST_SECRET,
    TEST_TOKEN_TTL_S,
    ServerProcess,
    candidate,
    prepare_db,
    server_env,
    wait_for,
    write_fleet_file,
)

pytestmark = pytest.mark.slow

TOWN = sample_town()
NANYUAN = (29.4941, 120.9062)  # residential, ~0.7 km from the south dock
M_PER_DEG_LAT = 110_843.7  # at 29.49° (tests/api/test_offences.py)
RACERS = 50


def auth(name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


OP, DET = auth("op", "operator"), auth("det", "detector")


@pytest.fixture
def cluster(db_url: str, tmp_path: Path):
    url = prepare_db(db_url)
    fleet = Fleet.start(TOWN.docks, clock=SimClock(10.0), base_tcp_port=0)
    fleet_file = write_fleet_file(tmp_path / "fleet.toml", TOWN.docks, fleet.vehicles)
    env = server_env(url, tmp_path, FLYONCE_REDIS_URL=REDIS_URL,
                     FLYONCE_REDIS_CHANNEL=f"flyonce:test:{uuid.uuid4().hex}",
                     FLYONCE_FLEET_FILE=str(fleet_file), FLYONCE_AUTO_ASSIGN="true",
                     FLYONCE_SIM_CLOCK=fleet.clock.spec(), FLYONCE_MERGE_RADIUS_M="15",
                     FLYONCE_DRONE_STATE_PERIOD_S="0.2", FLYONCE_FLEET_CONNECT_TIMEOUT_S="5")
    servers: list[ServerProcess] = []
    try:
        servers = [ServerProcess(env), ServerProcess(env)]
        for server in servers:  # both processes hold links to every copter
            wait_for(lambda s=server: httpx.get(f"{s.url}/api/v1/dispatch/drones", headers=OP,
                                                timeout=10).json(),
                     lambda ds: len(ds) == 3 and all(d["available"] for d in ds), 60)
        yield servers, fleet
    finally:
        for server in servers:
            server.stop()
        fleet.stop()


class Takeoffs:
    """Which copters have been armed since the start: polled every 20 ms in a thread, so a drone
    that flew and already came home still counts."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet, self.armed = fleet, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.armed |= {v.sysid for v in self.fleet.vehicles if v.state.armed}

    def stop(self) -> set[int]:
        self._stop.set()
        self._thread.join(2)
        return self.armed


def race(servers: list[ServerProcess], calls: list) -> list[httpx.Response]:
    """``calls[i](base_url)`` for every i at once, alternating between the processes."""
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda ic: ic[1](servers[ic[0] % 2].url), enumerate(calls)))


def audit(server: ServerProcess, event_id: int) -> list[dict]:
    r = httpx.get(f"{server.url}/api/v1/events/{event_id}/audit", headers=OP, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def transitions(rows: list[dict]) -> Counter:
    return Counter((r["from_state"], r["to_state"]) for r in rows if r["from_state"] != r["to_state"])


def test_one_event_one_row_one_drone_however_many_processes_race(cluster) -> None:
    servers, fleet = cluster
    a = servers[0]
    takeoffs = Takeoffs(fleet)

    # 50 looks at one stall, up to 3 m apart, from 50 sources, through both processes at once
    def look(k: int):
        body = candidate(source=f"detector:drone-{k}", drone_id=f"drone-{k}",
                         lat=NANYUAN[0] + (k % 7 - 3) / M_PER_DEG_LAT, lon=NANYUAN[1])
        return lambda url: httpx.post(f"{url}/api/v1/candidates", json=body, headers=DET,
                                      timeout=60)

    answers = race(servers, [look(k) for k in range(RACERS)])
    assert sorted(r.status_code for r in answers) == [200] * (RACERS - 1) + [201]
    [event_id] = {r.json()["id"] for r in answers}
    event = httpx.get(f"{a.url}/api/v1/events/{event_id}", headers=OP, timeout=10).json()
    assert event["candidates"] == RACERS and len(event["all_sightings"]) == RACERS
    assert httpx.get(f"{a.url}/api/v1/events", headers=OP).json()["total"] == 1
    rows = audit(a, event_id)
    assert transitions(rows) == Counter({(None, "detected"): 1, ("detected", "alerted"): 1})
    assert sum("merged" in (r["reason"] or "") for r in rows) == RACERS - 1

    # 50 confirmations: one goes through
    confirm = lambda url: httpx.post(f"{url}/api/v1/events/{event_id}/review",
                                     json={"decision": "confirm"}, headers=OP, timeout=60)
    answers = race(servers, [confirm] * RACERS)
    assert sorted(r.status_code for r in answers) == [200] + [409] * (RACERS - 1)

    # both processes hear of it (Redis) and both would auto-assign: one drone goes
    flown = wait_for(lambda: httpx.get(f"{a.url}/api/v1/events/{event_id}", headers=OP).json(),
                     lambda e: e["state"] == "on_scene", 120)
    moves = transitions(audit(a, event_id))
    assert moves[("alerted", "confirmed")] == 1 and moves[("confirmed", "assigned")] == 1
    drone_tasks = [t for t in flown["tasks"] if t["kind"] == "drone"]
    assert len(drone_tasks) == 1
    assert len(takeoffs.armed) == 1, takeoffs.armed  # the other process never sent one

    # a second event: confirmed (auto-assign flies a drone) while 50 operators assign a team
    second = httpx.post(f"{a.url}/api/v1/candidates", headers=DET, json=candidate(
        type="mobile_fuel_sale", lat=NANYUAN[0] + 200 / M_PER_DEG_LAT, lon=NANYUAN[1]))
    assert second.status_code == 201, second.text
    second_id = second.json()["id"]
    assert httpx.post(f"{a.url}/api/v1/events/{second_id}/review", headers=OP,
                      json={"decision": "confirm"}).status_code == 200
    assign = lambda url: httpx.post(f"{url}/api/v1/events/{second_id}/assign",
                                    json={"team_id": "t1", "reason": "by hand"}, headers=OP,
                                    timeout=60)
    answers = race(servers, [assign] * RACERS)
    assert all(r.status_code in (200, 409) for r in answers), [r.text for r in answers][:3]
    assert sum(r.status_code == 200 for r in answers) <= 1
    done = wait_for(lambda: httpx.get(f"{a.url}/api/v1/events/{second_id}", headers=OP).json(),
                    lambda e: e["state"] == "on_scene", 120)
    moves = transitions(audit(a, second_id))
    assert moves[("confirmed", "assigned")] == 1
    live = [t for t in done["tasks"] if t["state"] != "cancelled"]
    assert Counter(t["kind"] for t in live) == Counter({"drone": 1, "team": 1}), done["tasks"]
    assert len(takeoffs.stop()) == 2  # one drone per event, ever
