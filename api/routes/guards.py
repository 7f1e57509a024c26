"""Pure-ASGI guards that run before FastAPI reads a request's body.

FastAPI reads and parses the body before it solves a route's dependencies, so without these an
anonymous client could make the service read, buffer and parse a body (up to its whole size)
only to be told 401 afterwards, and a 300 MB JSON body would be read whole before any check.

- `TokenFirst`: a route that needs a login answers 401 at once when the bearer token is
  missing, malformed or expired; the role check stays in the route's dependencies.
- `BodyLimit`: a body over `FLYONCE_MAX_BODY_BYTES` answers 413, from its Content-Length when it
  has one, else by counting the bytes as they stream in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException

from api.core.errors import ServiceError
from api.core.settings import Settings
from api.routes.access import ACCESS, MOUNT, WEBSOCKET
from api.routes.deps import _username_of

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _reply(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """Answer with the service's one error body (api/routes/errors.py)."""
    payload = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


# (path pattern, method, needs a token), compiled once from the access table: the one list of
# which routes are public (api/routes/access.py), not re-derived from the OpenAPI document.
_LOGIN_NEEDED = [
    (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"), method,
     not rule.public)
    for (method, template), rule in ACCESS.items() if method not in (WEBSOCKET, MOUNT)]


def allowed_methods(path: str) -> list[str]:
    """Every method the API serves at `path` (a 405's Allow header)."""
    return sorted({m for pattern, m, _ in _LOGIN_NEEDED if pattern.match(path)})


def needs_login(method: str, path: str) -> bool:
    """Whether the operation at (`method`, `path`) needs a bearer token."""
    return any(needed and m == method and pattern.match(path)
               for pattern, m, needed in _LOGIN_NEEDED)


class TokenFirst:
    """401 before the body is read, for operations that need a login and got no valid token."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_login(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await _reply(send, 401, "Not authenticated: send 'Authorization: Bearer <token>' "
                         "from POST /api/v1/auth/token", {"WWW-Authenticate": "Bearer"})
            return
        try:
            _username_of(self.settings, token.strip())
        except ServiceError as exc:
            await _reply(send, exc.status_code, exc.message, {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the streamed body passes the limit.

    A Starlette HTTPException, so FastAPI's body reading re-raises it as is (any other error
    there becomes a 400 'error parsing the body') and the service's handler answers 413.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large(max_bytes))


def _too_large(max_bytes: int) -> str:
    return (f"the request body is over the {max_bytes / 1e6:.1f} MB limit "
            "(FLYONCE_MAX_BODY_BYTES); send a smaller body or a smaller image")


class BodyLimit:
    """413 for a body over `max_bytes`: by Content-Length up front, else while it streams."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await _reply(send, 400, f"Content-Length {length!r} is not a number of bytes")
                return
            if int(length) > self.max_bytes:
                await _reply(send, 413, _too_large(self.max_bytes))
                return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge:
            if started:
                raise
            await _reply(send, 413, _too_large(self.max_bytes))
