"""Suite-wide rules: on CI, PostgreSQL and Redis are required (a missing one fails, never skips)."""

from __future__ import annotations

import os

import pytest

# Every app a test starts (in process or as a `flyonce serve` child, which inherits this) skips
# warming its routes at start-up: a first-request latency feature that costs a third of the CPU
# of a short API test. tests/api/test_warm_routes.py turns it on and checks it.
os.environ.setdefault("FLYONCE_WARM_ROUTES", "false")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not os.environ.get("CI"):
        return
    missing = [name for name in ("FLYONCE_TEST_DATABASE_URL", "FLYONCE_TEST_REDIS_URL")
               if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(f"CI needs {', '.join(missing)}; .ci/run sets them")
    import redis
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(os.environ["FLYONCE_TEST_DATABASE_URL"])
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        raise pytest.UsageError(f"PostgreSQL unreachable on CI: {exc}") from exc
    try:
        redis.Redis.from_url(os.environ["FLYONCE_TEST_REDIS_URL"]).ping()
    except Exception as exc:
        raise pytest.UsageError(f"Redis unreachable on CI: {exc}") from exc


def pytest_configure(config):
    # registered here, not in pyproject.toml, whose hash keys CI's venv
    config.addinivalue_line(
        "markers", "serial: runs alone after the parallel run (make test), never beside another test")
