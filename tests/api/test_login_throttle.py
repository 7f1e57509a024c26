"""Login throttling (api/core/throttle.py): failures per account and per client address, 429 with
Retry-After past the limit, before the password is checked; counted in Redis across processes
when the service has Redis. The database is not the subject: SQLite only."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.settings import Settings
from tests.api.conftest import DEMO_PASSWORD, NO_MERGE, REDIS_URL, TEST_SECRET, ManualClock, seed_fleet


def login(client: TestClient, username: str, password: str):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def app_with(tmp_path: Path, db_url: str, **extra) -> TestClient:
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path,
                        secret_key=TEST_SECRET, login_max_failures_per_account=3,
                        login_max_failures_per_client=5, login_window_s=60, **NO_MERGE, **extra)
    return TestClient(create_app(settings, clock=ManualClock()))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_account_is_locked_after_its_failures_even_for_the_right_password(
        tmp_path: Path, db_url: str) -> None:
    with app_with(tmp_path, db_url) as client:
        seed_fleet(client.app.state.engine)
        assert login(client, "op", DEMO_PASSWORD).status_code == 200
        assert [login(client, "op", "wrong").status_code for _ in range(3)] == [401] * 3
        locked = login(client, "op", DEMO_PASSWORD)  # the 4th try: refused before the check
        assert locked.status_code == 429
        assert 55 <= int(locked.headers["Retry-After"]) <= 60
        assert "account" in locked.json()["detail"]
        # another account from the same client still logs in (3 failures < the client's 5)
        assert login(client, "eva", DEMO_PASSWORD).status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_client_is_locked_after_guessing_across_accounts(tmp_path: Path, db_url: str) -> None:
    with app_with(tmp_path, db_url) as client:
        seed_fleet(client.app.state.engine)
        names = ["a1", "a2", "a3", "a4", "a5"]  # one failure each: no account reaches 3
        assert [login(client, n, "guess").status_code for n in names] == [401] * 5
        refused = login(client, "op", DEMO_PASSWORD)
        assert refused.status_code == 429 and "client" in refused.json()["detail"]
        text = client.get("/metrics").text
        assert 'flyonce_login_throttled_total{scope="client"} 1.0' in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_failures_are_counted_in_redis_across_processes(tmp_path: Path, db_url: str) -> None:
    # Two apps on one Redis stand for two `serve` processes behind one proxy.
    channel = f"flyonce:test:{uuid.uuid4().hex}"
    a = app_with(tmp_path / "a", db_url, redis_url=REDIS_URL, redis_channel=channel)
    b = app_with(tmp_path / "b", db_url, redis_url=REDIS_URL, redis_channel=channel)
    with a, b:
        seed_fleet(a.app.state.engine)
        assert [login(c, "op", "wrong").status_code for c in (a, b, a)] == [401] * 3
        assert login(b, "op", DEMO_PASSWORD).status_code == 429
