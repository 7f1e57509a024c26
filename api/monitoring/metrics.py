"""Prometheus metrics of one `serve` process, exposed at ``/metrics`` (api/routes/monitoring.py).

One ``Monitor`` per application, with its own ``CollectorRegistry`` (tests build many apps in one
process; the global registry would refuse the second). Counters and histograms are this
process's own: Prometheus scrapes each replica and sums them. Gauges that describe shared state
(events by state, dead letters) are read from the database at scrape time, so any replica
answers them the same.

| metric | type | labels | what |
|---|---|---|---|
| ``flyonce_http_request_duration_seconds`` | histogram | method, route, status | request latency (route template, not path) |
| ``flyonce_events`` | gauge | state | events in each lifecycle state |
| ``flyonce_alert_latency_seconds`` | histogram | | candidate's detection → its event alerted (mission s) |
| ``flyonce_candidates_total`` | counter | source | candidates received |
| ``flyonce_detection_last_candidate_age_seconds`` | gauge | source | time since a source's last candidate (its gap) |
| ``flyonce_detection_frames_total`` | counter | source, kind | frames a detector reported: in, used, skipped_telemetry (a gap in the flight log), skipped_frame |
| ``flyonce_detection_frames_per_second`` | gauge | source | frames/s of a detector's last reported run |
| ``flyonce_drone_linked`` / ``_battery_percent`` / ``_mode`` / ``_armed`` | gauge | drone (, mode) | the fleet as this process is linked to it |
| ``flyonce_dispatch_decisions_total`` | counter | kind | dispatch steps (assigned, on_scene, unserved, replaced, …) |
| ``flyonce_dispatch_target_misses_total`` | counter | reason | drones on scene after the target, by reason |
| ``flyonce_leader`` | gauge | owner | 1 in the process that leads the cluster |
| ``flyonce_login_throttled_total`` | counter | scope | logins refused with 429 (account, client) |
| ``flyonce_webhook_deliveries_total`` | counter | outcome | webhook attempts (delivered, failed, dead) |
| ``flyonce_webhook_dead_letters`` | gauge | | deliveries given up, waiting for a replay |
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from api.monitoring.logs import event_context, event_id_of_path

# Alert latency is mission seconds between a look and its alert: sub-second normally, minutes
# when a detector posts late.
ALERT_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _SharedState(Collector):
    """Gauges read at scrape time: from the database and from the live fleet."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterable[GaugeMetricFamily]:
        m = self.monitor
        if m.engine is not None:
            events = GaugeMetricFamily("flyonce_events", "Events in each lifecycle state",
                                       labels=["state"])
            dead = GaugeMetricFamily("flyonce_webhook_dead_letters",
                                     "Webhook deliveries given up, waiting for an admin's replay")
            with m.engine.connect() as conn:
                for state, n in conn.execute(sa.text(
                        "SELECT state, count(*) FROM events GROUP BY state")).all():
                    events.add_metric([state], n)
                dead.add_metric([], conn.execute(sa.text(
                    "SELECT count(*) FROM webhook_deliveries WHERE state = 'dead'")).scalar() or 0)
            yield events
            yield dead
        views = m.drone_snapshot
        linked = GaugeMetricFamily("flyonce_drone_linked", "1 when this process hears the drone",
                                   labels=["drone"])
        battery = GaugeMetricFamily("flyonce_drone_battery_percent", "Battery left, percent",
                                    labels=["drone"])
        mode = GaugeMetricFamily("flyonce_drone_mode", "1 for the drone's flight mode",
                                 labels=["drone", "mode"])
        armed = GaugeMetricFamily("flyonce_drone_armed", "1 when the drone is armed",
                                  labels=["drone"])
        for v in views:
            linked.add_metric([v["id"]], 1.0 if v["linked"] else 0.0)
            if v["battery_pct"] is not None:
                battery.add_metric([v["id"]], v["battery_pct"])
            mode.add_metric([v["id"], v["mode"] or "unknown"], 1.0)
            armed.add_metric([v["id"]], 1.0 if v["armed"] else 0.0)
        yield from (linked, battery, mode, armed)
        now = time.monotonic()
        age = GaugeMetricFamily("flyonce_detection_last_candidate_age_seconds",
                                "Wall seconds since this process last received a candidate from the "
                                "source (a detection gap)", labels=["source"])
        for source, at in m.last_candidate.items():
            age.add_metric([source], now - at)
        yield age


class Monitor:
    """The metrics of one application (see the module doc)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.engine: Engine | None = None
        self.drones: Callable[[], list[dict[str, Any]]] | None = None
        # The fleet's state read on the event loop (where the links live) just before a scrape;
        # the scrape itself runs in a thread (it reads the database).
        self.drone_snapshot: list[dict[str, Any]] = []
        self.last_candidate: dict[str, float] = {}
        self.http = Histogram("flyonce_http_request_duration_seconds", "Request latency",
                              ["method", "route", "status"], buckets=HTTP_BUCKETS_S, registry=r)
        self.alert_latency = Histogram(
            "flyonce_alert_latency_seconds", "From a candidate's detection to its event's alert "
            "(mission s)", buckets=ALERT_BUCKETS_S, registry=r)
        self.candidates = Counter("flyonce_candidates", "Candidates received", ["source"],
                                  registry=r)
        self.frames = Counter("flyonce_detection_frames", "Frames detection workers reported",
                              ["source", "kind"], registry=r)
        self.frames_per_s = Gauge("flyonce_detection_frames_per_second",
                                  "Frames/s of a detection worker's last reported run", ["source"],
                                  registry=r)
        self.dispatch = Counter("flyonce_dispatch_decisions", "Dispatch steps written", ["kind"],
                                registry=r)
        self.misses = Counter("flyonce_dispatch_target_misses",
                              "Drones on scene after the event's target, by reason", ["reason"],
                              registry=r)
        self.leader = Gauge("flyonce_leader", "1 in the process that leads the cluster",
                            ["owner"], registry=r)
        self.throttled = Counter("flyonce_login_throttled", "Logins refused for too many failures",
                                 ["scope"], registry=r)
        self.webhooks = Counter("flyonce_webhook_deliveries", "Webhook delivery attempts",
                                ["outcome"], registry=r)
        r.register(_SharedState(self))

    def candidate(self, source: str) -> None:
        self.candidates.labels(source).inc()
        self.last_candidate[source] = time.monotonic()

    def detection_report(self, source: str, *, frames_in: int, frames_used: int,
                         skipped: dict[str, int], frames_per_s: float | None) -> None:
        self.frames.labels(source, "in").inc(frames_in)
        self.frames.labels(source, "used").inc(frames_used)
        for reason, n in skipped.items():
            self.frames.labels(source, f"skipped_{reason}").inc(n)
        if frames_per_s is not None:
            self.frames_per_s.labels(source).set(frames_per_s)

    def snapshot(self) -> None:
        """Read the fleet's state for the next scrape (on the event loop)."""
        self.drone_snapshot = self.drones() if self.drones is not None else []

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes (reads the database: call off the loop, after
        ``snapshot``)."""
        return generate_latest(self.registry)


class RequestTimer:
    """Pure-ASGI middleware: every HTTP request's latency, labelled by its route template."""

    def __init__(self, app: Any, *, monitor: Monitor) -> None:
        self.app = app
        self.monitor = monitor

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        event_id = event_id_of_path(scope["path"])

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with event_context(event_id):  # every line logged for this request names the event
                await self.app(scope, receive, tracked)
        finally:
            route = scope.get("route")
            # The template keeps the label set small: /events/{event_id}, not one per id.
            template = getattr(route, "path", None) or "unmatched"
            self.monitor.http.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started)
