"""The FastAPI application: wiring of settings, database, clock, zones and the alert bus."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlmodel import Session

from api import db
from api.bus import AlertBus, RedisAlertBus
from api.clock import Clock, clock_from_spec
from api.errors import IllegalTransition, ServiceError
from api.dispatcher import DispatchWorker
from api.patrol_scheduler import PatrolScheduler
from api.routes import (
    auth,
    codes,
    dispatch,
    events,
    fleet,
    live,
    metrics,
    offences,
    pages,
    patrols,
    persuasion,
)
from api.settings import Settings, get_settings
from api.zones import ZoneIndex

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


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """A ready-to-serve application; migrations run and zones load at startup."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        await run_in_threadpool(_prepare, app)
        bus = RedisAlertBus(settings.redis_url, settings.redis_channel) if settings.redis_url else AlertBus()
        await bus.start()
        app.state.bus = bus
        app.state.dispatch = DispatchWorker(engine=app.state.engine, bus=bus, clock=app.state.clock,
                                            zones=app.state.zones, settings=settings)
        await app.state.dispatch.start()
        app.state.patrols = PatrolScheduler(
            engine=app.state.engine, clock=app.state.clock, worker=app.state.dispatch,
            tick_s=settings.patrol_tick_s, late_s=settings.patrol_late_s)
        await app.state.patrols.start()
        try:
            yield
        finally:
            await app.state.patrols.stop()
            await app.state.dispatch.stop()
            await bus.stop()
            app.state.engine.dispose()

    app = FastAPI(
        title="flyonce",
        version="0.1.0",
        summary="Drone patrol and dispatch: detect → alert → review → assign → resolve → evaluate",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock or clock_from_spec(settings.sim_clock)

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        body: dict = {"detail": exc.message}
        if isinstance(exc, IllegalTransition):
            body.update(state=exc.from_state, requested=exc.to_state, allowed_next=exc.allowed)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg')}")
        return JSONResponse(
            {"detail": "; ".join(problems) or "invalid request", "errors": jsonable(exc.errors())},
            status_code=422,
        )

    @app.get("/healthz", tags=["health"], summary="200 when the database answers")
    def healthz() -> JSONResponse:
        try:
            with app.state.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # any database failure means "not healthy"
            return JSONResponse({"status": "unavailable", "detail": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "database": app.state.engine.dialect.name})

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/ui/")

    for module in (auth, events, fleet, metrics, live, dispatch, persuasion, offences, codes,
                   patrols):
        app.include_router(module.router)
    pages.install(app)
    return app


def jsonable(errors: list[dict]) -> list[dict]:
    """Validation errors with their (possibly unserialisable) context dropped."""
    return [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
