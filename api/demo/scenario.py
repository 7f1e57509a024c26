"""The demo's world over mission time: the town, which violations exist when, and the patrol areas.

The synthetic town (``simulators.town.sample_world``) places thousands of violations along its
roads; a scenario keeps a seeded few of them, inside the zones the fleet patrols, and gives each
a window of mission time in which it is there (some from the start, the rest appearing later,
some leaving on their own before anyone comes). A ground team that persuades a vendor to leave
ends the window early. Every other violation of the town is never drawn. Look-alikes (vans,
delivery tricycles, legal market stalls) stay in the town all the time.

Remote persuasion (远程劝导): a street vendor *hears* a warning played by a drone's speaker within
``HEAR_RADIUS_M`` of the stall (the simulators' speaker log says what was played where). A seeded
``comply_share`` of vendors pack up and leave ``leave_delay_s`` later (their window ends); the
rest are stubborn: from the warning on they stay until a ground team comes (even one whose
window would have ended by itself). One stall — the first placed — is a
repeat offender: ``repeat_after_s`` after it was dealt with (by a team or a warning) it is back
at the same place, and a citizen phones it in again (``repeat_calls_due``). "Dealt with" means
both that the vendor left and that the service closed the case (``case_closed``, told by the
orchestrator once the event there is resolved): a vendor who came back while the control room
still held the first case open would be the same occurrence, not a repeat (api/lifecycle/offences.py), and
on a slow machine the drone's watch can close a persuaded case long after the vendor packed up.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np
from shapely.geometry import Point
from shapely.prepared import prep

from api.demo.errors import BadScenario

#: A warning from the drone's speaker carries this far (horizontally) over a street.
HEAR_RADIUS_M = 50.0

#: Zones swept by patrols, in the order drones take them (a permitted market is never patrolled:
#: vending is legal there; the forest is swept only by the sixth drone onward, it is far out).
PATROL_ZONES: tuple[str, ...] = ("com-gushan", "res-beiyuan", "nv-renmin", "res-nanyuan",
                                 "res-xiyuan", "res-dongyuan", "res-qiaotou", "forest-wofo")


@dataclass(frozen=True)
class Incident:
    """One placed violation (ground truth): what, where, and its window of mission seconds."""

    object_id: int
    type: str
    lat: float
    lon: float
    east_m: float
    north_m: float
    zone_id: str
    appear_s: float
    vanish_s: float  # may be math.inf: it stays until a team deals with it
    hotline_s: float | None = None  # a citizen phones it in at this mission second


@functools.cache
def _world(seed: int):
    from simulators.town.sample import sample_world

    return sample_world(seed)


def _live_town_class():
    from simulators.town import Town

    class LiveTown(Town):
        """The town as the camera sees it at one mission moment: only active violations."""

        active: Callable[[int], bool] = staticmethod(lambda _oid: True)

        def objects_in(self, *window: float):  # type: ignore[override]
            return [o for o in super().objects_in(*window)
                    if o.label is None or self.active(o.object_id)]

    return LiveTown


class Scenario:
    """A seeded scenario: the town with its incidents over ``duration_s`` mission seconds.

    Mission seconds count from ``start()`` (the moment patrols begin), read from ``clock_s``.
    """

    def __init__(self, *, seed: int, duration_s: float, zone_ids: Sequence[str],
                 incidents: int, present_share: float = 0.4, hotline_share: float = 0.2,
                 comply_share: float = 0.6, leave_delay_s: tuple[float, float] = (15.0, 45.0),
                 repeat_after_s: float | None = 90.0) -> None:
        import geofence
        from geofence.routing import to_local_geometry

        if not duration_s > 0:
            raise BadScenario(f"duration must be positive, got {duration_s} s; try --duration 30")
        if not zone_ids:
            raise BadScenario("a scenario needs at least one patrol zone")
        self.seed, self.duration_s = seed, float(duration_s)
        self.town = geofence.sample_town()
        self.zone_ids = list(zone_ids)
        world = _world(seed)
        rng = np.random.default_rng(seed)
        areas = []
        for zid in self.zone_ids:
            try:
                zone = self.town.zones.get(zid)
            except KeyError as exc:
                raise BadScenario(f"no zone {zid!r} in the sample town; known: "
                                  f"{[z.id for z in self.town.zones]}") from exc
            areas.append((zid, prep(to_local_geometry(zone.geometry, self.town.frame))))
        pool: list[tuple[str, object]] = []
        for o in world.objects:
            if o.label is None:
                continue
            for zid, area in areas:
                if area.contains(Point(o.east_m, o.north_m)):
                    pool.append((zid, o))
                    break
        if not pool:
            raise BadScenario(f"no violation of town seed {seed} lies in zones {self.zone_ids}")
        # every zone gets its share: round-robin over zones, seeded shuffle within each
        by_zone: dict[str, list] = {}
        for zid, o in pool:
            by_zone.setdefault(zid, []).append(o)
        for objs in by_zone.values():
            rng.shuffle(objs)
        picked: list[tuple[str, object]] = []
        while len(picked) < min(incidents, len(pool)):
            for zid in self.zone_ids:
                if by_zone.get(zid) and len(picked) < incidents:
                    picked.append((zid, by_zone[zid].pop()))
        self.incidents: list[Incident] = []
        for zid, o in picked:
            present = rng.random() < present_share
            appear = 0.0 if present else float(rng.uniform(0.0, 0.7 * self.duration_s))
            stays = float(rng.uniform(0.6, 1.6) * self.duration_s)
            vanish = math.inf if rng.random() < 0.5 else appear + stays
            # some are phoned in by citizens, so the loop runs even where the camera misses
            call = appear + float(rng.uniform(30.0, 180.0))
            hotline = call if rng.random() < hotline_share and call < vanish else None
            lat, lon = self.town.frame.to_wgs84(o.east_m, o.north_m)
            self.incidents.append(Incident(o.object_id, o.label, float(lat), float(lon),
                                           o.east_m, o.north_m, zid, appear, vanish, hotline))
        self._by_id = {i.object_id: i for i in self.incidents}
        # drawn from their own stream, so the incidents above stay those of earlier versions
        behaviour = np.random.default_rng([seed, 9])
        self.complies: dict[int, bool] = {i.object_id: bool(behaviour.random() < comply_share)
                                          for i in self.incidents}
        self._leave_after_s = {i.object_id: float(behaviour.uniform(*leave_delay_s))
                               for i in self.incidents}
        self.heard_at: dict[int, float] = {}  # first warning each vendor heard, mission s
        self._digs_in: set[int] = set()  # stubborn vendors who heard a warning: stay for a team
        self.repeat_after_s = repeat_after_s
        self.repeat_id: int | None = next(
            (i.object_id for i in self.incidents if i.type == "street_stall"), None
        ) if repeat_after_s is not None else None
        self._back_at: float | None = None  # the repeat offender's return, mission s
        self._back_removed_at = math.inf
        self._back_called = False
        self._removed_at: dict[int, float] = {}
        self._closed_at: dict[int, float] = {}  # when the service resolved the case, mission s
        self._called: set[int] = set()
        self._lock = threading.Lock()
        self._t0_s: float | None = None
        self.clock_s: Callable[[], float] = lambda: 0.0
        LiveTown = _live_town_class()
        self.world = LiveTown(**{f.name: getattr(world, f.name) for f in fields(world)
                                 if f.init and not f.name.startswith("_")})
        self.world.active = lambda oid: self.is_active(oid, self.now_s())

    # ---------------------------------------------------------------- mission time

    def start(self, clock_s: Callable[[], float]) -> None:
        """Mission second 0 is now; ``clock_s`` reads the shared clock's elapsed seconds."""
        self.clock_s = clock_s
        self._t0_s = clock_s()

    def now_s(self) -> float:
        """Mission seconds since ``start`` (0 before it)."""
        return 0.0 if self._t0_s is None else self.clock_s() - self._t0_s

    # ---------------------------------------------------------------- ground truth

    def is_active(self, object_id: int, t_s: float) -> bool:
        """True when the violation is on the ground at mission second ``t_s``."""
        inc = self._by_id.get(object_id)
        if inc is None:
            return False
        vanish = math.inf if object_id in self._digs_in else inc.vanish_s
        end = min(vanish, self._removed_at.get(object_id, math.inf))
        if inc.appear_s <= t_s < end:
            return True
        back = self.back_at_s(object_id)
        return back is not None and back <= t_s < self._back_removed_at

    def back_at_s(self, object_id: int) -> float | None:
        """When the repeat offender returns to its place (None for every other violation, and
        before it was dealt with the first time: gone from the ground and its case closed)."""
        if object_id != self.repeat_id or self.repeat_after_s is None:
            return None
        removed, closed = self._removed_at.get(object_id), self._closed_at.get(object_id)
        if removed is None or closed is None:
            return None
        return max(removed, closed) + self.repeat_after_s

    def awaits_closure(self) -> Incident | None:
        """The repeat offender while it has left but its first case is still open, else None."""
        rid = self.repeat_id
        if rid is None or rid not in self._removed_at or rid in self._closed_at:
            return None
        return self._by_id[rid]

    def case_closed(self, object_id: int, t_s: float) -> None:
        """The service resolved the event on ``object_id`` at mission second ``t_s`` (first one kept)."""
        with self._lock:
            self._closed_at.setdefault(object_id, t_s)

    def active_near(self, lat: float, lon: float, t_s: float, radius_m: float) -> Incident | None:
        """The nearest violation on the ground within ``radius_m`` of (lat, lon), if any."""
        east, north = self.town.frame.to_local(lat, lon)
        best, best_d = None, radius_m
        for inc in self.incidents:
            d = math.hypot(inc.east_m - east, inc.north_m - north)
            if d <= best_d and self.is_active(inc.object_id, t_s):
                best, best_d = inc, d
        return best

    def hotline_due(self, t_s: float) -> list[Incident]:
        """Reports phoned in by mission second ``t_s`` and not handed out before (each once)."""
        with self._lock:
            due = [i for i in self.incidents if i.hotline_s is not None and i.hotline_s <= t_s
                   and i.object_id not in self._called and self.is_active(i.object_id, t_s)]
            self._called.update(i.object_id for i in due)
        return due

    def remove(self, object_id: int, t_s: float) -> None:
        """A team dealt with the violation: it is gone from mission second ``t_s``."""
        with self._lock:
            back = self.back_at_s(object_id)
            if back is not None and t_s >= back:
                self._back_removed_at = min(self._back_removed_at, t_s)  # dealt with again
            else:
                self._removed_at.setdefault(object_id, t_s)

    def hear(self, lat: float, lon: float, t_s: float,
             radius_m: float = HEAR_RADIUS_M) -> list[tuple[Incident, bool]]:
        """A warning played from above (lat, lon) at mission second ``t_s``: each street vendor
        on the ground within ``radius_m`` hears it; those who comply leave after their delay.
        Returns (incident, complies) for every vendor that heard it."""
        east, north = self.town.frame.to_local(lat, lon)
        heard = []
        for inc in self.incidents:
            if inc.type != "street_stall" or not self.is_active(inc.object_id, t_s):
                continue
            if math.hypot(inc.east_m - east, inc.north_m - north) > radius_m:
                continue
            self.heard_at.setdefault(inc.object_id, t_s)
            complies = self.complies[inc.object_id]
            if complies:
                self.remove(inc.object_id, t_s + self._leave_after_s[inc.object_id])
            else:
                self._digs_in.add(inc.object_id)
            heard.append((inc, complies))
        return heard

    def repeat_pending(self, t_s: float) -> bool:
        """True while the repeat offender left and its return is still to be called in (also while
        its first case is still to be seen closed: the wind-down waits for that too)."""
        if self.awaits_closure() is not None:
            return True
        with self._lock:
            back = self.back_at_s(self.repeat_id) if self.repeat_id is not None else None
            return back is not None and not self._back_called

    def repeat_calls_due(self, t_s: float, after_s: float = 20.0) -> list[Incident]:
        """The repeat offender, once, ``after_s`` after it came back (a citizen calls again)."""
        with self._lock:
            back = self.back_at_s(self.repeat_id) if self.repeat_id is not None else None
            if back is None or self._back_called or t_s < back + after_s or \
                    not self.is_active(self.repeat_id, t_s):
                return []
            self._back_called = True
            return [self._by_id[self.repeat_id]]

    def ended_s(self, inc: Incident) -> float:
        """When the incident left the ground (inf while it is still there)."""
        vanish = math.inf if inc.object_id in self._digs_in else inc.vanish_s
        return min(vanish, self._removed_at.get(inc.object_id, math.inf))
