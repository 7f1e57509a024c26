"""The fleet: which drones exist (a fleet file or the API), and whether each can take a task now."""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from dispatch.errors import FleetFileError
from dispatch.link import Telemetry
from dispatch.links import parse_link_url

__all__ = ["VIDEO_SCHEMES", "FleetEntry", "availability", "load_fleet"]

#: What a drone's ``video`` may be: what FFmpeg reads live (RTSP, RTMP, SRT, HTTP-FLV or an MJPEG
#: camera over HTTP, raw UDP/TCP MPEG-TS), or a file (a path, or file:) for tests and replays.
VIDEO_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "srt", "http", "https", "udp", "tcp", "file")


@dataclass(frozen=True)
class FleetEntry:
    """One drone of the fleet: its id, URL and dock.

    The URL names the protocol (``dispatch.links``): MAVLink as ``tcp:host:port``, ``udpin:…``
    or ``mavlink+tcp://host:port``; a DJI dock as ``dji+mqtt://broker:1883/{gateway_sn}``.
    """

    id: str
    url: str
    dock_lat: float
    dock_lon: float
    name: str = ""
    video: str = ""  # the drone's video stream (rtsp/rtmp/srt/http/file URL); "" when it has none

    def __post_init__(self) -> None:
        if not self.id:
            raise FleetFileError("a drone needs a non-empty id")
        try:
            parse_link_url(self.url)
        except FleetFileError as exc:
            raise FleetFileError(f"drone {self.id!r}: {exc}") from None
        if not (math.isfinite(self.dock_lat) and math.isfinite(self.dock_lon)
                and -90 <= self.dock_lat <= 90 and -180 <= self.dock_lon <= 180):
            raise FleetFileError(f"drone {self.id!r}: dock ({self.dock_lat}, {self.dock_lon}) "
                                 "is not a WGS84 (lat, lon) in degrees")
        scheme = urlparse(self.video).scheme
        if self.video and scheme not in VIDEO_SCHEMES and not (scheme == "" and "/" in self.video):
            raise FleetFileError(f"drone {self.id!r}: video {self.video!r} is not a stream URL; "
                                 f"use one of {', '.join(VIDEO_SCHEMES)}:// or a file path")

    @property
    def protocol(self) -> str:
        """"mavlink" or "dji", from the URL."""
        return parse_link_url(self.url).protocol


def load_fleet(path: str | Path) -> list[FleetEntry]:
    """The drones of a fleet file: TOML ``[[drone]]`` tables or JSON ``{"drones": [...]}``.

    Each entry has ``id``, ``url`` and ``dock = [lat, lon]`` (or ``dock_lat``/``dock_lon``),
    optionally ``name`` and ``video`` (its camera's stream URL). ``FleetFileError`` says which entry is wrong and how.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetFileError(f"cannot read fleet file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise FleetFileError(f"fleet file {path} is not valid {path.suffix[1:] or 'TOML'}: "
                             f"{exc}") from exc
    raw = data.get("drones", data.get("drone")) if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise FleetFileError(f"fleet file {path} lists no drones; add [[drone]] tables with "
                             "id, url and dock = [lat, lon]")
    return entries_from(raw, where=str(path))


def entries_from(raw: Iterable[object], *, where: str = "fleet") -> list[FleetEntry]:
    """Fleet entries from plain dicts (as a fleet file or an API body holds them)."""
    entries: list[FleetEntry] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise FleetFileError(f"{where}: drone #{index + 1} must be a table of id, url, dock")
        try:
            dock = item.get("dock")
            lat, lon = (dock if dock is not None else (item["dock_lat"], item["dock_lon"]))
            entries.append(FleetEntry(id=str(item["id"]), url=str(item["url"]),
                                      dock_lat=float(lat), dock_lon=float(lon),
                                      name=str(item.get("name", "")),
                                      video=str(item.get("video", ""))))
        except KeyError as exc:
            raise FleetFileError(f"{where}: drone #{index + 1} lacks {exc.args[0]!r}; each "
                                 "needs id, url and dock = [lat, lon]") from None
        except (TypeError, ValueError) as exc:
            raise FleetFileError(f"{where}: drone #{index + 1}: {exc}; dock must be "
                                 "[lat, lon] in degrees") from None
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise FleetFileError(f"{where}: drone ids must be unique, got {ids}")
    return entries


def availability(telemetry: Telemetry, now: datetime, *, link_timeout_s: float = 3.0,
                 busy_with: str | None = None, fault: str | None = None) -> tuple[bool, str]:
    """Whether a drone can take a task now, and if not why (link, failsafe, fault, busy, battery)."""
    if not telemetry.connected:
        return False, "no link"
    if telemetry.silent(now, link_timeout_s):
        return False, f"link lost ({telemetry.heartbeat_age_s(now):.0f} s since the last heartbeat)"
    if telemetry.in_failsafe:
        return False, f"failsafe ({telemetry.last_text or telemetry.system_status})"
    if fault:
        return False, fault
    if busy_with:
        return False, f"busy with {busy_with}"
    if telemetry.battery_pct is None or telemetry.lat is None:
        return False, "no telemetry yet"
    if telemetry.not_ready and not telemetry.airborne:
        return False, telemetry.not_ready
    return True, ""
