"""Whether the service can work: `/healthz` answers 200 when the database does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.core import db
from api.routes import errors

router = APIRouter(tags=["health"])


@router.get("/healthz", responses=errors.responses(503), summary="200 when the database answers")
async def healthz(request: Request) -> JSONResponse:
    try:
        dialect = await run_in_threadpool(db.ping, request.app.state.engine)
    except Exception as exc:  # any database failure means "not healthy"
        return JSONResponse({"status": "unavailable", "detail": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ok", "database": dialect})
