"""`/healthz` says the process is alive; `/readyz` says whether it can work, with the details
(which check, why, who leads) for an admin only and never an exception's text for anyone else."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.core.auth import create_token
from tests.api.conftest import TEST_SECRET, TEST_TOKEN_TTL_S


def bearer(name: str, role: str) -> dict[str, str]:
    token = create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)
    return {"Authorization": f"Bearer {token}"}


def test_healthz_is_alive_only(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_details_for_an_admin_only(client: TestClient, db_url: str) -> None:
    dialect = db_url.split(":", 1)[0].split("+")[0]
    anonymous = client.get("/readyz")
    operator = client.get("/readyz", headers=bearer("op", "operator"))
    admin = client.get("/readyz", headers=bearer("adm", "admin"))
    # no fleet is configured in the test app: ready, and the fleet check says so
    assert anonymous.status_code == operator.status_code == admin.status_code == 200
    assert anonymous.json() == operator.json() == {"status": "ready"}
    body = admin.json()
    assert body["checks"]["database"] == {"ok": True, "detail": dialect}
    assert body["checks"]["fleet"] == {"ok": True, "detail": "no fleet configured"}
    # one process on its database: it leads
    assert body["leader"]["is_leader"] is True
    assert body["leader"]["backend"] == {"sqlite": "file lock",
                                         "postgresql": "postgres advisory lock"}[dialect]


def test_unreachable_database_is_503_without_the_error_text(client: TestClient) -> None:
    good = client.app.state.engine
    client.app.state.engine = _unreachable_engine()
    try:
        anonymous = client.get("/readyz")
        admin = client.get("/readyz", headers=bearer("adm", "admin"))
    finally:
        client.app.state.engine.dispose()
        client.app.state.engine = good
    assert anonymous.status_code == 503 and anonymous.json() == {
        "status": "unavailable", "detail": "not ready: the database or Redis does not answer"}
    assert "127.0.0.1" not in anonymous.text and "Error" not in anonymous.text
    assert admin.status_code == 503
    database = admin.json()["checks"]["database"]
    assert database["ok"] is False and database["detail"].startswith("OperationalError")
    assert client.get("/healthz").status_code == 200  # alive all the same


def _unreachable_engine() -> sa.Engine:
    # Port 1 on loopback refuses connections; the short timeout keeps the test quick.
    return sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                            connect_args={"connect_timeout": 2})
