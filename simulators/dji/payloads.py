"""The dock aircraft's PSDK loudspeaker and its live stream, as the Cloud API's services drive them.

``Speaker``: ``speaker_tts_play_start`` (text spoken by the payload's text-to-speech) and
``speaker_audio_play_start`` (a file the dock downloads, then uploads to the payload), with
``speaker_replay``, ``speaker_play_stop``, ``speaker_play_volume_set`` and
``speaker_play_mode_set``; progress comes as ``speaker_tts_play_start_progress`` /
``speaker_audio_play_start_progress`` events: step ``upload`` then ``play``, status
``in_progress`` then ``ok``. ``LiveStream``: ``live_start_push`` / ``live_stop_push``.
Speech lasts ``1 s + characters / 4`` (Mandarin at about four characters a second); a file
``AUDIO_S``. Nothing is downloaded: a file's URL and MD5 are checked for form only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from simulators.dji.thing import PROGRESS_PERIOD_S, Code

__all__ = ["AUDIO_S", "LiveStream", "Play", "Speaker"]

AUDIO_S = 5.0
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


class Refused(Exception):
    """A service the dock answers with ``code`` (not 0)."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


@dataclass(frozen=True)
class Play:
    """One warning the speaker played: what, how loud, when it started, where the aircraft was."""

    kind: str  # "tts" | "audio"
    text: str | None
    name: str
    md5: str
    volume_pct: int
    started_s: float  # the aircraft's mission seconds
    at: datetime | None = None  # the fleet clock then
    lat: float = 0.0
    lon: float = 0.0
    alt_rel_m: float = 0.0


class Speaker:
    """A PSDK loudspeaker on payload port ``psdk_index``."""

    def __init__(self, psdk_index: int = 2) -> None:
        self.psdk_index = psdk_index
        self.volume_pct = 100
        self.loop = False
        self.played: list[Play] = []
        self._current: Play | None = None
        self._method = ""
        self._ends_s = 0.0
        self._next_report_s = 0.0
        self._where: dict[str, Any] = {}

    def _check_index(self, data: dict[str, Any]) -> None:
        if data.get("psdk_index") != self.psdk_index:
            raise Refused(Code.PARAMETER_ERROR,
                          f"no speaker on psdk_index {data.get('psdk_index')!r}")

    def handle(self, method: str, data: dict[str, Any], now_s: float, powered: bool,
               where: dict[str, Any] | None = None) -> None:
        """Apply one speaker service; ``Refused`` with DJI's code when it cannot be. ``where``:
        the ``Play`` fields at, lat, lon, alt_rel_m of a play that starts."""
        self._where = where or {}
        self._check_index(data)
        if method == "speaker_play_volume_set":
            volume = data.get("play_volume")
            if not isinstance(volume, int) or not 0 <= volume <= 100:
                raise Refused(Code.PARAMETER_ERROR, "play_volume must be 0-100")
            self.volume_pct = volume
            return
        if method == "speaker_play_mode_set":
            if data.get("play_mode") not in (0, 1):
                raise Refused(Code.PARAMETER_ERROR, "play_mode must be 0 (once) or 1 (loop)")
            self.loop = data["play_mode"] == 1
            return
        if method == "speaker_play_stop":
            self._current = None
            return
        if not powered:
            raise Refused(Code.AIRCRAFT_DISCONNECTED, "the aircraft is off in the dock")
        if method == "speaker_tts_play_start":
            tts = data.get("tts")
            if not isinstance(tts, dict) or not isinstance(tts.get("text"), str) or \
                    not tts["text"].strip() or not _MD5.match(str(tts.get("md5", ""))):
                raise Refused(Code.PARAMETER_ERROR, "tts needs text and its md5")
            play = Play("tts", tts["text"], str(tts.get("name", "")), tts["md5"],
                        self.volume_pct, now_s)
            self._start(play, "speaker_tts_play_start_progress",
                        1.0 + len(tts["text"]) / 4.0, now_s)
        elif method == "speaker_audio_play_start":
            file = data.get("file")
            if not isinstance(file, dict) or not str(file.get("url", "")).startswith(
                    ("http://", "https://")) or not _MD5.match(str(file.get("md5", ""))) or \
                    not file.get("name"):
                raise Refused(Code.PARAMETER_ERROR, "file needs name, http(s) url and md5")
            play = Play("audio", None, str(file["name"]), file["md5"], self.volume_pct, now_s)
            self._start(play, "speaker_audio_play_start_progress", AUDIO_S, now_s)
        elif method == "speaker_replay":
            if not self.played:
                raise Refused(Code.PARAMETER_ERROR, "nothing played yet to replay")
            last = self.played[-1]
            method = "speaker_tts_play_start_progress" if last.kind == "tts" else \
                "speaker_audio_play_start_progress"
            length = 1.0 + len(last.text) / 4.0 if last.text else AUDIO_S
            self._start(Play(last.kind, last.text, last.name, last.md5, self.volume_pct, now_s),
                        method, length, now_s)

    def _start(self, play: Play, method: str, length_s: float, now_s: float) -> None:
        play = replace(play, **getattr(self, "_where", {}))
        self._current, self._method = play, method
        self._ends_s = now_s + length_s
        self._next_report_s = now_s
        self.played.append(play)

    def progress(self, now_s: float) -> list[tuple[str, dict[str, Any], bool]]:
        """Progress events due now: (method, data, need_reply)."""
        play = self._current
        if play is None or now_s < self._next_report_s - 1e-6:
            return []
        self._next_report_s = max(self._next_report_s + PROGRESS_PERIOD_S, now_s)
        length = max(self._ends_s - play.started_s, 1e-6)
        done = now_s >= self._ends_s - 1e-6
        percent = 100 if done else int(100 * (now_s - play.started_s) / length)
        output = {"psdk_index": self.psdk_index, "md5": play.md5,
                  "status": "ok" if done else "in_progress",
                  "progress": {"percent": percent, "step_key": "play"}}
        if done:
            if self.loop:
                self._start(replace(play, started_s=now_s), self._method, length, now_s)
            else:
                self._current = None
        return [(self._method, {"result": 0, "output": output}, done)]


class LiveStream:
    """The aircraft camera's pushes to a streaming server: one per ``video_id``."""

    URL_TYPES: ClassVar[dict[int, str]] = {1: "rtmp://", 2: "rtsp://"}  # not Agora 0, GB28181 3, WHIP 4

    def __init__(self) -> None:
        self.pushes: dict[str, str] = {}  # video_id -> url

    def handle(self, method: str, data: dict[str, Any], aircraft_sn: str, powered: bool) -> None:
        video_id = data.get("video_id")
        if not isinstance(video_id, str) or video_id.count("/") != 2:
            raise Refused(Code.LIVE_ERROR_PARAMETERS, "video_id must be sn/camera/video")
        if method == "live_stop_push":
            self.pushes.pop(video_id, None)
            return
        prefix = self.URL_TYPES.get(data.get("url_type"))  # type: ignore[arg-type]
        if prefix is None:
            raise Refused(Code.LIVE_URL_TYPE_NOT_SUPPORTED, "url_type not supported")
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith(prefix):
            raise Refused(Code.LIVE_ERROR_PARAMETERS, f"url must start with {prefix}")
        if video_id.split("/")[0] == aircraft_sn and not powered:
            raise Refused(Code.LIVE_NO_AIRCRAFT, "the aircraft is off in the dock")
        if video_id in self.pushes:
            raise Refused(Code.LIVE_ALREADY_STARTED, "already streaming")
        self.pushes[video_id] = url
