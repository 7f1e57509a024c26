"""Engines, sessions and migrations: the one place that knows which database is behind the service."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import Session

MIGRATIONS = Path(__file__).with_name("migrations")

# The pool can lend a connection to every worker thread at once (anyio's default threadpool has
# 40): a request's session is closed by a threadpool task, so a smaller pool could leave every
# thread waiting for a connection that only a queued teardown would give back. All 40 are kept
# once opened, none as overflow: an overflow connection is closed when it comes back, so a burst
# of more than the kept ones opened a PostgreSQL backend (a fork) per request, just when the
# server was busiest (at 200 candidates/s posted one by one, 10 kept + 30 overflow measured an
# alert p99 of 88-120 ms where 40 kept measured 60-76 ms).
POOL_SIZE, POOL_OVERFLOW = 40, 0

_WRITE_INTENT: ContextVar[bool] = ContextVar("flyonce_write_intent", default=False)
# One writer at a time inside this process: threads wait their turn here, in order, rather than
# polling SQLite's file lock (which only settles contention between processes).
_SQLITE_WRITER = threading.Lock()


@contextmanager
def writing(session: Session) -> Iterator[Session]:
    """A block that writes: it runs in a fresh transaction that holds the write lock from its start.

    On SQLite this is what keeps concurrent writers from failing; elsewhere it is free.
    Reads made earlier in the session are ended first (their objects stay loaded).
    """
    session.commit()
    if session.get_bind().dialect.name != "sqlite":
        yield session
        return
    token = _WRITE_INTENT.set(True)
    try:
        with _SQLITE_WRITER:
            try:
                yield session
            finally:
                if session.in_transaction():
                    session.rollback()  # an uncommitted write must not keep the lock
    finally:
        _WRITE_INTENT.reset(token)


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout for concurrent writers."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                  pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001, ANN202
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001, ANN202
            # A write takes the lock at BEGIN, so two writers queue instead of one failing when
            # its read snapshot turns out stale; reads begin deferred and never block.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _WRITE_INTENT.get() else "BEGIN")

        # pysqlite's own BEGIN handling would fight the listener above.
        @sa.event.listens_for(engine, "connect", insert=True)
        def _autocommit_off(dbapi_conn, _record):  # noqa: ANN001, ANN202
            dbapi_conn.isolation_level = None

        return engine
    engine = sa.create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    _ping_when_idle(engine)
    return engine


# A pooled connection is pinged before use only when it sat idle this long. SQLAlchemy's
# pool_pre_ping pings on every checkout: a round trip per request, a fifth of the statements of
# an ingest. A connection that was in use seconds ago is alive, and should the server go away
# under a busy pool, the first failure invalidates the whole pool (SQLAlchemy does that on a
# disconnect error), so at most the requests already in flight see it.
IDLE_PING_S = 10.0


def _ping_when_idle(engine: Engine) -> None:
    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):  # noqa: ANN001, ANN202
        record.info["checked_in_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):  # noqa: ANN001, ANN202
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < IDLE_PING_S:
            return  # a new connection, or one in use moments ago
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:
            # The documented way to say "this one is dead": the pool drops it and connects anew.
            raise sa.exc.DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (never dropping data)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session that is closed afterwards (the caller commits)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def ping(engine: Engine) -> str:
    """The database's dialect name once it answers a trivial query; its error otherwise."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return engine.dialect.name
