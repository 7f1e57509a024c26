"""One error body for the whole service: ``{"detail": "<what to do>", ...}``, declared in OpenAPI.

Domain code raises ``api.core.errors.ServiceError`` subclasses; here they become their HTTP status
with the message a person can act on. Validation errors keep FastAPI's list under ``errors``;
an illegal transition adds the state, the requested state and the allowed next states. Every
status the service answers with is declared with this one model (`ErrorBody`), 422 included, in
place of FastAPI's default `HTTPValidationError` (whose `detail` is a list).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.core.errors import IllegalTransition, ServiceError, TooManyRequests
from api.routes import guards

log = logging.getLogger("flyonce.api")


class ValidationProblem(BaseModel):
    """One field a request got wrong."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then the field.")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every answer that is not a success: what went wrong and what to do about it."""

    detail: str = Field(description="What went wrong, in words a person can act on.")
    errors: list[ValidationProblem] | None = Field(
        None, description="422 from validation: each field that was wrong.")
    state: str | None = Field(None, description="409 illegal transition: the event's state.")
    requested: str | None = Field(None, description="409 illegal transition: the state asked for.")
    allowed_next: list[str] | None = Field(
        None, description="409 illegal transition: the states the event may move to.")


WHY = {
    400: "The body could not be parsed (malformed JSON or form).",
    401: "No token, or an invalid or expired one: log in at /api/v1/auth/token.",
    403: "The role or team of the token may not do this.",
    404: "No such item.",
    409: "The item's state forbids it, or a unique value already exists.",
    413: "The request body or an image is too large.",
    422: "The request is invalid: `detail` says what, `errors` lists each field.",
    429: "Too many requests; `detail` says when to try again.",
    502: "A drone refused the command.",
    503: "The service cannot do this now (no fleet connected, database down).",
}


def responses(*codes: int) -> dict[int | str, dict]:
    """OpenAPI `responses=` declaring `codes` with the one error body."""
    return {code: {"model": ErrorBody, "description": WHY[code]} for code in codes}


# Every route may answer these: a body that cannot be parsed, one over the size limit, an
# invalid request, and a token that is not valid (checked before the body is read).
EVERY_ROUTE = responses(400, 413, 422)
# Routes behind a login: no token / bad token, the wrong role, an unknown item, a refused change.
AUTHED = responses(401, 403, 404, 409)


def _allowed_methods(request: Request) -> list[str]:
    """Every method the API serves at this path (Starlette names only the first route's)."""
    return guards.allowed_methods(request.url.path)


def body(message: str, **extra: object) -> dict:
    """The error body as JSON-ready data."""
    return {"detail": message, **extra}


def install(app: FastAPI) -> None:
    """Register the service's error handlers on ``app``."""

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        extra: dict = {}
        if isinstance(exc, IllegalTransition):
            extra = {"state": exc.from_state, "requested": exc.to_state,
                     "allowed_next": exc.allowed}
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, TooManyRequests) and exc.retry_after_s is not None:
            headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse(body(exc.message, **extra), status_code=exc.status_code,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg')}")
        return JSONResponse(
            body("; ".join(problems) or "invalid request", errors=jsonable(exc.errors())),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and (allowed := _allowed_methods(request)):
            headers["Allow"] = ", ".join(allowed)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(body(detail), status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(body("internal error; it was logged, try again or report it"),
                            status_code=500)


def jsonable(errors: list[dict]) -> list[dict]:
    """Validation errors with their (possibly unserialisable) context dropped."""
    return [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
