"""Probes and metrics for the machines around the service.

- ``/healthz``: the process is alive and serving (a liveness probe; touches nothing else).
- ``/readyz``: whether it can do its work: the database answers, Redis answers (when set), and
  the fleet is heard (when configured); 503 when the database or Redis does not answer. Anyone
  gets the status; only an admin's token gets the details (which check failed and why, which
  process leads), so a stranger learns nothing of the insides, never an exception's text.
- ``/metrics``: Prometheus text (api/monitoring/metrics.py); open, unless
  ``FLYONCE_METRICS_TOKEN`` is set, then it needs ``Authorization: Bearer <that token>``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Literal

import jwt

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.core import db
from api.core.auth import Role, decode_token
from api.core.bus import RedisAlertBus
from api.core.errors import ServiceError
from api.fleet.dispatcher import is_heard
from api.routes import errors
from api.routes.deps import Unauthorized, user_of_token

log = logging.getLogger("flyonce.api.health")
router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 3.0


class Alive(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool
    detail: str = Field(description="What was found, or why it failed.")


class Leader(BaseModel):
    is_leader: bool
    owner: str = Field(description="This process: host:pid:nonce.")
    backend: str = Field(description="What elects: a PostgreSQL advisory lock or a file lock.")
    since: str | None = Field(None, description="When this process last became leader (ISO 8601).")


class Ready(BaseModel):
    status: Literal["ready", "degraded", "unavailable"] = Field(
        description="ready: all checks pass; degraded: it serves but no drone is heard; "
        "unavailable (503): the database or Redis does not answer.")
    checks: dict[str, Check] | None = Field(None, description="Admins only.")
    leader: Leader | None = Field(None, description="Admins only.")


@router.get("/healthz", response_model=Alive, summary="200 while the process serves (liveness)")
async def healthz() -> Alive:
    return Alive()


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _is_admin(request: Request, *, database_ok: bool) -> bool:
    """Whether the request carries a valid admin token. The account is looked up when the
    database answers; when it does not (the moment details matter most), the signed token's
    role claim is trusted, without a second wait on a database that just failed its probe."""
    token = _bearer(request)
    if token is None:
        return False
    settings = request.app.state.settings
    try:
        claims = decode_token(token, secret=settings.resolved_secret_key())
    except jwt.InvalidTokenError:
        return False
    if claims.get("role") != Role.ADMIN:
        return False
    if not database_ok:
        return True
    try:
        user = await asyncio.wait_for(asyncio.to_thread(
            user_of_token, request.app.state.engine, settings, token), CHECK_TIMEOUT_S)
    except ServiceError:
        return False  # the account was removed, disabled or demoted
    except Exception:  # the database went down since: the signature and expiry were checked
        return True
    return user.role == Role.ADMIN


async def _check(name: str, probe, *args) -> Check:  # noqa: ANN001
    try:
        detail = await asyncio.wait_for(asyncio.to_thread(probe, *args), CHECK_TIMEOUT_S)
    except TimeoutError:
        return Check(ok=False, detail=f"no answer in {CHECK_TIMEOUT_S:.0f} s")
    except Exception as exc:  # any failure is "not ready"; the admin sees what it was
        log.warning("readiness: %s failed: %s", name, exc)
        return Check(ok=False, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
    return Check(ok=True, detail=detail)


def _redis(bus: RedisAlertBus) -> str:
    bus.ping()
    return "answers"


@router.get("/readyz", response_model=Ready, responses=errors.responses(503),
            summary="200 when the database (and Redis) answer; details for an admin's token")
async def readyz(request: Request) -> JSONResponse:
    app = request.app
    probes = {"database": _check("database", db.ping, app.state.engine)}
    bus = getattr(app.state, "bus", None)
    if isinstance(bus, RedisAlertBus):
        probes["redis"] = _check("redis", _redis, bus)
    # At once: a database and a Redis that both hang cost one timeout, not two.
    checks = dict(zip(probes, await asyncio.gather(*probes.values()), strict=True))
    worker = getattr(app.state, "dispatch", None)
    if worker is not None and worker.dispatcher is not None:
        views = worker.dispatcher.drones()
        heard = [v.id for v in views if is_heard(v)]
        checks["fleet"] = Check(ok=bool(heard), detail=f"{len(heard)} of {len(views)} drones heard"
                                + (f": {', '.join(heard)}" if heard else ""))
    else:
        checks["fleet"] = Check(ok=True, detail="no fleet configured")
    down = not checks["database"].ok or not checks.get("redis", checks["database"]).ok
    status = "unavailable" if down else "ready" if checks["fleet"].ok else "degraded"
    body = Ready(status=status)
    if await _is_admin(request, database_ok=checks["database"].ok):
        body.checks = checks
        leader = getattr(app.state, "leader", None)
        if leader is not None:
            body.leader = Leader(is_leader=leader.is_leader, owner=leader.owner,
                                 backend=leader.backend,
                                 since=leader.since.isoformat() if leader.since else None)
    answer = body.model_dump(mode="json", exclude_none=True)
    if down:  # the one error body (its detail), with the status and, for an admin, the checks
        answer["detail"] = "not ready: the database or Redis does not answer"
    return JSONResponse(answer, status_code=503 if down else 200)


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {"text/plain": {}}, "description": "Prometheus text format 0.0.4"},
    **errors.responses(401)}, summary="Prometheus metrics of this process")
async def metrics(request: Request) -> Response:
    expected = request.app.state.settings.metrics_token
    if expected is not None:
        given = _bearer(request) or ""
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise Unauthorized("/metrics needs 'Authorization: Bearer <FLYONCE_METRICS_TOKEN>'")
    leader = getattr(request.app.state, "leader", None)
    monitor = request.app.state.monitor
    if leader is not None:
        monitor.leader.clear()
        monitor.leader.labels(leader.owner).set(1.0 if leader.is_leader else 0.0)
    monitor.snapshot()
    body = await run_in_threadpool(monitor.exposition)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
