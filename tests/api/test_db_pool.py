"""The PostgreSQL pool pings a connection only after it sat idle (api/core/db.py)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from api.core import db

PG = os.environ.get("FLYONCE_TEST_DATABASE_URL",
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _kill(pid: int) -> None:
    admin = sa.create_engine(PG)
    with admin.begin() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    admin.dispose()


def test_a_connection_idle_past_the_limit_is_pinged_and_replaced_when_its_backend_died(
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.create_db_engine(PG)
    try:
        first = _pid(engine)  # the pool keeps this one
        _kill(first)
        monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every checkout is now "after idle"
        second = _pid(engine)  # the ping fails, the pool connects anew, the query succeeds
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_in_use_moments_ago_is_not_pinged_and_a_dead_one_fails_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.create_db_engine(PG)
    try:
        first = _pid(engine)
        _kill(first)
        monkeypatch.setattr(db, "IDLE_PING_S", 3600.0)
        # No ping: the request that gets the dead connection fails (as it would mid-query)...
        with pytest.raises(sa.exc.OperationalError):
            _pid(engine)
        # ...and the disconnect invalidated the pool, so the next one works on a new backend.
        assert _pid(engine) not in (first, None)
    finally:
        engine.dispose()


def test_a_burst_of_requests_reuses_its_connections_and_never_opens_more_than_the_threads(
) -> None:
    # anyio's threadpool runs up to 40 sync requests at once. Two bursts of 30 at once: the
    # first opens 30 backends, the second finds them all kept (an overflow connection would be
    # closed on check-in and opened again: 30 + 20 with 10 kept). The pool's ceiling is the
    # threadpool's, so a PostgreSQL with max_connections 100 takes two replicas and more.
    engine = db.create_db_engine(PG)
    connects = []
    sa.event.listen(engine, "connect", lambda *_: connects.append(1))
    try:
        for _ in range(2):
            conns = [engine.connect() for _ in range(30)]
            for conn in conns:
                conn.execute(sa.text("SELECT 1"))
            for conn in conns:
                conn.close()
        assert len(connects) == 30
        assert engine.pool.size() + engine.pool._max_overflow == 40  # the threadpool's 40
        with pytest.raises(sa.exc.TimeoutError):  # the 41st waits: none is opened past 40
            held = [engine.connect() for _ in range(40)]
            try:
                engine.pool._timeout = 0.2
                engine.connect()
            finally:
                for conn in held:
                    conn.close()
    finally:
        engine.dispose()
