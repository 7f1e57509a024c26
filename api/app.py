"""The FastAPI application: wiring of settings, database, clock, zones and the alert bus."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from api.core import db
from api.core.bus import AlertBus, RedisAlertBus
from api.core.clock import Clock, SystemClock
from api.core.leader import Leadership
from api.core.throttle import LoginThrottle
from api.core.settings import Settings, get_settings
from api.core.zones import ZoneIndex
from api.fleet.dispatcher import DispatchWorker
from api.monitoring.metrics import Monitor, RequestTimer
from api.fleet.planning import ReachCache
from api.handoff.webhooks import WebhookConfig, WebhookSender
from api.patrols.scheduler import PatrolScheduler
from api.routes import (
    auth,
    codes,
    dispatch,
    errors,
    events,
    fleet,
    guards,
    handoff,
    health,
    hotspots,
    live,
    metrics,
    pages,
    patrols,
    penalties,
    persuasion,
    reachability,
    reviews,
    sites,
    video,
)
from api.video.service import VideoService

log = logging.getLogger("flyonce.api")


def _prepare(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    zones = ZoneIndex.load(settings.zones_file, default_target_s=settings.default_target_s)
    with Session(engine) as session:
        zones.sync(session)
    settings.resolved_media_dir.mkdir(parents=True, exist_ok=True)
    settings.resolved_secret_key()
    app.state.engine = engine
    app.state.zones = zones


def _warm_routes(app: FastAPI) -> None:
    """Match a path that no route has against every route, now.

    FastAPI prepares each included router's routes (their validators) the first time a request
    is matched against them: about a second of CPU for this app, which the first requests after a
    start would otherwise wait for (a take-over replica's first alerts among them).
    """
    scope = {"type": "http", "method": "GET", "path": "/.flyonce-warm-up", "root_path": "",
             "headers": [], "query_string": b""}
    for route in app.router.routes:
        route.matches(scope)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """A ready-to-serve application; migrations run and zones load at startup.

    ``clock`` is the one clock of the service (wall time when None). Settings that name a
    simulator clock need it built by the entry point (``api.main`` does), so a service never
    mixes mission time and wall time by accident.
    """
    settings = settings or get_settings()
    if clock is None and settings.sim_clock:
        raise ValueError("FLYONCE_SIM_CLOCK is set but no clock was given: start the service "
                         "with `flyonce serve` (or uvicorn api.main:app), which builds it")

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        await run_in_threadpool(_prepare, app)
        if settings.warm_routes:
            await run_in_threadpool(_warm_routes, app)
        bus = RedisAlertBus(settings.redis_url, settings.redis_channel) if settings.redis_url else AlertBus()
        await bus.start()
        app.state.bus = bus
        worker = DispatchWorker(engine=app.state.engine, bus=bus, clock=app.state.clock,
                                zones=app.state.zones, settings=settings)
        app.state.dispatch = worker
        worker.monitor = app.state.monitor
        app.state.monitor.engine = app.state.engine
        app.state.monitor.drones = worker.drone_gauges
        leader = Leadership(app.state.engine, app.state.clock, owner=worker.owner,
                            poll_s=settings.leader_poll_s)
        app.state.leader = leader
        await leader.start()  # a lone process leads before it starts its workers
        worker.leads = lambda: leader.is_leader
        await worker.start()
        app.state.patrols = PatrolScheduler(
            engine=app.state.engine, clock=app.state.clock, worker=worker,
            tick_s=settings.patrol_tick_s, late_s=settings.patrol_late_s,
            leads=lambda: leader.is_leader)
        await app.state.patrols.start()
        leader.on_gain += [worker.take_initiative, app.state.patrols.take_lead]
        app.state.video = VideoService(engine=app.state.engine, bus=bus, clock=app.state.clock,
                                       settings=settings)
        await app.state.video.start()
        app.state.webhooks = None
        if settings.webhook_urls and settings.webhook_secret is not None:
            app.state.webhooks = WebhookSender(
                engine=app.state.engine, clock=app.state.clock, config=WebhookConfig(
                    urls=tuple(settings.webhook_urls),
                    secret=settings.webhook_secret.get_secret_value(),
                    poll_s=settings.webhook_poll_s, timeout_s=settings.webhook_timeout_s,
                    backoff_s=settings.webhook_backoff_s,
                    max_attempts=settings.webhook_max_attempts),
                leads=lambda: leader.is_leader, monitor=app.state.monitor)
            await app.state.webhooks.start()
        try:
            yield
        finally:
            if app.state.webhooks is not None:
                await app.state.webhooks.stop()
            await app.state.video.stop()
            await app.state.patrols.stop()
            await app.state.dispatch.stop()
            await leader.stop()
            await bus.stop()
            app.state.engine.dispose()

    app = FastAPI(
        title="flyonce",
        version="0.1.0",
        summary="Drone patrol and dispatch: detect → alert → review → assign → resolve → evaluate",
        lifespan=lifespan,
        responses=errors.EVERY_ROUTE,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.monitor = Monitor()
    app.state.login_throttle = LoginThrottle(
        per_account=settings.login_max_failures_per_account,
        per_client=settings.login_max_failures_per_client, window_s=settings.login_window_s,
        redis_url=settings.redis_url, namespace=settings.redis_channel)
    app.state.reach = ReachCache(settings)  # reachability maps, recomputed when their inputs change

    errors.install(app)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.include_router(health.router)
    for module in (auth, events, fleet, metrics, live, dispatch, persuasion, hotspots, codes,
                   patrols, reachability, sites, penalties, handoff, video, reviews):
        app.include_router(module.router, responses=errors.AUTHED)
    pages.install(app, responses=errors.AUTHED)
    # Outermost first: a request without a valid token is refused before its body is read, and
    # a body over the limit before it is parsed (api/routes/guards.py).
    app.add_middleware(guards.BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(guards.TokenFirst, settings=settings)
    if settings.cors_origins:  # off unless configured: the pages are served from this origin
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["*"], allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(RequestTimer, monitor=app.state.monitor)
    return app
