"""Fixtures for the service: a database per test (SQLite, and PostgreSQL when configured),
an app with a hand-driven clock, users of every role, and a real uvicorn process when needed."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.core import db
from api.core.auth import create_token, hash_password
from api.core.models import Drone, GroundTeam, User
from api.core.settings import Settings
from api.demo.seed import DEMO_PASSWORD

PG_URL = os.environ.get("FLYONCE_TEST_DATABASE_URL")
# Redis runs on every flyonce machine; CI names it explicitly.
REDIS_URL = os.environ.get("FLYONCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
ROOT = Path(__file__).resolve().parents[2]
TEST_SECRET = "flyonce-test-secret-0123456789abcdef0123456789"
# Tests' tokens outlive a whole CI run: several modules make theirs at import, and a CI run
# collects every module long before it runs the last (10-minute tokens had expired by then).
TEST_TOKEN_TTL_S = 6 * 3600

# A point inside the sample town's residential block "Dongyuan" and one in its permitted market.
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = START) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@contextlib.contextmanager
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL confined to a fresh schema, dropped afterwards."""
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'flyonce.db'}"
    else:
        with pg_schema_url() as url:
            yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


# Most tests post many candidates at one corner to drive other verbs; one violation, one event
# (api/lifecycle/merge.py) would fold them into one. Merging is tested with it on, in
# test_merge.py and test_exactly_once.py; here it is off unless a test turns it on.
NO_MERGE = {"merge_radius_m": 0.0}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key=TEST_SECRET,
                    max_upload_bytes=200_000, **NO_MERGE)


@pytest.fixture
def client(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock)
    with TestClient(app) as test_client:
        seed_fleet(app.state.engine)
        yield test_client


def write_fleet_file(path: Path, docks, vehicles) -> Path:
    """A fleet file naming each simulated vehicle's endpoint at its dock; its path."""
    path.write_text("".join(
        f'[[drone]]\nid = "{d.id}"\nurl = "{v.endpoint}"\ndock = [{d.lat}, {d.lon}]\n\n'
        for d, v in zip(docks, vehicles)))
    return path


def live_protocols(token: str) -> list[str]:
    """The WebSocket subprotocols that carry a bearer token to /api/v1/live (never the URL)."""
    return ["flyonce.v1", f"bearer.{token}"]


def wait_for(fetch, done, wall_s: float = 60.0, poll_s: float = 0.05):
    """Poll ``fetch()`` until ``done(value)``; that value, or AssertionError with the last one."""
    deadline = time.monotonic() + wall_s
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {wall_s} s; last: {value}")


def seed_fleet(engine: sa.Engine) -> None:
    """Two drones and two teams near the sample town's origin, and one user per role."""
    with Session(engine) as session:
        session.add(Drone(id="d1", name="D1", dock_lat=29.50, dock_lon=120.90))
        session.add(Drone(id="d2", name="D2", dock_lat=29.49, dock_lon=120.91))
        session.add(GroundTeam(id="t1", name="T1", lat=29.50, lon=120.90))
        session.add(GroundTeam(id="t2", name="T2", lat=29.49, lon=120.91))
        session.commit()
        for name, role, team in ROLE_USERS:
            session.add(User(username=name, password_hash=demo_hash(), role=role, team_id=team,
                             created_at=START))
        session.commit()


@functools.cache
def demo_hash() -> str:
    """One argon2 hash of the demo password, shared by every test user (hashing is slow on purpose)."""
    return hash_password(DEMO_PASSWORD)


ROLE_USERS = [("op", "operator", None), ("adm", "admin", None), ("eva", "evaluator", None),
              ("tm1", "ground_team", "t1"), ("tm2", "ground_team", "t2"), ("det", "detector", None)]


def login(client: TestClient | httpx.Client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def headers(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers by user name (op, adm, eva, tm1, tm2, det), minted like a login does."""
    return {name: {"Authorization": f"Bearer {create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}
            for name, role, _ in ROLE_USERS}


def candidate(**overrides) -> dict:
    body = {"source": "detector:drone-1", "source_event_id": uuid.uuid4().hex, "type": "street_stall",
            "lat": 29.5, "lon": 120.9, "confidence": 0.9}
    body.update(overrides)
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`flyonce serve`'s app in a real uvicorn process, for tests that need real concurrency.

    The port is kept across `stop()` and `start()`, so a restart keeps clients' URLs valid.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--host", "127.0.0.1",  # as `flyonce serve`
             "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read().decode()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not become healthy in 60 s")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc = None


def prepare_db(url: str) -> str:
    """Migrate the database at `url` and seed it with `seed_fleet`; returns the URL."""
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    seed_fleet(engine)
    engine.dispose()
    return url


def server_env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    # Warnings only: a server's output goes to a pipe nobody reads until it fails, and a full
    # pipe would stall the server.
    return {"FLYONCE_DATABASE_URL": db_url, "FLYONCE_DATA_DIR": str(data_dir),
            "FLYONCE_SECRET_KEY": TEST_SECRET, "FLYONCE_LOG_LEVEL": "WARNING",
            "FLYONCE_MERGE_RADIUS_M": str(NO_MERGE["merge_radius_m"]), **extra}


def seeded_server(data_dir: Path, db_url: str | None = None, **env: str) -> ServerProcess:
    """A real server over a freshly seeded database (default: SQLite in `data_dir`)."""
    url = prepare_db(db_url or f"sqlite:///{data_dir / 'flyonce.db'}")
    return ServerProcess(server_env(url, data_dir, **env))
