"""Engines, sessions and migrations: the one place that knows which database is behind the service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import Session

MIGRATIONS = Path(__file__).with_name("migrations")


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout for concurrent writers."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001, ANN202
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin_immediate(conn):  # noqa: ANN001, ANN202
            # Take the write lock at BEGIN, so two writers queue instead of failing on upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        # pysqlite's own BEGIN handling would fight the listener above.
        @sa.event.listens_for(engine, "connect", insert=True)
        def _autocommit_off(dbapi_conn, _record):  # noqa: ANN001, ANN202
            dbapi_conn.isolation_level = None

        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


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
