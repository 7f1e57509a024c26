"""A rendered patrol flight: frames along a lawnmower path, written as a DJI-style clip.

The clip is an .mp4, its .SRT sidecar (the subtitle file DJI drones write, with position,
altitude and gimbal angles per frame) and a truth .json with every violation the camera saw.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from geofence import local_tz
from simulators.camera.geometry import CameraPose
from simulators.camera.randomise import Look
from simulators.camera.render import DroneCamera, RenderedFrame


@dataclass(frozen=True)
class PatrolPlan:
    """A lawnmower over a rectangle of local metres, at one altitude, speed and frame rate."""

    east_min_m: float
    north_min_m: float
    east_max_m: float
    north_max_m: float
    alt_rel_m: float = 60.0
    speed_mps: float = 8.0
    fps: float = 2.0
    lane_spacing_m: float = 60.0
    gimbal_pitch_deg: float = -90.0
    start: datetime = datetime(2025, 6, 1, 9, 0, 0, tzinfo=UTC)

    def poses(self) -> Iterator[tuple[float, CameraPose]]:
        """(seconds from start, pose) for every frame; the camera faces the way it flies."""
        lanes = max(1, math.floor((self.east_max_m - self.east_min_m) / self.lane_spacing_m)
                    + 1)
        points = []
        for k in range(lanes):
            e = self.east_min_m + k * self.lane_spacing_m
            ns = (self.north_min_m, self.north_max_m)
            points += [(e, ns[k % 2]), (e, ns[(k + 1) % 2])]
        step = self.speed_mps / self.fps
        t = 0.0
        for (e0, n0), (e1, n1) in itertools.pairwise(points):
            length = math.hypot(e1 - e0, n1 - n0)
            if length < 1e-6:
                continue
            heading = math.degrees(math.atan2(e1 - e0, n1 - n0)) % 360
            for d in np.arange(0.0, length, step):
                f = d / length
                yield t, CameraPose(e0 + (e1 - e0) * f, n0 + (n1 - n0) * f, self.alt_rel_m,
                                    heading, self.gimbal_pitch_deg)
                t += 1.0 / self.fps


def fly(camera: DroneCamera, plan: PatrolPlan, seed: int = 0,
        randomise: bool = True) -> Iterator[tuple[float, RenderedFrame]]:
    """Render the plan frame by frame; one draw of the conditions holds for the whole flight,
    the sensor noise and JPEG artefacts change per frame."""
    rng = np.random.default_rng(seed)
    look = Look.sample(rng) if randomise else Look.clear()
    if randomise:  # a flight is flown in fair weather, without heavy motion blur
        look = Look(look.sun, look.gain, look.gamma, look.channel_gain_bgr, min(look.haze, 0.15),
                    min(look.blur_px, 2.0), look.blur_angle_deg, min(look.noise_sigma, 5.0),
                    max(look.jpeg_quality, 60))
    for t, pose in plan.poses():
        yield t, camera.render(pose, look, rng)


def srt_block(index: int, t_s: float, dt_s: float, when: datetime, lat: float, lon: float,
              alt_rel_m: float, heading_deg: float, pitch_deg: float) -> str:
    """One subtitle block the way DJI writes it: the controller's local time without a zone (the
    city's, ``geofence.local_tz``: Asia/Shanghai unless FLYONCE_LOCAL_TZ says otherwise)."""
    def ts(x: float) -> str:
        ms = round(x * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    yaw = (heading_deg + 180) % 360 - 180
    return (f"{index}\n{ts(t_s)} --> {ts(t_s + dt_s)}\n"
            f'<font size="28">FrameCnt: {index}, DiffTime: {int(dt_s * 1000)}ms\n'
            f"{when.astimezone(local_tz()).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}\n"
            f"[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [ct: 5500] "
            f"[color_md: default] [focal_len: 24.00] [latitude: {lat:.7f}] "
            f"[longitude: {lon:.7f}] [rel_alt: {alt_rel_m:.3f} abs_alt: {alt_rel_m + 18:.3f}] "
            f"[gb_yaw: {yaw:.1f} gb_pitch: {pitch_deg:.1f} gb_roll: 0.0] </font>\n\n")


def clip_files(out_stem: Path | str) -> dict[str, Path]:
    """The files of a clip written at ``out_stem``: ``video`` (.mp4), ``srt`` (.SRT) and
    ``truth`` (.truth.json, written last, so its presence marks a finished clip)."""
    stem = Path(out_stem)
    return {"video": stem.with_suffix(".mp4"), "srt": stem.with_suffix(".SRT"),
            "truth": stem.with_suffix(".truth.json")}


def write_clip(camera: DroneCamera, plan: PatrolPlan, out_stem: Path | str, seed: int = 0,
               min_frames_seen: int = 2, randomise: bool = True) -> dict[str, Path]:
    """Fly the plan and write ``<stem>.mp4``, ``<stem>.SRT`` and ``<stem>.truth.json``.

    The truth lists every violation that was inside at least ``min_frames_seen`` frames.
    """
    town = camera.town
    if town.frame is None:
        raise ValueError("a clip needs a town with a geographic frame (e.g. sample_world())")
    stem = Path(out_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = clip_files(stem)
    w, h = camera.intrinsics.width_px, camera.intrinsics.height_px
    writer = cv2.VideoWriter(str(paths["video"]), cv2.VideoWriter_fourcc(*"mp4v"), plan.fps,
                             (w, h))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {paths['video']}")
    seen: dict[int, int] = {}
    dt = 1.0 / plan.fps
    try:
        with open(paths["srt"], "w", encoding="utf-8") as srt:
            for i, (t, frame) in enumerate(fly(camera, plan, seed, randomise)):
                writer.write(frame.image_bgr)
                p = frame.pose
                lat, lon = town.frame.to_wgs84(p.east_m, p.north_m)
                srt.write(srt_block(i + 1, t, dt, plan.start + timedelta(seconds=t), lat, lon,
                                    p.alt_rel_m, p.heading_deg, p.gimbal_pitch_deg))
                for b in frame.boxes:
                    seen[b.object_id] = seen.get(b.object_id, 0) + 1
    finally:
        writer.release()
    truth = [{"object_id": g.object_id, "type": g.label, "lat": g.lat, "lon": g.lon,
              "east_m": g.east_m, "north_m": g.north_m, "frames_seen": seen[g.object_id]}
             for g in town.violations() if seen.get(g.object_id, 0) >= min_frames_seen]
    paths["truth"].write_text(json.dumps({"plan": {k: str(v) for k, v in plan.__dict__.items()},
                                          "violations": truth}, indent=1))
    return paths


@dataclass(frozen=True)
class LivePose:
    """A frame's pose as detection's pipeline reads it (same attribute names as its ``Pose``)."""

    time: datetime
    lat: float
    lon: float
    alt_rel_m: float
    heading_deg: float
    gimbal_pitch_deg: float


@dataclass(frozen=True)
class LiveFrame:
    """A rendered frame shaped like detection's ``Frame``: the simulated camera as a live source."""

    index: int
    t_s: float
    image_bgr: np.ndarray
    pose: LivePose
    error: str | None = None


def live_frames(camera: DroneCamera, plan: PatrolPlan, seed: int = 0,
                randomise: bool = True) -> Iterator[LiveFrame]:
    """The patrol as a stream of frames carrying their own poses (no video, no sidecar)."""
    frame = camera.town.frame
    if frame is None:
        raise ValueError("a live patrol needs a town with a geographic frame")
    for i, (t, f) in enumerate(fly(camera, plan, seed, randomise)):
        lat, lon = frame.to_wgs84(f.pose.east_m, f.pose.north_m)
        yield LiveFrame(i, t, f.image_bgr, LivePose(
            plan.start + timedelta(seconds=t), float(lat), float(lon), f.pose.alt_rel_m,
            f.pose.heading_deg, f.pose.gimbal_pitch_deg))
