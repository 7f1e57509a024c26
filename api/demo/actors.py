"""The people of the closed loop, simulated: an operator at the console and the ground teams.

Both talk to the service over HTTP with their own accounts, exactly as the web pages do, and act
in mission time: each ``tick(now_s)`` does what is due and returns at once.

- ``SimOperator`` reviews each alert after a reaction time, right with probability ``accuracy``
  (the truth is whether a violation of that kind is really there); when no drone could be sent
  it tasks the nearest free team by hand; an event left with no team after the drone arrived is
  referred to the district office (not while the drone still watches after a warning: the
  watch's deadline decides that event first).
- ``SimTeams`` accept their tasks, drive at road speed (Manhattan distance: a grid of streets),
  check in, spend a handling time and resolve with what they found.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import numpy as np

from api.demo.scenario import Scenario

#: Within this distance of a placed violation, an event is "that violation" (review, team).
TRUTH_RADIUS_M = 20.0
OPEN = ("confirmed", "assigned", "on_scene")


def login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    """Bearer headers for one account."""
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def parse_s(iso: str | None, t0: datetime) -> float | None:
    """Mission seconds since ``t0`` of an ISO time from the service (None stays None)."""
    if iso is None:
        return None
    return (datetime.fromisoformat(iso) - t0).total_seconds()


@dataclass
class OperatorStats:
    reviewed: int = 0
    correct: int = 0
    confirmed: int = 0
    rejected: int = 0
    team_by_hand: int = 0
    referred: int = 0
    reaction_s: list[float] = field(default_factory=list)


class SimOperator:
    """Reviews alerts with a set accuracy and reaction time; covers for unserved events."""

    def __init__(self, client: httpx.Client, headers: dict[str, str], scenario: Scenario, *,
                 t0: datetime, accuracy: float = 0.95, reaction_s: float = 20.0, seed: int = 0,
                 unserved_after_s: float = 45.0, refer_after_s: float = 240.0) -> None:
        if not 0.0 <= accuracy <= 1.0:
            raise ValueError(f"operator accuracy must be in 0..1, got {accuracy}")
        self.client, self.headers, self.scenario, self.t0 = client, headers, scenario, t0
        self.accuracy, self.reaction_s = accuracy, reaction_s
        self.rng = np.random.default_rng(seed)
        self.unserved_after_s, self.refer_after_s = unserved_after_s, refer_after_s
        self._queue: list[tuple[float, int]] = []
        self._seen: set[int] = set()
        self._confirmed_at: dict[int, float] = {}
        self._on_scene_at: dict[int, float] = {}
        self._next_sweep_s = 0.0
        self.stats = OperatorStats()

    def _events(self, *states: str) -> list[dict]:
        r = self.client.get("/api/v1/events", params={"state": list(states), "limit": 1000},
                            headers=self.headers)
        r.raise_for_status()
        return r.json()["items"]

    def tick(self, now_s: float) -> None:
        for ev in self._events("alerted"):
            if ev["id"] not in self._seen:
                self._seen.add(ev["id"])
                delay = float(self.rng.exponential(self.reaction_s)) if self.reaction_s > 0 else 0.0
                heapq.heappush(self._queue, (now_s + delay, ev["id"]))
        while self._queue and self._queue[0][0] <= now_s:
            _, event_id = heapq.heappop(self._queue)
            self._review(event_id, now_s)
        if now_s >= self._next_sweep_s:
            self._next_sweep_s = now_s + 5.0
            self._cover(now_s)

    def _review(self, event_id: int, now_s: float) -> None:
        ev = self.client.get(f"/api/v1/events/{event_id}", headers=self.headers).json()
        if ev.get("state") != "alerted":
            return
        truth = self.scenario.active_near(ev["lat"], ev["lon"], now_s, TRUTH_RADIUS_M)
        real = truth is not None and truth.type == ev["type"]
        right = self.rng.random() < self.accuracy
        confirm = real if right else not real
        body = {"decision": "confirm" if confirm else "reject",
                "reason": "seen on the drone video" if confirm else "not a violation on video"}
        r = self.client.post(f"/api/v1/events/{event_id}/review", json=body, headers=self.headers)
        if r.status_code == 200:
            self.stats.reviewed += 1
            self.stats.correct += int(right)
            self.stats.confirmed += int(confirm)
            self.stats.rejected += int(not confirm)
            alerted_s = parse_s(ev.get("alerted_at"), self.t0)
            if alerted_s is not None:
                self.stats.reaction_s.append(now_s - alerted_s)

    def _cover(self, now_s: float) -> None:
        """Events the automation left hanging: no drone could go, or no team was free."""
        for ev in self._events(*OPEN):
            eid = ev["id"]
            if ev["state"] == "confirmed":
                since = self._confirmed_at.setdefault(eid, now_s)
                if now_s - since >= self.unserved_after_s:
                    self._team_by_hand(eid, ev)
            elif ev["state"] == "on_scene":
                since = self._on_scene_at.setdefault(eid, now_s)
                if now_s - since >= self.refer_after_s:
                    if self._watching(eid):
                        # the drone is still watching after its warning: its deadline decides
                        # (a team, or persuaded); the referral clock starts again after it
                        self._on_scene_at[eid] = now_s
                        continue
                    detail = self.client.get(f"/api/v1/events/{eid}", headers=self.headers).json()
                    if not any(t.get("team_id") for t in detail.get("tasks", [])):
                        r = self.client.post(
                            f"/api/v1/events/{eid}/resolve", headers=self.headers,
                            data={"disposition": "referred",
                                  "note": "no ground team free; referred to the district office"})
                        self.stats.referred += int(r.status_code == 200)

    def _watching(self, event_id: int) -> bool:
        """Whether a warning played on ``event_id`` is still being watched: played (its watch
        has a deadline) and not yet decided. The dispatch worker decides it at its deadline, a
        tick or two late on a busy machine, so a passed deadline still counts until then. A play
        asked for and never played (a dock that did not answer) has no deadline and is not a
        watch: nothing would ever decide it, and the referral must not wait on it."""
        r = self.client.get(f"/api/v1/events/{event_id}/persuasions", headers=self.headers)
        return r.status_code == 200 and any(
            p["outcome"] == "pending" and p.get("watch_until") is not None for p in r.json())

    def _team_by_hand(self, event_id: int, ev: dict) -> None:
        teams = self.client.get("/api/v1/teams", headers=self.headers).json()
        free = [t for t in teams if t.get("status", "available") == "available"]
        if not free:
            return
        best = min(free, key=lambda t: math.hypot(t["lat"] - ev["lat"], t["lon"] - ev["lon"]))
        r = self.client.post(f"/api/v1/events/{event_id}/assign", headers=self.headers,
                             json={"team_id": best["id"], "at_risk": True,
                                   "reason": "no drone could go; team sent by hand"})
        self.stats.team_by_hand += int(r.status_code == 200)


@dataclass
class _Job:
    task_id: int
    event_id: int
    lat: float
    lon: float
    arrive_s: float
    done_s: float | None = None
    checked_in: bool = False


class SimTeams:
    """Ground teams that drive at ``road_speed_mps`` and resolve what they find."""

    def __init__(self, client: httpx.Client, team_headers: dict[str, dict[str, str]],
                 scenario: Scenario, *, positions: dict[str, tuple[float, float]],
                 road_speed_mps: float = 8.3, setup_s: float = 30.0,
                 handle_s: tuple[float, float] = (90.0, 240.0), seed: int = 0) -> None:
        self.client, self.team_headers, self.scenario = client, team_headers, scenario
        self.positions = dict(positions)
        self.road_speed_mps, self.setup_s, self.handle_s = road_speed_mps, setup_s, handle_s
        self.rng = np.random.default_rng(seed + 1)
        self._jobs: dict[str, _Job] = {}
        self._next_look_s: dict[str, float] = {}
        self._done: set[int] = set()
        self._photo = itertools.count()
        self.dispositions: dict[str, int] = {}

    def drive_s(self, team_id: str, lat: float, lon: float) -> float:
        """Mission seconds to reach (lat, lon) along a street grid, after ``setup_s``."""
        frame = self.scenario.town.frame
        e0, n0 = frame.to_local(*self.positions[team_id])
        e1, n1 = frame.to_local(lat, lon)
        return self.setup_s + (abs(e1 - e0) + abs(n1 - n0)) / self.road_speed_mps

    def tick(self, now_s: float) -> None:
        for team_id, headers in self.team_headers.items():
            job = self._jobs.get(team_id)
            if job is None:
                # an idle team looks at its phone every few mission seconds, not every tick
                if now_s >= self._next_look_s.get(team_id, 0.0):
                    self._next_look_s[team_id] = now_s + 5.0
                    self._take(team_id, headers, now_s)
            else:
                self._work(team_id, headers, job, now_s)

    def _take(self, team_id: str, headers: dict[str, str], now_s: float) -> None:
        tasks = self.client.get("/api/v1/tasks", headers=headers).json()
        for task in sorted(tasks, key=lambda t: t["id"]):
            if task["state"] != "assigned" or task["id"] in self._done:
                continue
            ev = self.client.get(f"/api/v1/events/{task['event_id']}", headers=headers).json()
            if ev.get("state") not in ("assigned", "on_scene"):
                self._done.add(task["id"])
                continue
            self.client.post(f"/api/v1/tasks/{task['id']}/accept", headers=headers)
            self._jobs[team_id] = _Job(task["id"], ev["id"], ev["lat"], ev["lon"],
                                       now_s + self.drive_s(team_id, ev["lat"], ev["lon"]))
            return

    def _work(self, team_id: str, headers: dict[str, str], job: _Job, now_s: float) -> None:
        if not job.checked_in and now_s >= job.arrive_s:
            self.positions[team_id] = (job.lat, job.lon)
            self.client.put(f"/api/v1/teams/{team_id}/position", headers=headers,
                            json={"lat": job.lat, "lon": job.lon})
            self.client.post(f"/api/v1/events/{job.event_id}/on-scene", headers=headers,
                             json={"reason": "team checked in"})
            job.checked_in = True
            job.done_s = now_s + float(self.rng.uniform(*self.handle_s))
        if job.checked_in and job.done_s is not None and now_s >= job.done_s:
            truth = self.scenario.active_near(job.lat, job.lon, now_s, TRUTH_RADIUS_M)
            if truth is None:
                disposition, note = "not_found", "nothing there when the team arrived"
            else:
                disposition = "persuaded" if self.rng.random() < 0.7 else "removed"
                note = f"{truth.type.replace('_', ' ')} dealt with on the spot"
                self.scenario.remove(truth.object_id, now_s)
            r = self.client.post(f"/api/v1/events/{job.event_id}/resolve", headers=headers,
                                 data={"disposition": disposition, "note": note},
                                 files={"photo": (f"resolution-{next(self._photo)}.jpg",
                                                  self._photo_of(job), "image/jpeg")})
            if r.status_code == 200:
                self.dispositions[disposition] = self.dispositions.get(disposition, 0) + 1
            self._done.add(job.task_id)
            del self._jobs[team_id]

    def _photo_of(self, job: _Job) -> bytes:
        """The team's photo of the scene: the town from 25 m, oblique (as from a phone on a pole)."""
        import cv2

        from simulators.camera import DroneCamera

        cam = DroneCamera(self.scenario.world)
        frame = cam.render(cam.pose_at(job.lat, job.lon, 25.0, 0.0, -90.0))
        ok, buf = cv2.imencode(".jpg", frame.image_bgr, [cv2.IMWRITE_JPEG_QUALITY, 70])
        return buf.tobytes() if ok else b""

    def busy(self) -> int:
        """Teams on a job now."""
        return len(self._jobs)
