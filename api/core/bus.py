"""Live alerts: every lifecycle change, fanned out to the WebSocket clients of every process.

Without Redis, one process: publishers hand messages to each subscriber's queue on the loop.
With Redis, publishers PUBLISH to a channel and each process relays the channel to its own
subscribers, so a change made behind one `flyonce serve` reaches clients of all of them.
`publish` is synchronous and thread-safe: routes call it from the threadpool after commit.

Every subscriber of a process gets the same `Alert`: the message and its JSON text, encoded once
by the publisher (or received once from Redis), so a process with many WebSocket clients does not
encode each alert once per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from dispatch.tasks import cancel_and_wait

log = logging.getLogger(__name__)

_QUEUE_LIMIT = 1000


class Alert(dict):
    """A published message as its subscribers get it: the message, and ``text``, its JSON.

    Every subscriber shares one Alert: read it, never change it (``text`` would no longer say
    what the dict says).
    """

    __slots__ = ("text",)

    def __init__(self, message: dict[str, Any], text: str | None = None) -> None:
        super().__init__(message)
        self.text = text if text is not None else json.dumps(message, separators=(",", ":"),
                                                             ensure_ascii=False)


class AlertBus:
    """In-process fan-out to subscriber queues; the base for the Redis bus."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._subscribers.clear()

    def publish(self, message: dict[str, Any]) -> None:
        """Deliver `message` to every subscriber (callable from any thread)."""
        self._deliver_threadsafe(Alert(message))

    def _deliver_threadsafe(self, message: dict[str, Any]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(message)
        else:
            loop.call_soon_threadsafe(self._deliver, message)

    def _deliver(self, message: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            if queue.full():
                # A client that stopped reading loses its oldest alerts, not the server its memory.
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving every message published while the context is open."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(_QUEUE_LIMIT)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


class RedisAlertBus(AlertBus):
    """Fan-out across processes through a Redis pub/sub channel."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__()
        import redis
        import redis.asyncio as aioredis

        self._url = url
        self._channel = channel
        self._sync = redis.Redis.from_url(url)
        self._async = aioredis.Redis.from_url(url)
        self._relay: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        await super().start()
        self._relay = asyncio.create_task(self._run_relay(), name="redis-alert-relay")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        await cancel_and_wait([self._relay])
        await self._async.aclose()
        self._sync.close()
        await super().stop()

    def publish(self, message: dict[str, Any]) -> None:
        self._sync.publish(self._channel, Alert(message).text)

    def ping(self) -> None:
        """Return when Redis answers; raise its error otherwise (blocking: call off the loop)."""
        self._sync.ping()

    @property
    def url(self) -> str:
        return self._url

    async def _run_relay(self) -> None:
        while True:
            try:
                pubsub = self._async.pubsub()
                await pubsub.subscribe(self._channel)
                self._ready.set()
                async for raw in pubsub.listen():
                    if raw.get("type") != "message":
                        continue
                    try:
                        text = raw["data"].decode()
                        self._deliver(Alert(json.loads(text), text))
                    except (ValueError, TypeError, AttributeError):
                        log.warning("ignored a malformed alert on %s", self._channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the relay must outlive a Redis restart
                log.warning("redis alert relay lost its connection (%s); retrying in 1 s", exc)
                await asyncio.sleep(1)
