"""Open-loop load on the service: requests at a fixed rate, alerts timed on operators' sockets.

The client is aiohttp (HTTP and WebSocket): on a 2-core machine the load generator's CPU is CPU
the servers under test do not get, and aiohttp spends several times less per request than httpx.
Open loop: request i is due at i / rate whatever the answers do, and every latency counts from
the moment its request was due, so a server that falls behind shows its backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile of ``values`` (seconds), in milliseconds."""
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))] * 1000, 2)


@dataclass
class Load:
    """What one run measured: counts, and latencies in seconds."""

    requests: int = 0
    acknowledged: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    http_s: list[float] = field(default_factory=list)
    alert_s: list[float] = field(default_factory=list)  # from the request that carried it
    alert_due_s: list[float] = field(default_factory=list)  # from when the finding was due
    alert_at_s: list[float] = field(default_factory=list)  # when each alert arrived, from start
    alerts: Counter = field(default_factory=Counter)  # key -> sockets it reached

    def figures(self) -> dict:
        return {"requests": self.requests, "acknowledged": self.acknowledged,
                "errors": self.errors, "seconds": round(self.elapsed_s, 1),
                "throughput_per_s": round(self.acknowledged / self.elapsed_s, 1)
                if self.elapsed_s else None,
                "http_p50_ms": pct(self.http_s, 0.5), "http_p99_ms": pct(self.http_s, 0.99),
                "alert_p50_ms": pct(self.alert_s, 0.5), "alert_p99_ms": pct(self.alert_s, 0.99),
                "alert_from_due_p99_ms": pct(self.alert_due_s, 0.99),
                "alerts_delivered": sum(self.alerts.values())}

    def p99_by_window(self, window_s: float) -> list[float | None]:
        """The alert p99 (ms) of each ``window_s`` of the run, by when the alerts arrived."""
        windows: list[list[float]] = []
        for at, latency in zip(self.alert_at_s, self.alert_s, strict=True):
            k = int(at // window_s)
            while len(windows) <= k:
                windows.append([])
            windows[k].append(latency)
        return [pct(w, 0.99) for w in windows]


async def run(urls: list[str], rate: float, seconds: float, *, token: str,
              body: Callable[[int, str], dict] | None, operator_token: str | None = None,
              operators: int = 0, path: str = "/api/v1/candidates",
              settle_s: float = 15.0, max_in_flight: int = 256, batch_s: float = 0.0) -> Load:
    """POST ``body(i, key)`` to ``path`` on ``urls`` in turn at ``rate`` per second for
    ``seconds`` (``body`` None: GET ``path``, a baseline); ``operators`` sockets on
    /api/v1/live (spread over ``urls``) time each key's ``alerted`` message. Waits up to
    ``settle_s`` after the last answer for alerts still on their way.

    ``batch_s`` > 0: detection workers that post what came due in each ``batch_s`` as one
    ``POST /api/v1/candidates/batch`` (to ``urls`` in turn); ``alert_s`` then counts from that
    POST, ``alert_due_s`` from when each finding was due (the worker's wait included)."""
    n = int(rate * seconds)
    out = Load(requests=n)
    due: dict[str, float] = {}
    sent: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=max_in_flight)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        sockets = []
        for i in range(operators):
            ws = await session.ws_connect(
                urls[i % len(urls)].replace("http", "ws", 1) + "/api/v1/live",
                protocols=("flyonce.v1", f"bearer.{operator_token}"), compress=0,
                max_msg_size=0)
            await ws.receive()  # hello
            sockets.append(ws)

        async def listen(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                alert = json.loads(msg.data)
                if alert.get("to") != "alerted":
                    continue
                # a merged candidate's message is its sighting's; the event's key is the first's
                key = (alert["source_event_id"] if alert.get("kind") == "sighting"
                       else alert["event"]["source_event_id"])
                if key in due:
                    now = time.perf_counter()
                    out.alert_s.append(now - sent[key])
                    out.alert_due_s.append(now - due[key])
                    out.alert_at_s.append(now - start)
                    out.alerts[key] += 1

        start = time.perf_counter()  # the sockets are open: the load starts now
        listeners = [asyncio.create_task(listen(ws)) for ws in sockets]

        async def many(j: int, items: list[tuple[int, float]]) -> None:
            keys = [f"load-{i}-{int(at * 1e6)}" for i, at in items]
            at = time.perf_counter()
            for key, (_, item_due) in zip(keys, items, strict=True):
                due[key], sent[key] = item_due, at
            url = urls[j % len(urls)] + "/api/v1/candidates/batch"
            try:
                async with session.post(url, headers=headers, json={"candidates": [
                        body(i, key) for key, (i, _) in zip(keys, items, strict=True)]}) as r:
                    await r.read()
                ok = r.status < 300
                out.acknowledged += len(items) if ok else 0
                out.errors += 0 if ok else len(items)
            except (aiohttp.ClientError, TimeoutError):
                out.errors += len(items)
            out.http_s.append(time.perf_counter() - at)

        async def one(i: int, at: float) -> None:
            key = f"load-{i}-{int(at * 1e6)}"
            due[key] = sent[key] = at
            url = urls[i % len(urls)] + path
            try:
                if body is None:
                    async with session.get(url, headers=headers) as r:
                        await r.read()
                else:
                    async with session.post(url, headers=headers, json=body(i, key)) as r:
                        await r.read()
                ok = r.status < 300
                out.acknowledged += ok
                out.errors += not ok
            except (aiohttp.ClientError, TimeoutError):
                out.errors += 1
            out.http_s.append(time.perf_counter() - at)

        tasks = []
        if batch_s > 0:
            for j in range(math.ceil(seconds / batch_s)):
                window_end = start + (j + 1) * batch_s
                delay = window_end - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                first = math.ceil(j * batch_s * rate)
                last = min(n, math.ceil((j + 1) * batch_s * rate))
                items = [(i, start + i / rate) for i in range(first, last)]
                if items:
                    tasks.append(asyncio.create_task(many(j, items)))
        else:
            for i in range(n):
                at = start + i / rate
                delay = at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(i, at)))
        await asyncio.gather(*tasks)
        out.elapsed_s = time.perf_counter() - start
        deadline = time.perf_counter() + settle_s
        while (operators and sum(out.alerts.values()) < out.acknowledged * operators
               and time.perf_counter() < deadline and body is not None):
            await asyncio.sleep(0.05)
        for task in listeners:
            task.cancel()
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()
    return out
