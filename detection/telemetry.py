"""The pose of every frame: DJI-style .SRT sidecars and CSV logs, interpolated in time."""

from __future__ import annotations

import bisect
import csv
import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from detection.errors import TelemetryError
from detection.georef import Pose
from geofence import GeofenceError, local_tz

_NUM = r"(-?\d+(?:\.\d+)?)"
_SRT_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d{3})\s*-->")
_SRT_STAMP = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?)")
_FIELDS = {
    "lat": re.compile(r"latitude\s*:\s*" + _NUM, re.IGNORECASE),
    "lon": re.compile(r"longi?tude\s*:\s*" + _NUM, re.IGNORECASE),
    "alt": re.compile(r"rel_alt\s*:\s*" + _NUM, re.IGNORECASE),
    "yaw": re.compile(r"gb_yaw\s*:\s*" + _NUM, re.IGNORECASE),
    "pitch": re.compile(r"gb_pitch\s*:\s*" + _NUM, re.IGNORECASE),
}
_OLD_GPS = re.compile(r"GPS\s*\(\s*" + _NUM + r"\s*,\s*" + _NUM)  # GPS(lon, lat, ...)
_OLD_ALT = re.compile(r"(?:BAROMETER\s*:\s*|\bH\s*:?\s*)" + _NUM, re.IGNORECASE)


@dataclass(frozen=True)
class PoseSample:
    """One telemetry record: seconds from the start of the clip and the pose then."""

    t_s: float
    pose: Pose


class PoseTrack:
    """Poses over a clip, linearly interpolated; headings missing from the log come from the
    course over ground, a missing gimbal pitch is ``default_pitch_deg``."""

    def __init__(self, samples: list[PoseSample], skipped: int = 0, max_gap_s: float = 2.0,
                 edge_s: float = 0.5):
        if not samples:
            raise TelemetryError("the telemetry holds no usable pose")
        self.samples = sorted(samples, key=lambda s: s.t_s)
        self.skipped = skipped  # unparsable records that were dropped
        self.max_gap_s = max_gap_s  # longest gap between records bridged by interpolation
        self.edge_s = edge_s  # how far past the first/last record its pose is still trusted
        self._t = [s.t_s for s in self.samples]

    @property
    def start_time(self) -> datetime | None:
        """Time of the first sample, when the log carries wall-clock stamps."""
        first = self.samples[0].pose.time
        return first - timedelta(seconds=self.samples[0].t_s) if first else None

    def at(self, t_s: float) -> Pose:
        """The pose ``t_s`` seconds into the clip; TelemetryError outside the log or in a gap."""
        t = self._t
        if t_s < t[0] - self.edge_s or t_s > t[-1] + self.edge_s:
            raise TelemetryError(f"no telemetry at t={t_s:.2f} s: the log covers "
                                 f"{t[0]:.2f}..{t[-1]:.2f} s")
        i = bisect.bisect_right(t, t_s)
        if i == 0:
            return self.samples[0].pose
        if i == len(t):
            return self.samples[-1].pose
        a, b = self.samples[i - 1], self.samples[i]
        if b.t_s - a.t_s > self.max_gap_s:
            raise TelemetryError(f"telemetry gap of {b.t_s - a.t_s:.1f} s around t={t_s:.2f} s")
        w = (t_s - a.t_s) / (b.t_s - a.t_s) if b.t_s > a.t_s else 0.0
        pa, pb = a.pose, b.pose
        dh = (pb.heading_deg - pa.heading_deg + 180.0) % 360.0 - 180.0
        return Pose(
            pa.time + (pb.time - pa.time) * w if pa.time and pb.time else pa.time,
            pa.lat + (pb.lat - pa.lat) * w, pa.lon + (pb.lon - pa.lon) * w,
            pa.alt_rel_m + (pb.alt_rel_m - pa.alt_rel_m) * w,
            (pa.heading_deg + dh * w) % 360.0,
            pa.gimbal_pitch_deg + (pb.gimbal_pitch_deg - pa.gimbal_pitch_deg) * w,
        )


def read_telemetry(path: Path | str, default_pitch_deg: float = -90.0,
                   tz: tzinfo | None = None, start: datetime | None = None) -> PoseTrack:
    """The pose track in a .SRT (DJI), .csv or .tlog (MAVLink) file, chosen by suffix.

    ``start`` (the time of the clip's first frame) places a .tlog's clock on the clip; the other
    formats carry clip seconds themselves. ``tz`` is where a .SRT's zoneless clock is read
    (default: the city's, ``geofence.local_tz``).
    """
    path = Path(path)
    if not path.is_file():
        raise TelemetryError(f"telemetry file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".srt":
        return read_srt(path, default_pitch_deg, tz)
    if suffix == ".csv":
        return read_csv(path, default_pitch_deg)
    if suffix == ".tlog":
        from detection.mavlink_pose import read_tlog

        return read_tlog(path, start=start, default_pitch_deg=default_pitch_deg)
    raise TelemetryError(f"telemetry {path}: expected a DJI .SRT, a .csv or a MAVLink .tlog "
                         "file, or mavlink:URL for a live link")


def read_srt(path: Path | str, default_pitch_deg: float = -90.0,
             tz: tzinfo | None = None) -> PoseTrack:
    """Poses from a DJI subtitle sidecar, their clock in UTC. DJI writes the local time of the
    drone's controller without a zone: it is read in ``tz``, by default the city's
    (``FLYONCE_LOCAL_TZ``, Asia/Shanghai), so a Shanghai clip stamped 16:00 is 08:00 UTC."""
    if tz is None:
        try:
            tz = local_tz()
        except GeofenceError as exc:
            raise TelemetryError(str(exc)) from exc
    try:
        text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise TelemetryError(f"cannot read telemetry {path}: {exc}") from exc
    raw, skipped = [], 0
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        if not block.strip():
            continue
        m = _SRT_TIME.search(block)
        rec = {k: (float(x.group(1)) if (x := rx.search(block)) else None)
               for k, rx in _FIELDS.items()}
        if rec["lat"] is None and (g := _OLD_GPS.search(block)):
            rec["lon"], rec["lat"] = float(g.group(1)), float(g.group(2))
            if (a := _OLD_ALT.search(block)) is not None:
                rec["alt"] = float(a.group(1))
        if m is None or rec["lat"] is None or rec["lon"] is None or rec["alt"] is None or not (
                -90 <= rec["lat"] <= 90 and -180 <= rec["lon"] <= 180):
            skipped += 1
            continue
        t_s = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3)) + int(
            m.group(4)) / 1000
        stamp = None
        if (s := _SRT_STAMP.search(block)) is not None:
            try:
                stamp = datetime.fromisoformat(s.group(1).replace(",", ".")).replace(
                    tzinfo=tz).astimezone(UTC)
            except ValueError:
                stamp = None
        raw.append((t_s, stamp, rec))
    samples = [PoseSample(t, Pose(stamp, r["lat"], r["lon"], r["alt"],
                                  r["yaw"] % 360 if r["yaw"] is not None else math.nan,
                                  r["pitch"] if r["pitch"] is not None else default_pitch_deg))
               for t, stamp, r in raw]
    return PoseTrack(_fill_headings(samples), skipped)


_CSV_ALIASES = {
    "t_s": ("t_s", "time_s", "seconds", "t"),
    "time": ("time", "timestamp", "datetime", "utc"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "longitude"),
    "alt_rel_m": ("alt_rel_m", "rel_alt", "alt", "altitude", "relative_alt_m"),
    "heading_deg": ("heading_deg", "heading", "yaw", "gb_yaw"),
    "gimbal_pitch_deg": ("gimbal_pitch_deg", "pitch", "gb_pitch", "gimbal_pitch"),
}


def read_csv(path: Path | str, default_pitch_deg: float = -90.0) -> PoseTrack:
    """Poses from a CSV with a header: t_s and/or time (ISO 8601), lat, lon, alt_rel_m, and
    optionally heading_deg and gimbal_pitch_deg (common aliases accepted)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise TelemetryError(f"cannot read telemetry CSV {path}: {exc}") from exc
    col = {k: next((h for h in header if h in names), None) for k, names in _CSV_ALIASES.items()}
    missing = [k for k in ("lat", "lon", "alt_rel_m") if col[k] is None]
    if missing or (col["t_s"] is None and col["time"] is None):
        raise TelemetryError(f"telemetry CSV {path} lacks columns {missing or ['t_s or time']}; "
                             f"it has {header}")
    samples, skipped, t0 = [], 0, None
    for row in rows:
        r = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        try:
            stamp = None
            if col["time"] and r.get(col["time"]):
                stamp = datetime.fromisoformat(r[col["time"]])
                if stamp.tzinfo is None:
                    stamp = stamp.replace(tzinfo=UTC)
            if col["t_s"] and r.get(col["t_s"]):
                t_s = float(r[col["t_s"]])
            else:
                t0 = t0 or stamp
                t_s = (stamp - t0).total_seconds()
            heading = float(r[col["heading_deg"]]) % 360 if col["heading_deg"] and r.get(
                col["heading_deg"]) else math.nan
            pitch = float(r[col["gimbal_pitch_deg"]]) if col["gimbal_pitch_deg"] and r.get(
                col["gimbal_pitch_deg"]) else default_pitch_deg
            pose = Pose(stamp, float(r[col["lat"]]), float(r[col["lon"]]),
                        float(r[col["alt_rel_m"]]), heading, pitch)
            if not all(math.isfinite(v) for v in (pose.lat, pose.lon, pose.alt_rel_m, t_s)):
                raise ValueError("non-finite value")
        except (ValueError, TypeError, KeyError):
            skipped += 1
            continue
        samples.append(PoseSample(t_s, pose))
    return PoseTrack(_fill_headings(samples), skipped)


def _fill_headings(samples: list[PoseSample]) -> list[PoseSample]:
    """Course over ground where the log has no heading (the camera faces the way it flies)."""
    samples = sorted(samples, key=lambda s: s.t_s)
    out = []
    for i, s in enumerate(samples):
        if math.isfinite(s.pose.heading_deg):
            out.append(s)
            continue
        a = samples[max(i - 1, 0)].pose
        b = samples[min(i + 1, len(samples) - 1)].pose
        de = (b.lon - a.lon) * math.cos(math.radians(s.pose.lat))
        dn = b.lat - a.lat
        heading = math.degrees(math.atan2(de, dn)) % 360 if (de or dn) else (
            out[-1].pose.heading_deg if out else 0.0)
        out.append(PoseSample(s.t_s, replace(s.pose, heading_deg=heading)))
    return out
