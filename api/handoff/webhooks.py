"""Signed webhooks: confirmed, assigned, resolved and evaluated events pushed to a city's platforms
(its operations platform, the 12345 hotline system), retried with backoff, never lost.

The audit trail is the outbox. The cluster's leader (api/core/leader.py) looks, every
``poll_s``, for audit rows of those four transitions that have no delivery row yet for a
configured receiver, and writes one per receiver (unique on audit row × URL, so two looks, or
two leaders one after the other, make one). Then it sends what is due, off the event loop's
critical path (an async HTTP client; SQL in threads):

    POST <url>
    Content-Type: application/json
    X-Flyonce-Delivery: <delivery id>        the same on every try: receivers drop repeats by it
    X-Flyonce-Topic: event.confirmed
    X-Flyonce-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

A 2xx answer marks it ``delivered``. Anything else (an error status, a refused connection, no
answer within ``timeout_s``) is tried again after ``backoff_s × 2^(tries-1)`` (capped at
``max_backoff_s``, mission time on the service's clock); after ``max_attempts`` tries it is
``dead``, listed for an admin (GET /api/v1/webhooks/deliveries?state=dead) who can replay it.

A receiver checks the signature by recomputing the HMAC over ``t`` and the raw body, and
refuses a ``t`` far from its own clock (``verify`` below does both), so a captured request
cannot be replayed later.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.core.clock import Clock
from api.core.db import writing
from api.core.errors import Conflict, NotFound
from api.core.models import AuditEntry, Event, WebhookDelivery
from api.lifecycle.events import event_public
from api.lifecycle.states import State
from api.monitoring.logs import event_context
from api.monitoring.metrics import Monitor
from dispatch.tasks import cancel_and_wait

log = logging.getLogger("flyonce.api.webhooks")

TOPICS = {State.CONFIRMED: "event.confirmed", State.ASSIGNED: "event.assigned",
          State.RESOLVED: "event.resolved", State.EVALUATED: "event.evaluated"}
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# Audit rows committed out of id order (concurrent writers) are still found this far back.
LOOKBACK_ROWS = 1000
SENDERS = 8  # deliveries in flight at once
# At most the newest this many audit rows are read a round: a round costs the same however
# long the trail; only a burst of more changes than this within one poll could be passed over.
SCAN_ROWS = 10_000


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Flyonce-Signature header's value for ``body`` sent at ``timestamp`` (unix s)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now_s: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: the signature is right and its timestamp within ``tolerance_s``."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now_s - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


@dataclass(frozen=True)
class WebhookConfig:
    urls: tuple[str, ...]
    secret: str
    poll_s: float = 1.0
    timeout_s: float = 5.0
    backoff_s: float = 5.0
    max_backoff_s: float = 3600.0
    max_attempts: int = 8
    backfill_s: float = 3600.0  # a receiver added late gets the last hour of changes


def backoff_s(config: WebhookConfig, attempts: int) -> float:
    """The wait before the next try, after ``attempts`` failed ones."""
    return min(config.max_backoff_s, config.backoff_s * 2 ** max(0, attempts - 1))


def missing(session: Session, config: WebhookConfig, *, now: datetime) -> list[WebhookDelivery]:
    """A new delivery for every hooked audit row that lacks one per receiver (not yet added)."""
    low = session.exec(sa.select(sa.func.coalesce(sa.func.max(WebhookDelivery.audit_id), 0))).one()[0]
    top = session.exec(sa.select(sa.func.coalesce(sa.func.max(AuditEntry.id), 0))).one()[0]
    # Read at most SCAN_ROWS rows a round, by primary key, however long the trail is.
    floor = max(low - LOOKBACK_ROWS, top - SCAN_ROWS)
    rows = session.exec(
        select(AuditEntry).where(
            AuditEntry.id > floor,
            AuditEntry.to_state.in_([s.value for s in TOPICS]),
            AuditEntry.from_state != AuditEntry.to_state,
            AuditEntry.at >= now - timedelta(seconds=config.backfill_s))
        .order_by(AuditEntry.id)).all()
    if not rows:
        return []
    have = set(session.exec(sa.select(WebhookDelivery.audit_id, WebhookDelivery.url).where(
        WebhookDelivery.audit_id.in_([r.id for r in rows]))).all())
    made: list[WebhookDelivery] = []
    events: dict[int, Event] = {}
    for row in rows:
        for url in config.urls:
            if (row.id, url) in have:
                continue
            event = events.get(row.event_id) or session.get(Event, row.event_id)
            events[row.event_id] = event
            body = {"topic": TOPICS[State(row.to_state)], "event_id": row.event_id,
                    "audit_id": row.id, "from": row.from_state, "to": row.to_state,
                    "at": row.at.isoformat(), "actor": row.actor, "reason": row.reason,
                    "event": event_public(event).model_dump(mode="json")}
            made.append(WebhookDelivery(
                audit_id=row.id, event_id=row.event_id, topic=body["topic"], url=url,
                body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                state=PENDING, attempts=0, next_attempt_at=now, created_at=now))
    return made


def deliveries(session: Session, *, state: str | None, limit: int,
               offset: int) -> list[WebhookDelivery]:
    """Deliveries newest first, of one state or all."""
    query = select(WebhookDelivery)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    return list(session.exec(query.order_by(WebhookDelivery.id.desc())
                             .offset(offset).limit(limit)).all())


def replay(session: Session, delivery_id: int, *, now: datetime) -> WebhookDelivery:
    """Put a dead delivery back in the queue, due now, its tries counted afresh."""
    delivery = session.exec(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                            .with_for_update()).first()
    if delivery is None:
        raise NotFound(f"no webhook delivery with id {delivery_id}; list them with "
                       "GET /api/v1/webhooks/deliveries")
    if delivery.state != DEAD:
        raise Conflict(f"delivery {delivery_id} is '{delivery.state}'; only a dead one can be "
                       "replayed")
    delivery.state, delivery.attempts, delivery.next_attempt_at = PENDING, 0, now
    session.add(delivery)
    return delivery


class WebhookSender:
    """The leader's loop: enqueue, then send what is due (see the module doc)."""

    def __init__(self, *, engine: Engine, clock: Clock, config: WebhookConfig,
                 leads, monitor: Monitor) -> None:  # noqa: ANN001
        self.engine, self.clock, self.config = engine, clock, config
        self.leads, self.monitor = leads, monitor
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.config.timeout_s)
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                if self.leads():
                    await self.round()
            except Exception:  # one bad round must not stop the deliveries that follow
                log.exception("webhook round failed")
            await asyncio.sleep(self.config.poll_s)

    async def round(self) -> int:
        """Enqueue new changes and send every due delivery once; how many were sent."""
        await asyncio.to_thread(self._enqueue)
        due = await asyncio.to_thread(self._due)
        # A few at once: one receiver that times out must not hold up the rest for minutes.
        # Order is not promised (retries reorder anyway): receivers order by audit_id.
        gate = asyncio.Semaphore(SENDERS)

        async def send(delivery: WebhookDelivery) -> None:
            async with gate:
                with event_context(delivery.event_id):
                    await self._send(delivery)

        await asyncio.gather(*(send(d) for d in due))
        return len(due)

    def _enqueue(self) -> None:
        with Session(self.engine) as session:
            made = missing(session, self.config, now=self.clock.now())
            if not made:
                return  # the usual round: a read, no write lock taken
            try:
                with writing(session):
                    session.add_all(made)
                    session.commit()
            except sa.exc.IntegrityError:  # another leader's round wrote them first
                log.info("webhook deliveries already queued elsewhere")
                return
        log.info("%d webhook deliveries queued", len(made))

    def _due(self) -> list[WebhookDelivery]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(WebhookDelivery).where(
                WebhookDelivery.state == PENDING,
                WebhookDelivery.next_attempt_at <= self.clock.now())
                .order_by(WebhookDelivery.id).limit(100)).all())

    async def _send(self, delivery: WebhookDelivery) -> None:
        assert self._client is not None
        body = delivery.body.encode()
        # The signature's time is wall time, like a token's expiry: the receiver's clock judges it.
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", "X-Flyonce-Delivery": str(delivery.id),
                   "X-Flyonce-Topic": delivery.topic,
                   "X-Flyonce-Signature": signature(self.config.secret, stamp, body)}
        status, error = None, None
        try:
            response = await self._client.post(delivery.url, content=body, headers=headers)
            status = response.status_code
            if not response.is_success:
                error = f"HTTP {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        await asyncio.to_thread(self._record, delivery.id, status, error)

    def _record(self, delivery_id: int, status: int | None, error: str | None) -> None:
        now = self.clock.now()
        with Session(self.engine) as session, writing(session):
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.state != PENDING:
                return
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = status, error
            if error is None:
                delivery.state, delivery.delivered_at = DELIVERED, now
                outcome = "delivered"
            elif delivery.attempts >= self.config.max_attempts:
                delivery.state = DEAD
                outcome = "dead"
            else:
                delivery.next_attempt_at = now + timedelta(
                    seconds=backoff_s(self.config, delivery.attempts))
                outcome = "failed"
            session.add(delivery)
            session.commit()
            topic, url, attempts = delivery.topic, delivery.url, delivery.attempts
        self.monitor.webhooks.labels(outcome).inc()
        if outcome == "delivered":
            log.info("webhook %s %s delivered to %s (try %d)", delivery_id, topic, url, attempts)
        else:
            log.warning("webhook %s %s to %s: try %d %s: %s", delivery_id, topic, url, attempts,
                        "gave up" if outcome == "dead" else "failed", error)
