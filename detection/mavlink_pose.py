"""The pose of every frame from a drone's MAVLink telemetry, live or logged, matched by time.

Every pymavlink call of the detection package lives here. ``MavlinkPoseFeed`` listens to one
autopilot (a real ArduCopter, SITL or ``simulators``) on any URL pymavlink's ``mavutil`` takes
(``tcp:HOST:PORT``, ``udpin:0.0.0.0:14550``, ``udpout:…``, a serial device), as a passive
observer: it asks for GLOBAL_POSITION_INT and ATTITUDE at ``stream_hz`` (SET_MESSAGE_INTERVAL,
or REQUEST_DATA_STREAM when the autopilot refuses it, as ``dispatch/link.py`` does) and sends
no heartbeat, so it never stands in for the ground station in a GCS-failsafe check.

    feed = MavlinkPoseFeed("tcp:127.0.0.1:5760").open()
    feed.start = <the time frame t_s = 0 was taken>   # default: when the feed opened
    pose = feed.at(t_s)                                # what PoseTrack.at gives for a file
    feed.close()

``read_tlog`` reads the same messages from a telemetry log (.tlog, as MAVProxy, Mission Planner
and QGroundControl record it: each packet after its 8-byte microsecond timestamp).

Decisions, written down:

- **Time.** Each GLOBAL_POSITION_INT is stamped with the clock time it arrived (``now``,
  injected; wall UTC by default), not with the autopilot's ``time_boot_ms``: a live video
  frame is stamped by arrival on the same clock, so both carry the same link latency and it
  cancels. A frame at ``t_s`` is at ``start + t_s``; its pose is interpolated between the two
  samples around that instant (``PoseTrack``'s rules: gaps over ``max_gap_s`` refused, the
  last sample trusted ``edge_s`` past its time).
- **Waiting.** A frame may be decoded before the sample after it has arrived; ``at`` waits
  until that sample comes or the clock passes the frame's time by ``wait_s``, then answers
  with what it has or raises TelemetryError (the pipeline skips and counts that frame).
- **Pose fields.** Position and altitude above home from GLOBAL_POSITION_INT (lat/lon degE7,
  relative_alt mm). Heading: the gimbal's absolute yaw when MOUNT_ORIENTATION gives one, else
  GLOBAL_POSITION_INT.hdg, else ATTITUDE.yaw. Gimbal pitch: MOUNT_ORIENTATION.pitch or the
  pitch of GIMBAL_DEVICE_ATTITUDE_STATUS's quaternion when the drone sends either, else
  ``default_pitch_deg`` (-90, nadir: ``simulators`` carries a fixed nadir camera).
"""

from __future__ import annotations

import bisect
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from detection.errors import TelemetryError
from detection.georef import Pose
from detection.telemetry import PoseSample, PoseTrack

URL_PREFIX = "mavlink:"  # ``--telemetry mavlink:tcp:127.0.0.1:5760`` selects this source
_HDG_UNKNOWN = 65535  # GLOBAL_POSITION_INT.hdg when the autopilot does not know its heading
_MSG_GLOBAL_POSITION_INT = 33
_MSG_ATTITUDE = 30
_CMD_SET_MESSAGE_INTERVAL = 511
_STREAM_POSITION, _STREAM_EXTRA1 = 6, 10  # REQUEST_DATA_STREAM groups holding those two
_READ_POLL_S = 0.05


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Latest:
    """The newest attitude and gimbal readings, folded into the next position sample."""

    yaw_deg: float = math.nan
    gimbal_pitch_deg: float = math.nan
    gimbal_yaw_deg: float = math.nan


def quaternion_pitch_deg(q: tuple[float, float, float, float]) -> float:
    """Pitch (degrees, positive up) of a (w, x, y, z) attitude quaternion (aerospace order)."""
    w, x, y, z = q
    return math.degrees(math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x)))))


class PoseAssembler:
    """Turns a stream of MAVLink messages from one autopilot into poses (no I/O here)."""

    def __init__(self, default_pitch_deg: float = -90.0):
        self.default_pitch_deg = default_pitch_deg
        self.latest = _Latest()
        self.skipped = 0  # positions dropped: no heading known yet, or out of range

    def pose(self, msg: Any, when: datetime | None) -> Pose | None:
        """The pose a GLOBAL_POSITION_INT gives (None for other messages, which update the
        attitude and gimbal remembered for the next position)."""
        kind = msg.get_type()
        if kind == "ATTITUDE":
            self.latest.yaw_deg = math.degrees(msg.yaw) % 360.0
        elif kind == "MOUNT_ORIENTATION":
            self.latest.gimbal_pitch_deg = float(msg.pitch)
            yaw_abs = getattr(msg, "yaw_absolute", math.nan)
            self.latest.gimbal_yaw_deg = yaw_abs % 360.0 if math.isfinite(yaw_abs) else math.nan
        elif kind == "GIMBAL_DEVICE_ATTITUDE_STATUS":
            q = tuple(float(v) for v in msg.q)
            if all(math.isfinite(v) for v in q) and any(q):
                self.latest.gimbal_pitch_deg = quaternion_pitch_deg(q)
        elif kind == "GLOBAL_POSITION_INT":
            return self._position(msg, when)
        return None

    def _position(self, msg: Any, when: datetime | None) -> Pose | None:
        lat, lon = msg.lat / 1e7, msg.lon / 1e7
        heading = self.latest.gimbal_yaw_deg
        if not math.isfinite(heading):
            heading = msg.hdg / 100.0 if msg.hdg != _HDG_UNKNOWN else self.latest.yaw_deg
        pitch = self.latest.gimbal_pitch_deg
        if not math.isfinite(pitch):
            pitch = self.default_pitch_deg
        if not (math.isfinite(heading) and -90 <= lat <= 90 and -180 <= lon <= 180
                and (lat, lon) != (0.0, 0.0)):  # 0,0 is what an autopilot without a fix sends
            self.skipped += 1
            return None
        return Pose(when, lat, lon, msg.relative_alt / 1000.0, heading % 360.0,
                    max(-90.0, min(0.0, pitch)))


class MavlinkPoseFeed:
    """Live poses of one drone over MAVLink, kept ``history_s`` clock seconds; see the module."""

    def __init__(self, url: str, *, now: Callable[[], datetime] | None = None,
                 stream_hz: float = 5.0, default_pitch_deg: float = -90.0, wait_s: float = 2.0,
                 max_gap_s: float = 2.0, edge_s: float = 0.5, history_s: float = 900.0,
                 source_system: int = 255, source_component: int = 191):
        self.url = url.removeprefix(URL_PREFIX)
        self.now = now or _utc_now
        self.stream_hz = stream_hz
        self.wait_s, self.max_gap_s, self.edge_s = wait_s, max_gap_s, edge_s
        self.history_s = history_s
        self.start: datetime | None = None
        self.sysid = 0
        self._source = (source_system, source_component)
        self._assembler = PoseAssembler(default_pitch_deg)
        self._times: deque[datetime] = deque()
        self._poses: deque[Pose] = deque()
        self._cond = threading.Condition()
        self._conn: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._error: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def open(self, timeout_s: float = 10.0) -> Self:
        """Connect, wait for the autopilot's heartbeat, ask for positions and wait for the first
        one (so ``samples[0]`` can anchor a local frame); TelemetryError within ``timeout_s``
        wall seconds otherwise. ``start`` defaults to now."""
        from pymavlink import mavutil

        try:
            conn = mavutil.mavlink_connection(self.url, source_system=self._source[0],
                                              source_component=self._source[1],
                                              autoreconnect=False, retries=1)
        except Exception as exc:  # socket errors, bad URLs: pymavlink raises many kinds
            raise TelemetryError(f"cannot open MAVLink telemetry {self.url}: {exc}; give a "
                                 "pymavlink URL such as mavlink:tcp:127.0.0.1:5760") from exc
        self._conn = conn
        deadline = time.monotonic() + timeout_s
        try:
            self.sysid = self._wait_autopilot(deadline)
            self._request_streams(deadline)
        except BaseException:
            self.close()
            raise
        self._thread = threading.Thread(target=self._read_loop, name=f"mavlink-pose-{self.url}",
                                        daemon=True)
        self._thread.start()
        with self._cond:
            while not self._poses and self._error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        if not self._poses:
            why = self._error or f"no position within {timeout_s:g} s"
            self.close()
            raise TelemetryError(f"MAVLink telemetry {self.url}: {why}; does the drone have a "
                                 "GPS fix and stream GLOBAL_POSITION_INT?")
        if self.start is None:
            self.start = self.now()
        return self

    def close(self) -> None:
        """Stop reading and close the link; safe to call twice."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._thread = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> Self:
        return self.open() if self._conn is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait_autopilot(self, deadline: float) -> int:
        while (left := deadline - time.monotonic()) > 0:
            msg = self._conn.recv_match(type="HEARTBEAT", blocking=True, timeout=min(left, 0.5))
            # component 1 is the autopilot; type 6 is another ground station
            if msg is not None and msg.get_srcComponent() == 1 and msg.type != 6:
                return msg.get_srcSystem()
        raise TelemetryError(f"no autopilot heartbeat on {self.url}: is the drone powered and "
                             "the URL right?")

    def _request_streams(self, deadline: float) -> None:
        interval_us = 1e6 / self.stream_hz
        mav = self._conn.mav
        for msg_id in (_MSG_GLOBAL_POSITION_INT, _MSG_ATTITUDE):
            mav.command_long_send(self.sysid, 1, _CMD_SET_MESSAGE_INTERVAL, 0, msg_id,
                                  interval_us, 0, 0, 0, 0, 0)
            ack = None
            while ack is None and (left := deadline - time.monotonic()) > 0:
                msg = self._conn.recv_match(type="COMMAND_ACK", blocking=True,
                                            timeout=min(left, 1.0))
                if msg is None:
                    break  # an old autopilot may not answer: fall back below
                if msg.command == _CMD_SET_MESSAGE_INTERVAL and msg.get_srcSystem() == self.sysid:
                    ack = msg
            if ack is None or ack.result != 0:
                rate = max(1, round(self.stream_hz))
                for stream in (_STREAM_POSITION, _STREAM_EXTRA1):
                    mav.request_data_stream_send(self.sysid, 1, stream, rate, 1)
                return

    def _read_loop(self) -> None:
        conn = self._conn
        while not self._stop.is_set():
            try:
                msg = conn.recv_match(blocking=True, timeout=_READ_POLL_S)
            except Exception as exc:  # noqa: BLE001 - the socket died: at() says so
                with self._cond:
                    self._error = f"link lost: {exc}"
                    self._cond.notify_all()
                return
            if msg is None or msg.get_srcSystem() != self.sysid or msg.get_srcComponent() != 1:
                continue
            when = self.now()
            pose = self._assembler.pose(msg, when)
            if pose is None:
                continue
            with self._cond:
                self._times.append(when)
                self._poses.append(pose)
                while (when - self._times[0]).total_seconds() > self.history_s:
                    self._times.popleft()
                    self._poses.popleft()
                self._cond.notify_all()

    # ------------------------------------------------------------------ reading

    @property
    def skipped(self) -> int:
        """Positions dropped (no heading yet, no fix)."""
        return self._assembler.skipped

    @property
    def samples(self) -> list[PoseSample]:
        """The poses kept so far, ``t_s`` measured from ``start`` (negative before it)."""
        with self._cond:
            return [PoseSample(self._t_s(t), p) for t, p in zip(self._times, self._poses,
                                                                   strict=True)]

    def _t_s(self, when: datetime) -> float:
        start = self.start or (self._times[0] if self._times else when)
        return (when - start).total_seconds()

    def at(self, t_s: float) -> Pose:
        """The pose ``t_s`` seconds after ``start``, waiting for the sample after it (see the
        module); TelemetryError when the link has none for that instant."""
        if self.start is None:
            raise TelemetryError("the MAVLink feed is not open: call open() first")
        want = self.start + timedelta(seconds=t_s)
        give_up = want + timedelta(seconds=self.wait_s)
        with self._cond:
            while not (self._times and self._times[-1] >= want) and self._error is None \
                    and not self._stop.is_set() and self.now() <= give_up:
                self._cond.wait(_READ_POLL_S)
            i = bisect.bisect_left(self._times, want)
            window = [PoseSample(self._t_s(self._times[k]), self._poses[k])
                      for k in range(max(0, i - 1), min(len(self._times), i + 1))]
            error = self._error
        if not window:
            raise TelemetryError(f"no MAVLink position from {self.url} near t={t_s:.2f} s"
                                 + (f" ({error})" if error else ""))
        try:
            return PoseTrack(window, max_gap_s=self.max_gap_s, edge_s=self.edge_s).at(t_s)
        except TelemetryError as exc:
            raise TelemetryError(f"MAVLink telemetry {self.url}: {exc}"
                                 + (f" ({error})" if error else "")) from exc


def read_tlog(path: Path | str, *, start: datetime | None = None,
              default_pitch_deg: float = -90.0) -> PoseTrack:
    """The pose track in a MAVLink telemetry log, each pose at the time it was logged.

    ``t_s`` counts from ``start`` (the time of the clip's first frame) or, without one, from the
    first position in the log. Only the first autopilot (component 1) that reports a position
    is read: a log may hold the ground station's own messages and other drones'.
    """
    from pymavlink import mavutil

    path = Path(path)
    if not path.is_file():
        raise TelemetryError(f"telemetry log {path} does not exist")
    try:
        log = mavutil.mavlink_connection(str(path), notimestamps=False)
    except Exception as exc:  # pymavlink raises many kinds for a bad file
        raise TelemetryError(f"cannot read MAVLink log {path}: {exc}") from exc
    assembler = PoseAssembler(default_pitch_deg)
    sysid, timed = None, []
    try:
        while (msg := log.recv_match(blocking=False)) is not None:
            if msg.get_type() == "BAD_DATA" or msg.get_srcComponent() != 1:
                continue
            if sysid is None and msg.get_type() == "GLOBAL_POSITION_INT":
                sysid = msg.get_srcSystem()
            if sysid is not None and msg.get_srcSystem() != sysid:
                continue
            when = datetime.fromtimestamp(msg._timestamp, UTC)
            if (pose := assembler.pose(msg, when)) is not None:
                timed.append(pose)
    finally:
        log.close()
    if not timed:
        raise TelemetryError(f"MAVLink log {path} holds no GLOBAL_POSITION_INT with a heading; "
                             "was the position stream recorded?")
    origin = start or timed[0].time
    return PoseTrack([PoseSample((p.time - origin).total_seconds(), p) for p in timed],
                     assembler.skipped)
