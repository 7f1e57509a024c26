"""The live alert stream: a WebSocket that pushes every lifecycle change."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from starlette.websockets import WebSocketState

from api.core.errors import ServiceError
from api.routes.access import WEBSOCKET, roles_for
from api.routes.deps import user_of_token

router = APIRouter(tags=["live"])

LIVE_PATH = "/api/v1/live"
LIVE_ROLES = roles_for(WEBSOCKET, LIVE_PATH)
PROTOCOL = "flyonce.v1"
BEARER = "bearer."
FIRST_MESSAGE_S = 5.0
IN_URL = "put the token in the subprotocol bearer.<token> or the first message, never the URL"
NO_TOKEN = ('no token: offer the subprotocols flyonce.v1 and bearer.<token>, or send '
            '{"token": "<token>"} first')
log = logging.getLogger("flyonce.api.live")


def _peer(websocket: WebSocket) -> str:
    return websocket.client.host if websocket.client else "unknown"


async def _first_message_token(websocket: WebSocket) -> str | None:
    """The token of a first message ``{"token": "..."}``; None when none comes in time."""
    try:
        message = await asyncio.wait_for(websocket.receive_text(), FIRST_MESSAGE_S)
        token = json.loads(message).get("token")
    except (TimeoutError, WebSocketDisconnect, ValueError, AttributeError, RuntimeError):
        return None
    return token if isinstance(token, str) and token else None


def _authorise(websocket: WebSocket, token: str) -> tuple[str, str, str | None]:
    user = user_of_token(websocket.app.state.engine, websocket.app.state.settings, token)
    return user.username, user.role, user.team_id


@router.websocket(LIVE_PATH)
async def live(websocket: WebSocket) -> None:
    """Send `{"kind": "hello"}` then one JSON message per transition, as it commits.

    The token never goes in the URL (URLs end up in proxies' and servers' logs). Either offer
    the subprotocols `flyonce.v1` and `bearer.<token>` (browsers:
    `new WebSocket(url, ["flyonce.v1", "bearer." + token])`; the server answers `flyonce.v1`),
    or open the socket and send `{"token": "<token>"}` as the first message within 5 s.
    Ground teams receive only the events they are tasked with.
    """
    if "token" in websocket.query_params:
        log.warning("refused a live connection with a token in its URL (from %s); the token "
                    "goes in the subprotocol or the first message", _peer(websocket))
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=IN_URL)
        return
    offered = websocket.scope.get("subprotocols") or []
    chosen = PROTOCOL if PROTOCOL in offered else None
    token = next((p[len(BEARER):] for p in offered if p.startswith(BEARER)), None)
    if token is None:
        await websocket.accept(subprotocol=chosen)
        token = await _first_message_token(websocket)
        if token is None:
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=NO_TOKEN)
            return
    try:
        username, role, team_id = await asyncio.to_thread(_authorise, websocket, token)
    except ServiceError as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=exc.message)
        return
    if role not in LIVE_ROLES:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="role may not watch alerts")
        return
    if websocket.client_state == WebSocketState.CONNECTING:
        await websocket.accept(subprotocol=chosen)
    bus = websocket.app.state.bus
    async with bus.subscribe() as queue:
        await websocket.send_json({"kind": "hello", "user": username, "role": role})
        # Two tasks for the socket's life, not a task per message: one sends, one notices the
        # client leave; whichever ends first ends both.
        sender = asyncio.create_task(_send(websocket, queue, team_id))
        receiver = asyncio.create_task(_drain(websocket))
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, receiver):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def _send(websocket: WebSocket, queue: asyncio.Queue, team_id: str | None) -> None:
    """Send each alert as it comes: its JSON text, encoded once for every client."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await queue.get()
            if team_id is not None and not _for_team(message, team_id):
                continue
            text = getattr(message, "text", None)
            await websocket.send_text(text if text is not None else json.dumps(message))


def _for_team(message: dict, team_id: str) -> bool:
    return team_id in (message.get("team_ids") or [])


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
