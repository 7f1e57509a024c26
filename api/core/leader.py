"""Which `serve` process leads: the one that runs the dispatch worker's own initiatives (auto-assign,
taking over drones left flying by a dead process) and the patrol scheduler, and sends webhooks.

Several `serve` processes may share one database. Each holds links to the fleet and answers the
routes, but exactly one *leads*. The choice is the database's, held for as long as the holder
lives, so a process that dies (kill -9 included) loses it at once and another takes it at its
next try (``poll_s``, 0.5 s by default):

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection kept for
  nothing else. The server drops the lock with the connection; a follower tries every
  ``poll_s``. The leader checks its connection as often: a lost connection is lost leadership.
  The key is derived from the database and schema, so two deployments (or two test schemas)
  on one server elect apart.
- SQLite: an exclusive ``flock`` on a file beside the database; the kernel releases it when the
  holding process dies. A database in memory has one process: it leads.

The claims of ``api.fleet.missions`` still make every command exactly-once on their own: the
leader decides who *takes initiative*, the claims who *may command* a given drone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.core.clock import Clock
from dispatch.tasks import cancel_and_wait

log = logging.getLogger("flyonce.api.leader")

Hook = Callable[[], Awaitable[None]]


class _PostgresLock:
    """A session-level advisory lock on a dedicated connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: sa.Connection | None = None
        self._held = False
        self.key: int | None = None

    def _key(self, conn: sa.Connection) -> int:
        db, schema = conn.execute(sa.text("SELECT current_database(), current_schema()")).one()
        digest = hashlib.sha256(f"flyonce-leader:{db}:{schema}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def try_hold(self) -> bool:
        """True while this process holds the lock (taking it when free)."""
        try:
            if self._conn is None:
                # Outside the pool's reuse: the lock must live exactly as long as this connection.
                self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self.key = self._key(self._conn)
            if self._held:
                # A session-level lock lives as long as the session: a live connection holds it.
                self._conn.execute(sa.text("SELECT 1"))
                return True
            self._held = bool(self._conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            return self._held
        except sa.exc.SQLAlchemyError as exc:
            log.warning("leader lock: database connection lost (%s); not leading",
                        type(exc).__name__)
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()  # closes the socket: the server drops the lock
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        self._held = False


class _FileLock:
    """An exclusive ``flock`` on ``path``, held by an open file descriptor."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_hold(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


class _Always:
    def try_hold(self) -> bool:
        return True

    def release(self) -> None:
        pass


def _lock_for(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        return _PostgresLock(engine)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            return _FileLock(Path(f"{database}.leader"))
        return _Always()
    raise ValueError(f"no leader election for the {engine.dialect.name} dialect; "
                     "use PostgreSQL or SQLite")


class Leadership:
    """Whether this process leads, kept true while it holds the lock; hooks run on each change.

    ``on_gain`` hooks run when this process becomes leader (e.g. take over the drones a dead
    leader left flying), ``on_lose`` when it stops (e.g. the database went away).
    """

    def __init__(self, engine: Engine, clock: Clock, *, owner: str, poll_s: float = 0.5) -> None:
        self.engine, self.clock, self.owner, self.poll_s = engine, clock, owner, poll_s
        self.backend = {"postgresql": "postgres advisory lock", "sqlite": "file lock"}.get(
            engine.dialect.name, engine.dialect.name)
        self._lock = _lock_for(engine)
        self.is_leader = False
        self.since: datetime | None = None  # service clock, when this process last became leader
        self.changes = 0  # how many times leadership was gained here
        self.on_gain: list[Hook] = []
        self.on_lose: list[Hook] = []
        self._task: asyncio.Task[None] | None = None
        self._hooks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Try once now (so a lone process leads before it serves), then keep trying."""
        await self._check()
        self._task = asyncio.create_task(self._run(), name="leader-election")

    async def stop(self) -> None:
        await cancel_and_wait([self._task, *self._hooks])
        await asyncio.to_thread(self._lock.release)
        self.is_leader = False

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self._check()
            except Exception:  # never let the election die: it is retried at the next poll
                log.exception("leader election check failed")

    async def _check(self) -> None:
        held = await asyncio.to_thread(self._lock.try_hold)
        if held == self.is_leader:
            return
        self.is_leader = held
        if held:
            self.since = self.clock.now()
            self.changes += 1
            log.info("this process (%s) now leads (%s)", self.owner, self.backend)
        else:
            log.warning("this process (%s) no longer leads", self.owner)
        for hook in self.on_gain if held else self.on_lose:
            # In tasks of their own: a long hook (a dispatch) must not delay the next check.
            task = asyncio.create_task(self._run_hook(hook), name="leader-hook")
            self._hooks.add(task)
            task.add_done_callback(self._hooks.discard)

    @staticmethod
    async def _run_hook(hook: Hook) -> None:
        try:
            await hook()
        except Exception:
            log.exception("leadership hook failed")
