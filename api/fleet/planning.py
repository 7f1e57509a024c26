"""Where the service's fleet can be in time: the reachability map of its zones, docks and models.

The map is ``dispatch.Reachability`` over the service's own zones (``ZoneIndex``), the home docks
of the registered drones and each drone's model (``DroneModel`` with its cruise speed), with the
router and flight parameters the dispatch worker plans with (``service_router``, the settings'
altitude, hold and arrival radius). Drones of one model share one map; several models give the
best ETA of any (``dispatch.reachability.best_of``).

``ReachCache`` keeps the maps keyed by a fingerprint of everything they depend on (zones, docks,
models, flight settings, cell size), so a map is recomputed exactly when one of those changes
and never otherwise. Computing takes a fraction of a second to a few seconds, so callers run
``ReachCache.get`` in a thread, never on the event loop.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from api.core.models import Drone
from api.core.settings import Settings
from dispatch.model import DroneModel
from dispatch.reachability import Grid, Reachability, ReachabilityMap, best_of
from geofence import LocalFrame, Router, ZoneSet

__all__ = ["FleetDock", "ReachCache", "ServiceReach", "service_frame", "service_router"]


def service_frame(zone_set: ZoneSet) -> LocalFrame:
    """The service's local metric frame: centred on the middle of its zones' bounds."""
    min_lon, min_lat, max_lon, max_lat = zone_set.bounds
    return LocalFrame((min_lat + max_lat) / 2, (min_lon + max_lon) / 2)


def service_router(zone_set: ZoneSet, settings: Settings) -> Router:
    """The router the dispatch worker flies with: no-fly zones kept ``no_fly_margin_m`` away."""
    return Router(zone_set, service_frame(zone_set), margin_m=settings.no_fly_margin_m)


@dataclass(frozen=True)
class FleetDock:
    """One dock in use: where, the drones based there, and the cruise speed of their model."""

    lat: float
    lon: float
    cruise_speed_mps: float
    drone_ids: tuple[str, ...]

    @property
    def id(self) -> str:
        return "+".join(self.drone_ids)


@dataclass(frozen=True)
class ServiceReach:
    """A reachability map with what it was computed for and the frame to place it."""

    fingerprint: str
    field: ReachabilityMap
    frame: LocalFrame
    docks: tuple[FleetDock, ...]
    zone_set: ZoneSet


def fleet_docks(drones: Sequence[Drone]) -> tuple[FleetDock, ...]:
    """The registered drones' home docks, one per (place, model), in a stable order."""
    grouped: dict[tuple[float, float, float], list[str]] = {}
    for d in drones:
        grouped.setdefault((d.dock_lat, d.dock_lon, d.cruise_speed_mps), []).append(d.id)
    return tuple(FleetDock(lat, lon, speed, tuple(sorted(ids)))
                 for (lat, lon, speed), ids in sorted(grouped.items()))


def fingerprint(zone_set: ZoneSet, docks: Sequence[FleetDock], settings: Settings,
                cell_m: float) -> str:
    """A digest of everything a map depends on: equal exactly when the map would be."""
    zones = [(z.id, z.kind, z.response_target_s, z.geometry.wkb_hex) for z in zone_set]
    flight = (settings.hold_alt_m, settings.hold_on_scene_s, settings.arrival_radius_m,
              settings.no_fly_margin_m)
    docks_key = [(d.lat, d.lon, d.cruise_speed_mps) for d in docks]  # which drones: no matter
    blob = json.dumps([zones, docks_key, flight, float(cell_m)], default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ReachCache:
    """Reachability maps by fingerprint; the last ``size`` kept (a few cell sizes, one fleet)."""

    def __init__(self, settings: Settings, *, size: int = 8) -> None:
        self.settings = settings
        self.size = size
        self.computed = 0  # maps computed so far (how tests see a recomputation)
        self._maps: OrderedDict[str, ServiceReach] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, zone_set: ZoneSet, drones: Sequence[Drone], *, cell_m: float) -> ServiceReach:
        """The map for these zones and drones at ``cell_m``; computed only if not cached.

        Blocking (seconds at most): call it in a thread. ValueError when there are no drones.
        """
        docks = fleet_docks(drones)
        if not docks:
            raise ValueError("no drones are registered, so no dock to fly from; register drones "
                             "with POST /api/v1/drones")
        key = fingerprint(zone_set, docks, self.settings, cell_m)
        with self._lock:  # one computation at a time: a second request waits for the first's map
            if key in self._maps:
                self._maps.move_to_end(key)
                return self._maps[key]
            reach = self._compute(key, zone_set, docks, cell_m)
            self._maps[key] = reach
            while len(self._maps) > self.size:
                self._maps.popitem(last=False)
            self.computed += 1
            return reach

    def _compute(self, key: str, zone_set: ZoneSet, docks: Sequence[FleetDock],
                 cell_m: float) -> ServiceReach:
        s = self.settings
        router = service_router(zone_set, s)
        grid = Grid.over_zones(zone_set, router.frame, cell_m)
        by_speed: dict[float, list[FleetDock]] = {}
        for dock in docks:
            by_speed.setdefault(dock.cruise_speed_mps, []).append(dock)
        fields = []
        for speed, group in sorted(by_speed.items()):
            reach = Reachability(router, model=DroneModel(cruise_speed_mps=speed),
                                 alt_rel_m=s.hold_alt_m, arrival_radius_m=s.arrival_radius_m,
                                 hold_s=s.hold_on_scene_s)
            fields.append(reach.map(zone_set, group, grid=grid))
        field = fields[0] if len(fields) == 1 else best_of(fields, zone_set, router.frame)
        return ServiceReach(key, field, router.frame, tuple(docks), zone_set)
