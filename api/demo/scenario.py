"""The demo's world over mission time: the town, which violations exist when, and the patrol areas.

The synthetic town (``simulators.town.sample_world``) places thousands of violations along its
roads; a scenario keeps a seeded few of them, inside the zones the fleet patrols, and gives each
a window of mission time in which it is there (some from the start, the rest appearing later,
some leaving on their own before anyone comes). A ground team that persuades a vendor to leave
ends the window early. Every other violation of the town is never drawn. Look-alikes (vans,
delivery tricycles, legal market stalls) stay in the town all the time.
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
                 incidents: int, present_share: float = 0.4, hotline_share: float = 0.2) -> None:
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
        self._removed_at: dict[int, float] = {}
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
        end = min(inc.vanish_s, self._removed_at.get(object_id, math.inf))
        return inc.appear_s <= t_s < end

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
            self._removed_at.setdefault(object_id, t_s)

    def ended_s(self, inc: Incident) -> float:
        """When the incident left the ground (inf while it is still there)."""
        return min(inc.vanish_s, self._removed_at.get(inc.object_id, math.inf))
