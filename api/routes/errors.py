"""One error body for the whole service: ``{"detail": "<what to do>", ...}``.

Domain code raises ``api.core.errors.ServiceError`` subclasses; here they become their HTTP status
with the message a person can act on. Validation errors keep FastAPI's list under ``errors``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.core.errors import IllegalTransition, ServiceError


def install(app: FastAPI) -> None:
    """Register the service's error handlers on ``app``."""

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


def jsonable(errors: list[dict]) -> list[dict]:
    """Validation errors with their (possibly unserialisable) context dropped."""
    return [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
