"""The service's video: streams from the fleet file, the detector over them, evidence clips.

Which drones have video: each fleet-file ``[[drone]]`` with ``video = "<url>"``, and the
``FLYONCE_VIDEO_SOURCES`` mapping (drone id → URL) for a fleet registered through the API or
video served by a separate gateway. A stream is opened once per service process and only by
this service: the detector and every viewer share it.

Evidence clips: when an event is alerted and the drone that detected it has a stream, the clip of
``clip_s`` seconds centred on the detection is cut from the ring buffer as soon as its second
half has been recorded; an operator may ask for one at any time (``make_clip``). A clip is a
WebM file stored with the event's media, an ``Evidence`` row of kind ``clip``, and an audit row
that names it. With several service processes (Redis bus) each would cut the same clip: the
second finds the first's row and stores none.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from api.core.bus import AlertBus
from api.core.clock import Clock
from api.core.db import writing
from api.core.errors import Conflict, NotFound
from api.core.models import AuditEntry, Event, Evidence, Task
from api.core.settings import Settings
from api.lifecycle.evidence import add_evidence
from api.lifecycle.queries import visible_event
from api.video.clip import CONTENT_TYPE, SUFFIX, encode_clip
from api.video.detect import DetectorWorker
from api.video.hub import StreamHub
from dispatch.tasks import cancel_and_wait

log = logging.getLogger("flyonce.video")

ACTOR = "video"
CLIP_KIND = "clip"


class NoVideo(NotFound):
    """The drone (or the event's drone) has no video stream in this service."""


@dataclass(frozen=True)
class ClipMade:
    evidence_id: int
    event_id: int
    drone_id: str
    start: datetime
    end: datetime
    frames: int
    duration_s: float


def video_sources(settings: Settings) -> dict[str, str]:
    """Drone id → video URL: the fleet file's ``video`` entries, then ``video_sources``."""
    sources: dict[str, str] = {}
    if settings.fleet_file is not None:
        from dispatch.fleet import load_fleet

        sources.update({e.id: e.video for e in load_fleet(settings.fleet_file) if e.video})
    sources.update(settings.video_sources)
    return sources


class VideoService:
    """Hubs by drone id, the detector worker, and the clip maker; ``start``/``stop`` from the
    lifespan (both quick: readers and the model load in their own threads)."""

    def __init__(self, *, engine: Engine, bus: AlertBus, clock: Clock, settings: Settings,
                 detector_factory: Any = None) -> None:
        self.engine, self.bus, self.clock, self.settings = engine, bus, clock, settings
        self.hubs: dict[str, StreamHub] = {}
        self.detector: DetectorWorker | None = None
        self._detector_factory = detector_factory
        self._tasks: list[asyncio.Task[Any]] = []
        self._clips: set[asyncio.Task[Any]] = set()  # clips waiting for their second half
        self._clipping: set[int] = set()

    def start_streams(self, sources: dict[str, str]) -> None:
        """Open one reader per source and start the detector over them (from a thread)."""
        s = self.settings
        self.hubs = {drone_id: StreamHub(drone_id, url, now=self.clock.now, ring_s=s.video_ring_s,
                                         on_frame=self._wake_detector)
                     for drone_id, url in sorted(sources.items())}
        if self.hubs and s.video_detector != "off":
            self.detector = DetectorWorker(list(self.hubs.values()),
                                           self._detector_factory or self._yolo,
                                           hz=s.video_detect_hz).start()
        for hub in self.hubs.values():
            hub.start()
        if self.hubs:
            log.info("video: %d streams (%s)", len(self.hubs), ", ".join(self.hubs))

    def _wake_detector(self, hub: StreamHub) -> None:
        if self.detector is not None:
            self.detector.wake(hub)

    def _yolo(self) -> object:
        from detection.model import Detector

        return Detector(conf=self.settings.video_detect_conf,
                        imgsz=self.settings.video_detect_imgsz)

    async def start(self) -> None:
        sources = await asyncio.to_thread(video_sources, self.settings)
        await asyncio.to_thread(self.start_streams, sources)
        if self.hubs and self.settings.video_auto_clip:
            self._tasks.append(asyncio.create_task(self._watch_alerts(), name="video-clips"))

    async def stop(self) -> None:
        await cancel_and_wait([*self._tasks, *self._clips])
        await asyncio.to_thread(self._stop_threads)

    def _stop_threads(self) -> None:
        for hub in self.hubs.values():  # all at once: each may sit in a network read
            hub.reader.signal_stop()
        for hub in self.hubs.values():
            hub.stop()
        if self.detector is not None:
            self.detector.stop()

    # ------------------------------------------------------------------ who sees what

    def hub(self, drone_id: str) -> StreamHub:
        hub = self.hubs.get(drone_id)
        if hub is None:
            raise NoVideo(f"drone '{drone_id}' has no video stream; list them with "
                          "GET /api/v1/video/drones")
        return hub

    def event_drone(self, session: Session, event_id: int, *, team_id: str | None) -> str:
        """The drone whose video shows ``event_id``: the drone tasked with it (it is there now),
        else the drone that detected it. NotFound for an event the reader may not see."""
        event = visible_event(session, event_id, team_id=team_id)
        tasked = session.exec(select(Task.drone_id).where(
            Task.event_id == event_id, Task.kind == "drone", Task.state != "cancelled",
            Task.drone_id.is_not(None)).order_by(Task.id.desc())).first()
        for drone_id in (tasked, event.detector_drone_id):
            if drone_id and drone_id in self.hubs:
                return drone_id
        raise NoVideo(f"event {event_id} has no drone with a video stream")

    # ------------------------------------------------------------------ evidence clips

    async def _watch_alerts(self) -> None:
        async with self.bus.subscribe() as queue:
            while True:
                msg = await queue.get()
                if msg.get("kind") != "transition" or msg.get("to") != "alerted":
                    continue
                event = msg.get("event") or {}
                drone_id = event.get("detector_drone_id")
                if drone_id in self.hubs and msg.get("event_id") not in self._clipping:
                    self._clipping.add(msg["event_id"])
                    task = asyncio.create_task(self._clip_later(
                        msg["event_id"], drone_id, datetime.fromisoformat(event["detected_at"])))
                    self._clips.add(task)
                    task.add_done_callback(self._clips.discard)

    async def _clip_later(self, event_id: int, drone_id: str, detected_at: datetime) -> None:
        """Cut the clip around ``detected_at`` once its second half has been recorded."""
        half = timedelta(seconds=self.settings.video_clip_s / 2)
        try:
            while self.clock.now() < detected_at + half:
                await asyncio.sleep(0.25)
            made = await asyncio.to_thread(self.make_clip, event_id, drone_id=drone_id,
                                           around=detected_at, actor=ACTOR)
            log.info("video: clip of event %d stored as evidence %d (%d frames, %.1f s)",
                     event_id, made.evidence_id, made.frames, made.duration_s)
        except (Conflict, NotFound) as exc:  # EmptyClip is a Conflict
            log.warning("video: no clip for event %d: %s", event_id, exc)
        except Exception:  # noqa: BLE001 - one clip's failure must not end the watcher
            log.exception("video: clip of event %d failed", event_id)
        finally:
            self._clipping.discard(event_id)

    def make_clip(self, event_id: int, *, drone_id: str | None = None,
                  around: datetime | None = None, actor: str) -> ClipMade:
        """Store the ``video_clip_s`` seconds of video centred on ``around`` (default: on the
        event's detection when the ring still holds it, else the last seconds) as evidence of
        ``event_id``, with its audit row. EmptyClip when the stream has no frames then."""
        span = timedelta(seconds=self.settings.video_clip_s)
        with Session(self.engine) as session:
            event = visible_event(session, event_id, team_id=None)
            drone_id = drone_id or self.event_drone(session, event_id, team_id=None)
            hub = self.hub(drone_id)
            now = self.clock.now()
            oldest = hub.ring.oldest()
            if around is None and event.detected_at is not None and oldest is not None \
                    and event.detected_at - span / 2 >= oldest:
                around = event.detected_at
            if around is not None:
                start, end, what = around - span / 2, around + span / 2, "around the detection"
            else:
                start, end, what = now - span, now, "up to the request"
            frames = hub.ring.window(start, end)
            clip = encode_clip(frames)
            with writing(session):
                if actor == ACTOR and session.exec(select(Evidence.id).where(
                        Evidence.event_id == event_id, Evidence.kind == CLIP_KIND)).first():
                    raise Conflict(f"event {event_id} already has an evidence clip")
                event = session.get(Event, event_id)
                evidence = add_evidence(session, event_id, clip.data,
                                        media_dir=self.settings.resolved_media_dir,
                                        max_bytes=len(clip.data), kind=CLIP_KIND, by=actor,
                                        now=now, checked=(CONTENT_TYPE, SUFFIX))
                session.flush()
                session.add(AuditEntry(
                    event_id=event_id, at=now, actor=actor, from_state=event.state,
                    to_state=event.state,
                    reason=(f"evidence clip #{evidence.id}: {clip.duration_s:.1f} s of drone "
                            f"{drone_id}'s video {what} ({frames[0].at.isoformat()} to "
                            f"{frames[-1].at.isoformat()}, {clip.frames} frames)")))
                session.commit()
                return ClipMade(evidence.id, event_id, drone_id, frames[0].at, frames[-1].at,
                                clip.frames, clip.duration_s)

