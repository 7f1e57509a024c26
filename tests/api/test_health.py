"""`/healthz` tells whether the database answers."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthy_names_the_database(client: TestClient, db_url: str) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": db_url.split(":", 1)[0].split("+")[0]}


def test_unreachable_database_is_503(client: TestClient) -> None:
    good = client.app.state.engine
    client.app.state.engine = _unreachable_engine()
    try:
        r = client.get("/healthz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
    finally:
        client.app.state.engine.dispose()
        client.app.state.engine = good


def _unreachable_engine():
    import sqlalchemy as sa

    # Port 1 on loopback refuses connections; the short timeout keeps the test quick.
    return sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                            connect_args={"connect_timeout": 2})
