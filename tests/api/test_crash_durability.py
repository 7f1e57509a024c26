"""Crash durability: a real `serve` process is SIGKILLed in the middle of a stream of writes and
restarted on the same database (a SQLite file, and PostgreSQL when configured).

What must hold after the restart, counted in the database:
- candidates: every acknowledged candidate is stored; after all of them are posted again, each
  is stored exactly once (0 lost, 0 duplicated) with one `detected` audit row;
- a review, an assignment and a resolve with a photo, each killed part-way through a volley:
  every acknowledged change is there once with its one audit row (and its photo on disk, the
  bytes sent), an unacknowledged one is there whole or not at all, and sent again it ends there
  exactly once;
- a drone flying to an event when the service dies is re-linked by the restarted service, not
  re-sent: no second launch, no second drone, one drone task, and an audit row saying so;
- an event queued for want of a drone when the service dies is queued again by the restarted
  one and sent the next drone to come free.

The big numbers (2,000 candidates, killed after ~668) are in tests/bench/bench_reliability.py.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from geofence import sample_town
from simulators.clock import SimClock
from simulators.fleet import Fleet
from tests.api.conftest import (
    ServerProcess,
    candidate,
    prepare_db,
    server_env,
    wait_for,
    write_fleet_file,
)
from tests.api.crash import (
    DET,
    OP,
    TM1,
    assign_calls,
    candidate_calls,
    evidence,
    fire_and_kill,
    kill_9,
    photo_png,
    resolve_calls,
    review_calls,
    sightings_per_key,
    states,
    transitions,
)

pytestmark = pytest.mark.slow

CANDIDATES, KILL_AFTER = 300, 100
EVENTS, KILL_AFTER_EVENTS = 45, 15


@pytest.fixture
def server(db_url: str, tmp_path: Path):
    url = prepare_db(db_url)
    proc = ServerProcess(server_env(url, tmp_path))
    engine = sa.create_engine(url)
    yield proc, engine, tmp_path
    proc.stop()
    engine.dispose()


def test_no_acknowledged_candidate_is_lost_or_stored_twice_across_a_kill_9(server) -> None:
    proc, engine, _ = server
    calls, keys = candidate_calls(CANDIDATES)
    volley = fire_and_kill(proc, calls, kill_after=KILL_AFTER)
    assert len(volley.acked) >= KILL_AFTER and volley.refused == {}
    proc.start()
    before = sightings_per_key(engine, keys)
    assert [k for i, k in enumerate(keys) if i in volley.acked and before[k] != 1] == []  # 0 lost
    stored_before = sum(before.values())

    with httpx.Client(timeout=30) as client:  # everything again, as a retrying detector would
        again = [call(client, proc.url) for call in calls]
    assert all(r.status_code in (200, 201) for r in again), [r.text for r in again][:3]
    # an acknowledged candidate is answered with the event it made the first time
    assert all(again[i].json()["id"] == r.json()["id"] for i, r in volley.acked.items())
    assert sum(r.status_code == 201 for r in again) == CANDIDATES - stored_before

    after = sightings_per_key(engine, keys)
    assert set(after.values()) == {1}  # each stored once: 0 lost, 0 duplicated
    ids = sorted({r.json()["id"] for r in again})
    assert len(ids) == CANDIDATES
    for moves in transitions(engine, ids).values():
        assert moves[(None, "detected")] == 1 and max(moves.values()) == 1


def _check_phase(engine: sa.Engine, ids: list[int], volley, *, before: str, after: set[str],
                 move: tuple[str, str]) -> None:
    """Acknowledged: done once. Not acknowledged: done once, or not at all (never half)."""
    st, moves = states(engine, ids), transitions(engine, ids)
    for i, e in enumerate(ids):
        done = st[e] in after and moves[e][move] == 1
        untouched = st[e] == before and moves[e][move] == 0
        assert done if i in volley.acked else (done or untouched), (e, st[e], moves[e])


def _again(proc: ServerProcess, calls: list, ids: list[int], engine: sa.Engine,
           before: str) -> None:
    """Send the calls of the events the kill left undone; each must now go through."""
    st = states(engine, ids)
    with httpx.Client(timeout=30) as client:
        for call, e in zip(calls, ids):
            if st[e] == before:
                r = call(client, proc.url)
                assert r.status_code == 200, r.text


def test_a_kill_9_during_reviews_assignments_and_resolves_loses_and_doubles_nothing(server):
    proc, engine, data_dir = server
    with httpx.Client(timeout=30) as client:
        ids = [client.post(f"{proc.url}/api/v1/candidates", headers=DET,
                           json=candidate(lat=29.49 + k * 4e-4, lon=120.9)).json()["id"]
               for k in range(EVENTS)]
    assert set(states(engine, ids).values()) == {"alerted"}

    # reviews
    calls = review_calls(ids)
    volley = fire_and_kill(proc, calls, kill_after=KILL_AFTER_EVENTS)
    proc.start()
    _check_phase(engine, ids, volley, before="alerted", after={"confirmed"},
                 move=("alerted", "confirmed"))
    _again(proc, calls, ids, engine, "alerted")

    # assignments of a ground team
    calls = assign_calls(ids)
    volley = fire_and_kill(proc, calls, kill_after=KILL_AFTER_EVENTS)
    proc.start()
    _check_phase(engine, ids, volley, before="confirmed", after={"assigned"},
                 move=("confirmed", "assigned"))
    _again(proc, calls, ids, engine, "confirmed")
    with engine.connect() as conn:
        teams = Counter(e for (e,) in conn.execute(sa.text(
            "SELECT event_id FROM tasks WHERE kind = 'team' AND state <> 'cancelled'")))
    assert all(teams[e] == 1 for e in ids), teams

    # the team checks in everywhere (not killed), then resolves each with a photo
    with httpx.Client(timeout=30) as client:
        for e in ids:
            r = client.post(f"{proc.url}/api/v1/events/{e}/on-scene", headers=TM1)
            assert r.status_code == 200, r.text
    calls = resolve_calls(ids)
    volley = fire_and_kill(proc, calls, kill_after=KILL_AFTER_EVENTS)
    proc.start()
    resolved = {"resolved", "evaluated"}  # evaluated at once when auto-evaluate is on
    _check_phase(engine, ids, volley, before="on_scene", after=resolved,
                 move=("on_scene", "resolved"))
    photos = evidence(engine, ids)
    st = states(engine, ids)
    for e in ids:  # a photo exactly when resolved
        assert len(photos[e]) == (1 if st[e] in resolved else 0), (e, st[e], photos[e])
    _again(proc, calls, ids, engine, "on_scene")

    st, moves, photos = states(engine, ids), transitions(engine, ids), evidence(engine, ids)
    media = data_dir / "media"
    for e in ids:  # the whole trail, each step once, and the photo that was sent, on disk
        assert st[e] in resolved
        assert [moves[e][m] for m in [(None, "detected"), ("detected", "alerted"),
                                      ("alerted", "confirmed"), ("confirmed", "assigned"),
                                      ("assigned", "on_scene"), ("on_scene", "resolved")]] == [1] * 6
        [(path, digest)] = photos[e]
        assert digest == hashlib.sha256(photo_png(e)).hexdigest()
        assert hashlib.sha256((media / path).read_bytes()).hexdigest() == digest


# ---------------------------------------------------------------- missions in flight

TOWN = sample_town()
BEIYUAN = (29.5068, 120.9046)  # 964 m from the northeast dock: ~95 mission s, ~9.5 wall s


class Launches:
    """How many times each copter was armed (False→True), polled every 20 ms."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet, self.count, self._was = fleet, Counter(), {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            for v in self.fleet.vehicles:
                armed = v.state.armed
                if armed and not self._was.get(v.sysid):
                    self.count[v.sysid] += 1
                self._was[v.sysid] = armed

    def stop(self) -> Counter:
        self._stop.set()
        self._thread.join(2)
        return self.count


def test_after_a_kill_9_the_drones_in_flight_are_re_linked_not_re_sent(db_url, tmp_path):
    url = prepare_db(db_url)
    fleet = Fleet.start(TOWN.docks, clock=SimClock(10.0), base_tcp_port=0)
    fleet_file = write_fleet_file(tmp_path / "fleet.toml", TOWN.docks, fleet.vehicles)
    env = server_env(url, tmp_path, FLYONCE_FLEET_FILE=str(fleet_file), FLYONCE_AUTO_ASSIGN="true",
                     FLYONCE_SIM_CLOCK=fleet.clock.spec(), FLYONCE_DRONE_STATE_PERIOD_S="0.2",
                     FLYONCE_FLEET_CONNECT_TIMEOUT_S="5", FLYONCE_DISPATCH_CLAIM_LEASE_S="5")
    launches = Launches(fleet)
    proc = ServerProcess(env)
    northeast = fleet.vehicles[1]
    try:
        wait_for(lambda: httpx.get(f"{proc.url}/api/v1/dispatch/drones", headers=OP).json(),
                 lambda ds: len(ds) == 3 and all(d["available"] for d in ds), 60)
        event_id = httpx.post(f"{proc.url}/api/v1/candidates", headers=DET,
                              json=candidate(lat=BEIYUAN[0], lon=BEIYUAN[1])).json()["id"]
        assert httpx.post(f"{proc.url}/api/v1/events/{event_id}/review", headers=OP,
                          json={"decision": "confirm"}).status_code == 200
        wait_for(lambda: northeast.state.alt_rel_m, lambda alt: alt > 10, 30)
        kill_9(proc)  # en route
        proc.start()

        def event() -> dict:
            return httpx.get(f"{proc.url}/api/v1/events/{event_id}", headers=OP,
                             timeout=10).json()

        wait_for(event, lambda e: e["state"] == "on_scene", 60)
        kill_9(proc)  # holding over the scene
        proc.start()
        audit = wait_for(
            lambda: httpx.get(f"{proc.url}/api/v1/events/{event_id}/audit", headers=OP).json(),
            lambda rows: sum("re-linked" in (r["reason"] or "") for r in rows) == 2, 60)
        # the team checks in: the re-linked mission is live, so its drone is released home
        assert httpx.post(f"{proc.url}/api/v1/events/{event_id}/on-scene",
                          headers=TM1).status_code == 200
        wait_for(lambda: northeast.state.mode, lambda m: m == "RTL", 15)
        detail = wait_for(event, lambda e: all(t["state"] == "done" for t in e["tasks"]
                                               if t["kind"] == "drone"), 10)  # written after the RTL
    finally:
        proc.stop()
        count = launches.stop()
        fleet.stop()

    relinked = [r["reason"] for r in audit if "re-linked" in (r["reason"] or "")]
    assert relinked[0].startswith("drone dock-northeast re-linked after a restart, not re-sent: "
                                  "en route")
    assert relinked[1].startswith("drone dock-northeast re-linked after a restart, not re-sent: "
                                  "holding over the scene")
    moves = Counter((r["from_state"], r["to_state"]) for r in audit
                    if r["from_state"] != r["to_state"])
    assert moves[("confirmed", "assigned")] == 1 and moves[("assigned", "on_scene")] == 1
    drone_tasks = [(t["drone_id"], t["state"]) for t in detail["tasks"] if t["kind"] == "drone"]
    assert drone_tasks == [("dock-northeast", "done")]
    assert count == Counter({northeast.sysid: 1})  # one launch, by one drone, in all


# Near the west dock (about 490 m east of it): the west drone's event.
NEAR_WEST = (29.4991, 120.8940)


# One backend: the subject is the dispatcher's queue across a restart, not the database.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_event_queued_for_want_of_a_drone_is_queued_again_after_a_kill_9(db_url, tmp_path):
    """Two drones, both on events; the northeast one goes silent, and with the west one busy its
    event is queued. The service is killed and restarted: the queue is rebuilt from the database
    (the event is assigned, and no drone task on it is live), so when the west drone is released
    from its own event it is sent to the queued one — before, the event waited for an operator."""
    url = prepare_db(db_url)
    fleet = Fleet.start(TOWN.docks, clock=SimClock(10.0), base_tcp_port=0)
    docks, vehicles = TOWN.docks[:2], fleet.vehicles[:2]  # west and northeast only
    fleet_file = write_fleet_file(tmp_path / "fleet.toml", docks, vehicles)
    env = server_env(url, tmp_path, FLYONCE_FLEET_FILE=str(fleet_file), FLYONCE_AUTO_ASSIGN="true",
                     FLYONCE_SIM_CLOCK=fleet.clock.spec(), FLYONCE_DRONE_STATE_PERIOD_S="0.2",
                     FLYONCE_FLEET_CONNECT_TIMEOUT_S="3", FLYONCE_DISPATCH_CLAIM_LEASE_S="5")
    west, northeast = vehicles
    proc = ServerProcess(env)

    def confirmed(lat: float, lon: float) -> int:
        event_id = httpx.post(f"{proc.url}/api/v1/candidates", headers=DET,
                              json=candidate(lat=lat, lon=lon)).json()["id"]
        assert httpx.post(f"{proc.url}/api/v1/events/{event_id}/review", headers=OP,
                          json={"decision": "confirm"}).status_code == 200
        return event_id

    def audit(event_id: int) -> list[str]:
        return [r["reason"] or "" for r in httpx.get(
            f"{proc.url}/api/v1/events/{event_id}/audit", headers=OP, timeout=10).json()]

    try:
        wait_for(lambda: httpx.get(f"{proc.url}/api/v1/dispatch/drones", headers=OP).json(),
                 lambda ds: len(ds) == 2 and all(d["available"] for d in ds), 60)
        beiyuan = confirmed(*BEIYUAN)
        wait_for(lambda: northeast.state.alt_rel_m, lambda alt: alt > 10, 30)
        near_west = confirmed(*NEAR_WEST)
        wait_for(lambda: west.state.alt_rel_m, lambda alt: alt > 10, 30)
        northeast.drop_link(3000.0)  # silent for the rest of the test (300 wall s at 10x)
        wait_for(lambda: audit(beiyuan), lambda rs: any(r.startswith("no drone sent") for r in rs),
                 30)
        kill_9(proc)
        proc.start()
        wait_for(lambda: audit(near_west), lambda rs: any("re-linked" in r for r in rs), 60)
        assert httpx.post(f"{proc.url}/api/v1/dispatch/events/{near_west}/release",
                          headers=OP).status_code == 200
        reasons = wait_for(lambda: audit(beiyuan),
                           lambda rs: any("came free" in r for r in rs), 30)
        detail = httpx.get(f"{proc.url}/api/v1/events/{beiyuan}", headers=OP).json()
    finally:
        proc.stop()
        fleet.stop()

    [sent] = [r for r in reasons if "came free" in r]
    assert sent.startswith("drone dock-west accepted its first command")
    assert "until dock-west came free" in sent
    drone_tasks = [(t["drone_id"], t["state"]) for t in detail["tasks"] if t["kind"] == "drone"]
    assert drone_tasks[0] == ("dock-northeast", "cancelled")
    assert drone_tasks[-1][0] == "dock-west" and drone_tasks[-1][1] in ("assigned", "on_scene")
