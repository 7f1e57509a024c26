"""One leader in a cluster of `serve` processes (api/core/leader.py).

In-process: the lock itself, on both backends (a PostgreSQL advisory lock on a dedicated
connection, a file lock beside a SQLite file): one holder at a time, and a holder's death frees
it for the other.

Two real `serve` processes (PostgreSQL when configured, else a SQLite file), Redis between them,
linked to one simulated fleet, auto-assign on: the leader flies a drone to a confirmed event and
is killed with SIGKILL before the drone arrives; a second event is confirmed while no process
leads. What must hold:
- the survivor leads within 5 s of the kill (timed from the kill to the first /readyz that says
  so, and /metrics agrees);
- the first event's drone is taken over, not sent afresh: one `confirmed → assigned` row, one
  drone task, it reaches `on_scene`;
- the second event is assigned by the new leader (none dropped), with one drone of its own;
- two copters ever armed, one per event (none assigned twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from api.core.clock import SystemClock
from api.core.leader import Leadership
from geofence import sample_town
from simulators.clock import SimClock
from simulators.fleet import Fleet
from tests.api.conftest import (
    PG_URL,
    REDIS_URL,
    ServerProcess,
    candidate,
    pg_schema_url,
    prepare_db,
    server_env,
    wait_for,
    write_fleet_file,
)
from tests.api.crash import OP, bearer, kill_9
from tests.api.test_exactly_once import NANYUAN, M_PER_DEG_LAT, Takeoffs, audit, transitions

TOWN = sample_town()
ADMIN = bearer("adm", "admin")
TAKEOVER_LIMIT_S = 5.0


# ---------------------------------------------------------------- the lock, in process


async def _two_candidates(url: str) -> None:
    engines = [sa.create_engine(url), sa.create_engine(url)]
    first, second = (Leadership(e, SystemClock(), owner=name, poll_s=0.05)
                     for e, name in zip(engines, "ab"))
    try:
        await first.start()
        await second.start()
        assert (first.is_leader, second.is_leader) == (True, False)
        await asyncio.sleep(0.2)  # the follower keeps trying and keeps failing
        assert (first.is_leader, second.is_leader) == (True, False)
        gained = asyncio.Event()

        async def note() -> None:
            gained.set()

        second.on_gain.append(note)
        await first.stop()  # the holder goes: its connection (or file) is closed
        await asyncio.wait_for(gained.wait(), 2)
        assert second.is_leader and second.changes == 1 and second.since is not None
    finally:
        await first.stop()
        await second.stop()
        for engine in engines:
            engine.dispose()


# On both backends, as every database test here (``db_url``: a SQLite file, and a PostgreSQL
# schema when FLYONCE_TEST_DATABASE_URL is set, which CI requires): no skips.
def test_the_lock_has_one_holder_and_passes_on(db_url: str) -> None:
    asyncio.run(_two_candidates(db_url))


@contextlib.contextmanager
def _another_database(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second database of ``db_url``'s kind: another SQLite file, or another schema."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
    else:
        with pg_schema_url() as url:
            yield url


def test_two_databases_elect_apart(db_url: str, tmp_path: Path) -> None:
    """Each service's database has a leader of its own (on PostgreSQL the lock's key is made
    from the schema, so test schemas on one server do not compete)."""

    async def both() -> None:
        with _another_database(db_url, tmp_path) as other:
            engines = [sa.create_engine(db_url), sa.create_engine(other)]
            leaders = [Leadership(e, SystemClock(), owner=str(i)) for i, e in enumerate(engines)]
            try:
                for leader in leaders:
                    await leader.start()
                assert [leader.is_leader for leader in leaders] == [True, True]
            finally:
                for leader in leaders:
                    await leader.stop()
                for engine in engines:
                    engine.dispose()

    asyncio.run(both())


# ---------------------------------------------------------------- two real processes


def _leader_of(server: ServerProcess) -> bool | None:
    try:
        r = httpx.get(f"{server.url}/readyz", headers=ADMIN, timeout=2)
    except httpx.HTTPError:
        return None
    return r.json()["leader"]["is_leader"]


def _metrics(server: ServerProcess) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _metrics_leader(server: ServerProcess) -> float:
    [value] = [v for (name, _), v in _metrics(server).items() if name == "flyonce_leader"]
    return value


@pytest.fixture
def database(tmp_path: Path):
    if PG_URL:
        with pg_schema_url() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'flyonce.db'}"


@pytest.mark.slow
def test_kill_9_the_leader_mid_mission_and_the_other_takes_over(database: str,
                                                                 tmp_path: Path) -> None:
    url = prepare_db(database)
    fleet = Fleet.start(TOWN.docks, clock=SimClock(10.0), base_tcp_port=0)
    fleet_file = write_fleet_file(tmp_path / "fleet.toml", TOWN.docks, fleet.vehicles)
    # A drone's claim is renewed every 5 state periods (0.5 s wall = 5 mission s); a dead
    # process's claim goes stale after 10 mission s (1 s wall).
    env = server_env(url, tmp_path, FLYONCE_REDIS_URL=REDIS_URL,
                     FLYONCE_REDIS_CHANNEL=f"flyonce:test:{uuid.uuid4().hex}",
                     FLYONCE_FLEET_FILE=str(fleet_file), FLYONCE_AUTO_ASSIGN="true",
                     FLYONCE_SIM_CLOCK=fleet.clock.spec(), FLYONCE_DRONE_STATE_PERIOD_S="0.1",
                     FLYONCE_DISPATCH_CLAIM_LEASE_S="10", FLYONCE_LEADER_POLL_S="0.25",
                     FLYONCE_FLEET_CONNECT_TIMEOUT_S="5")
    servers: list[ServerProcess] = []
    try:
        servers = [ServerProcess(env), ServerProcess(env)]
        for server in servers:
            wait_for(lambda s=server: httpx.get(f"{s.url}/api/v1/dispatch/drones", headers=OP,
                                                timeout=10).json(),
                     lambda ds: len(ds) == 3 and all(d["available"] for d in ds), 60)
        leading = [_leader_of(s) for s in servers]
        assert sorted(leading) == [False, True], leading
        leader, other = (servers if leading[0] else servers[::-1])
        assert (_metrics_leader(leader), _metrics_leader(other)) == (1.0, 0.0)
        seen = _metrics(leader)  # the fleet as the leader hears it: three copters on the ground
        drones = {d.id for d in TOWN.docks}
        assert {labels[0][1] for (name, labels), v in seen.items()
                if name == "flyonce_drone_linked" and v == 1.0} == drones
        assert {labels[0][1] for (name, labels), v in seen.items()
                if name == "flyonce_drone_armed" and v == 0.0} == drones
        assert all(0 < v <= 100 for (name, _), v in seen.items()
                   if name == "flyonce_drone_battery_percent")
        takeoffs = Takeoffs(fleet)

        first = httpx.post(f"{leader.url}/api/v1/candidates", headers=bearer("det", "detector"),
                           json=candidate(lat=NANYUAN[0], lon=NANYUAN[1])).json()["id"]
        assert httpx.post(f"{other.url}/api/v1/events/{first}/review", headers=OP,
                          json={"decision": "confirm"}).status_code == 200
        wait_for(lambda: httpx.get(f"{other.url}/api/v1/events/{first}", headers=OP).json(),
                 lambda e: e["state"] == "assigned", 30)

        assigned = ("flyonce_dispatch_decisions_total", (("kind", "assigned"),))
        assert (_metrics(leader).get(assigned), _metrics(other).get(assigned)) == (1.0, None)
        kill_9(leader)  # mid-mission: the drone is on its way
        killed_at = time.monotonic()
        second = httpx.post(f"{other.url}/api/v1/candidates", headers=bearer("det", "detector"),
                            json=candidate(type="mobile_fuel_sale",
                                           lat=NANYUAN[0] + 200 / M_PER_DEG_LAT,
                                           lon=NANYUAN[1])).json()["id"]
        assert httpx.post(f"{other.url}/api/v1/events/{second}/review", headers=OP,
                          json={"decision": "confirm"}).status_code == 200
        wait_for(lambda: _leader_of(other), lambda is_leader: is_leader, 10, poll_s=0.02)
        took_over_s = time.monotonic() - killed_at
        assert took_over_s < TAKEOVER_LIMIT_S, took_over_s
        assert _metrics_leader(other) == 1.0

        # the first: its drone taken over in the air, flown on to the scene
        done = wait_for(lambda: httpx.get(f"{other.url}/api/v1/events/{first}", headers=OP).json(),
                        lambda e: e["state"] == "on_scene", 60)
        assert [t["kind"] for t in done["tasks"]].count("drone") == 1, done["tasks"]
        reasons = [r["reason"] or "" for r in audit(other, first)]
        assert sum("re-linked" in r and "not re-sent" in r for r in reasons) == 1, reasons
        # the second, confirmed while no process led: assigned by the new leader
        done = wait_for(lambda: httpx.get(f"{other.url}/api/v1/events/{second}",
                                          headers=OP).json(),
                        lambda e: e["state"] in ("assigned", "on_scene"), 30)
        assert [t["kind"] for t in done["tasks"]].count("drone") == 1, done["tasks"]
        for event_id in (first, second):
            moves = transitions(audit(other, event_id))
            assert moves[("confirmed", "assigned")] == 1, moves
        assert len(takeoffs.stop()) == 2  # one copter per event, ever
        print(f"take-over {took_over_s:.2f} s")
    finally:
        for server in servers:
            server.stop()
        fleet.stop()
