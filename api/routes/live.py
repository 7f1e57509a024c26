"""The live alert stream: a WebSocket that pushes every lifecycle change."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from api.core.errors import ServiceError
from api.routes.access import WEBSOCKET, roles_for
from api.routes.deps import user_of_token

router = APIRouter(tags=["live"])

LIVE_PATH = "/api/v1/live"
LIVE_ROLES = roles_for(WEBSOCKET, LIVE_PATH)


def _authorise(websocket: WebSocket, token: str) -> tuple[str, str, str | None]:
    user = user_of_token(websocket.app.state.engine, websocket.app.state.settings, token)
    return user.username, user.role, user.team_id


@router.websocket(LIVE_PATH)
async def live(websocket: WebSocket, token: str = "") -> None:
    """Send `{"kind": "hello"}` then one JSON message per transition, as it commits.

    Authenticate with `?token=<bearer token>` (browsers cannot set headers on WebSockets).
    Ground teams receive only the events they are tasked with.
    """
    try:
        username, role, team_id = await asyncio.to_thread(_authorise, websocket, token)
    except ServiceError as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=exc.message)
        return
    if role not in LIVE_ROLES:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="role may not watch alerts")
        return
    await websocket.accept()
    bus = websocket.app.state.bus
    async with bus.subscribe() as queue:
        await websocket.send_json({"kind": "hello", "user": username, "role": role})
        receiver = asyncio.create_task(_drain(websocket))
        try:
            while not receiver.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                message = getter.result()
                if team_id is not None and not _for_team(message, team_id):
                    continue
                await websocket.send_json(message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver


def _for_team(message: dict, team_id: str) -> bool:
    return team_id in (message.get("team_ids") or [])


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
