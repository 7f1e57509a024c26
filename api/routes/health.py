"""Whether the service can work: `/healthz` answers 200 when the database does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.core import db
from api.routes import errors

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    database: str = Field(description="The database's dialect, e.g. sqlite or postgresql.")


@router.get("/healthz", response_model=Health, responses=errors.responses(503), summary="200 when the database answers")
async def healthz(request: Request) -> JSONResponse:
    try:
        dialect = await run_in_threadpool(db.ping, request.app.state.engine)
    except Exception as exc:  # any database failure means "not healthy"
        return JSONResponse({"status": "unavailable", "detail": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ok", "database": dialect})
