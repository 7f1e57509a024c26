"""Killing a real `serve` process (SIGKILL) in the middle of a stream of writes, and counting what
survived in the database: shared by tests/api/test_crash_durability.py and
tests/bench/bench_reliability.py.

A write is *acknowledged* when the service answered it with a 2xx; it is *lost* when it was
acknowledged and the database does not hold it after the restart, and *duplicated* when the
database holds it more than once after everything was sent again.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from PIL import Image

from api.core.auth import create_token
from tests.api.conftest import TEST_SECRET, TEST_TOKEN_TTL_S, ServerProcess

Call = Callable[[httpx.Client, str], httpx.Response]


def bearer(name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


OP, DET, TM1 = bearer("op", "operator"), bearer("det", "detector"), bearer("tm1", "ground_team")


def kill_9(server: ServerProcess) -> None:
    """SIGKILL the server process: no shutdown hook, no flush, no goodbye."""
    assert server.proc is not None
    server.proc.kill()
    server.proc.wait(10)
    server.proc = None


@dataclass
class Volley:
    """What a volley fired at a server that was killed part-way through got back."""

    acked: dict[int, httpx.Response] = field(default_factory=dict)  # index -> the 2xx answer
    refused: dict[int, httpx.Response] = field(default_factory=dict)  # index -> a 4xx/5xx
    unanswered: set[int] = field(default_factory=set)  # no answer (the process died)


def fire_and_kill(server: ServerProcess, calls: Sequence[Call], *, kill_after: int,
                  workers: int = 8) -> Volley:
    """Run ``calls`` as fast as ``workers`` threads can against ``server``; SIGKILL it as soon as
    ``kill_after`` of them were acknowledged. Calls started after the kill go unanswered."""
    out, lock, killed = Volley(), threading.Lock(), threading.Event()
    local = threading.local()

    def one(i: int) -> None:
        if killed.is_set():
            out.unanswered.add(i)
            return
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30)
        try:
            response = calls[i](client, server.url)
        except httpx.HTTPError:
            with lock:
                out.unanswered.add(i)
            return
        with lock:
            if response.is_success:
                out.acked[i] = response
                if len(out.acked) >= kill_after and not killed.is_set():
                    killed.set()
                    kill_9(server)
            else:
                out.refused[i] = response

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(len(calls))))
    if not killed.is_set():
        kill_9(server)  # every call was answered before the mark: kill it anyway, then count
    return out


def candidate_calls(n: int, *, run: str | None = None) -> tuple[list[Call], list[str]]:
    """``n`` candidate POSTs at distinct corners of the sample town (none merge), and their keys."""
    run = run or uuid.uuid4().hex[:8]
    keys = [f"crash-{run}-{i}" for i in range(n)]

    def call(i: int) -> Call:
        body = {"source": "detector:crash", "source_event_id": keys[i], "type": "street_stall",
                "lat": 29.49 + (i % 50) * 4e-4, "lon": 120.89 + (i // 50) * 4e-4,
                "confidence": 0.9}
        return lambda client, url: client.post(f"{url}/api/v1/candidates", json=body, headers=DET)

    return [call(i) for i in range(n)], keys


def photo_png(seed: int) -> bytes:
    """A small real PNG, different for every ``seed``."""
    img = Image.new("RGB", (32, 24), ((seed * 37) % 256, (seed * 91) % 256, 120))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def review_calls(event_ids: Sequence[int]) -> list[Call]:
    return [(lambda client, url, e=e: client.post(f"{url}/api/v1/events/{e}/review",
                                                   json={"decision": "confirm"}, headers=OP))
            for e in event_ids]


def assign_calls(event_ids: Sequence[int]) -> list[Call]:
    return [(lambda client, url, e=e: client.post(
        f"{url}/api/v1/events/{e}/assign", json={"team_id": "t1", "reason": "crash test"},
        headers=OP)) for e in event_ids]


def resolve_calls(event_ids: Sequence[int]) -> list[Call]:
    return [(lambda client, url, e=e: client.post(
        f"{url}/api/v1/events/{e}/resolve", data={"disposition": "persuaded"},
        files={"photo": (f"scene-{e}.png", photo_png(e), "image/png")}, headers=TM1))
        for e in event_ids]


# ---------------------------------------------------------------- counting in the database


def sightings_per_key(engine: sa.Engine, keys: Sequence[str]) -> Counter:
    """How many stored sightings each candidate key has (0 when absent)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT source_event_id, count(*) FROM sightings "
                                    "WHERE source = 'detector:crash' GROUP BY source_event_id"))
        stored = dict(rows.all())
    return Counter({k: stored.get(k, 0) for k in keys})


def transitions(engine: sa.Engine, event_ids: Sequence[int]) -> dict[int, Counter]:
    """Each event's audit rows that changed its state, counted by (from, to)."""
    out: dict[int, Counter] = {e: Counter() for e in event_ids}
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT event_id, from_state, to_state FROM audit_trail "
            "WHERE from_state IS NULL OR from_state <> to_state"))
        for event_id, a, b in rows:
            if event_id in out:
                out[event_id][(a, b)] += 1
    return out


def states(engine: sa.Engine, event_ids: Sequence[int]) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, state FROM events"))
        return {i: s for i, s in rows if i in set(event_ids)}


def evidence(engine: sa.Engine, event_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """Each event's resolution photos as (path, sha256)."""
    out: dict[int, list[tuple[str, str]]] = {e: [] for e in event_ids}
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, path, sha256 FROM evidence "
                                    "WHERE kind = 'resolution'"))
        for event_id, path, digest in rows:
            if event_id in out:
                out[event_id].append((path, digest))
    return out
