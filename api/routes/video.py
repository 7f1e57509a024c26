"""Live drone video for logged-in roles: stream status, MJPEG with boxes, evidence clips.

The browser transport is MJPEG over HTTP (``multipart/x-mixed-replace``), read by the page with
``fetch()`` so the bearer token travels in the Authorization header, never in a URL, and drawn
on a canvas. Each image part carries the frame's number and arrival time and the detector's
newest boxes as headers (``X-Frame-Seq``, ``X-Frame-At``, ``X-Boxes``); while a stream is down, a
JSON part each second says so and when the last frame came (``{"state": "lost", ...}``). Every
Chromium plays it without plugins and it needs no encoder per viewer: each frame is encoded
once, by the source or the reader, and sent as it is to every viewer.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from api.lifecycle.evidence import evidence_by_id, evidence_public
from api.lifecycle.schemas import EvidencePublic
from api.routes.deps import Allowed, SessionDep, team_scope
from api.routes.params import Id
from api.video.hub import StreamHub
from api.video.service import VideoService

router = APIRouter(prefix="/api/v1", tags=["video"])

BOUNDARY = "flyoncevideo"
#: With no new frame this long, a viewer is sent a status part (and "lost" shows).
STATUS_EVERY_S = 1.0
DroneId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                              description="A drone's id, as in the fleet file.")]
LIVE = {200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}},
              "description": "JPEG parts (headers X-Frame-Seq, X-Frame-At, X-Boxes) and, while "
                             "the signal is lost, JSON status parts, until the client leaves."}}


class GapPublic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime | None
    reason: str


class StreamPublic(BaseModel):
    """A drone's video stream as the console lists it."""

    model_config = ConfigDict(extra="forbid")

    drone_id: str
    state: Literal["connecting", "live", "lost"]
    last_frame_at: datetime | None
    frames: int
    detector_looks: int  # frames the detector has looked at (its boxes go with later frames)
    lost_since: datetime | None
    reason: str | None
    gaps: list[GapPublic]
    url: str  # where the page reads it (this service's route, never the camera's own URL)


def _video(request: Request) -> VideoService:
    return request.app.state.video


@router.get("/video/drones", response_model=list[StreamPublic],
            summary="The drones with a video stream: live or lost, the last frame, the gaps")
def video_drones(request: Request, user: Allowed) -> list[StreamPublic]:
    return [StreamPublic(**hub.status(), url=f"/api/v1/video/drones/{hub.drone_id}/live")
            for hub in _video(request).hubs.values()]


@router.get("/video/drones/{drone_id}/live", response_class=StreamingResponse, responses=LIVE,
            summary="A drone's live video with the detector's boxes (MJPEG over HTTP)")
def drone_live(drone_id: DroneId, request: Request, user: Allowed) -> StreamingResponse:
    return _stream(_video(request).hub(drone_id))


@router.get("/events/{event_id}/video/live", response_class=StreamingResponse, responses=LIVE,
            summary="Live video of the drone at an event (tasked there, else the one that "
                    "detected it); a ground team sees its own tasks' events only")
def event_live(event_id: Id, request: Request, user: Allowed,
               session: SessionDep) -> StreamingResponse:
    video = _video(request)
    drone_id = video.event_drone(session, event_id, team_id=team_scope(user))
    return _stream(video.hub(drone_id))


@router.post("/events/{event_id}/video/clip", response_model=EvidencePublic,
             status_code=status.HTTP_201_CREATED,
             summary="Store an evidence clip now: the configured seconds around the detection "
                     "if the ring buffer still holds them, else the last seconds")
async def event_clip(event_id: Id, request: Request, user: Allowed,
                     session: SessionDep) -> EvidencePublic:
    made = await run_in_threadpool(_video(request).make_clip, event_id, actor=user.username)
    return evidence_public(await run_in_threadpool(evidence_by_id, session, made.evidence_id))


def _stream(hub: StreamHub) -> StreamingResponse:
    return StreamingResponse(_parts(hub), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no",
                                      "X-Drone-Id": hub.drone_id})


async def _parts(hub: StreamHub):
    """The multipart body: the newest frame as each comes, a status part each second without."""
    seq = 0
    while True:
        frame = await hub.next_frame(seq, STATUS_EVERY_S)
        if frame is None:
            state = hub.status()
            body = json.dumps({k: state[k] for k in ("state", "last_frame_at", "lost_since",
                                                     "reason")}, default=str).encode()
            yield _part("application/json", body, {})
            continue
        seq = frame.seq
        yield _part("image/jpeg", frame.jpeg, {"X-Frame-Seq": str(frame.seq),
                                               "X-Frame-At": frame.at.isoformat(),
                                               "X-Boxes": hub.boxes_json})


def _part(content_type: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"{head}\r\n").encode() + body + b"\r\n"
