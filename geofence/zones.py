"""Zones and the set of them: which zones hold a point, and the response target there.

Boundary rule: zones are closed sets. A point exactly on a zone's boundary (edge or vertex)
is inside that zone, so an event on the edge of a residential block gets the residential
target, and a point on the edge of a no-fly zone counts as in it. Edges are straight lines
in longitude/latitude, as RFC 7946 says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geofence.quiet import QuietWindow

__all__ = ["DEFAULT_TARGETS_S", "DEFAULT_TARGET_S", "KNOWN_KINDS", "NO_FLY", "Zone", "ZoneSet"]

NO_FLY = "no_fly"
KNOWN_KINDS = frozenset(
    {
        "residential",
        "forest",
        "commercial",
        "industrial",
        "market",
        "park",
        "water",
        "no_vending",
        NO_FLY,
    }
)
# Response targets the client fixed: residential 3 minutes, forest 6 minutes.
DEFAULT_TARGETS_S: Mapping[str, float] = {"residential": 180.0, "forest": 360.0}
DEFAULT_TARGET_S = 300.0


@dataclass(frozen=True)
class Zone:
    """One zone: a (Multi)Polygon in lon/lat degrees with its kind and response target."""

    id: str
    name: str
    kind: str
    geometry: BaseGeometry
    response_target_s: float
    quiet_windows: tuple[QuietWindow, ...] = ()

    def is_quiet(self, at: datetime) -> bool:
        """True when routine patrols must not fly over this zone at the aware instant ``at``."""
        return any(window.contains(at) for window in self.quiet_windows)

    def covers(self, lat: float, lon: float) -> bool:
        """True when the point is inside or on the boundary of this zone."""
        return bool(shapely.intersects_xy(self.geometry, lon, lat))


class ZoneSet:
    """An immutable set of zones with a spatial index for point queries."""

    def __init__(
        self, zones: Iterable[Zone], *, default_target_s: float = DEFAULT_TARGET_S
    ) -> None:
        self._zones: tuple[Zone, ...] = tuple(zones)
        if not (math.isfinite(default_target_s) and default_target_s > 0):
            raise ValueError(
                f"default_target_s must be a positive number of seconds, got {default_target_s!r}"
            )
        seen: set[str] = set()
        for zone in self._zones:
            if zone.id in seen:
                raise ValueError(f"zone id {zone.id!r} appears twice; zone ids must be unique")
            seen.add(zone.id)
        self.default_target_s = float(default_target_s)
        self._by_id = {zone.id: zone for zone in self._zones}
        self._geoms = np.array([zone.geometry for zone in self._zones], dtype=object)
        # Prepared geometries make the exact point-in-polygon test after the index lookup cheap.
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        self._targets = np.array([zone.response_target_s for zone in self._zones], dtype=float)

    @classmethod
    def from_geojson(
        cls,
        source: Mapping[str, object] | str | Path,
        *,
        default_target_s: float = DEFAULT_TARGET_S,
        targets_s: Mapping[str, float] | None = None,
        repair: bool = False,
    ) -> ZoneSet:
        """Zones of a GeoJSON FeatureCollection (a dict, a path, or JSON text), validated.

        ``targets_s`` overrides the per-kind targets (residential 180 s, forest 360 s); kinds
        without one get ``default_target_s``; a feature's own ``response_target_s`` wins.
        Invalid input raises ``InvalidZones`` naming the feature; an unclosed ring is closed with
        a ``ZoneRepairedWarning``; a self-intersecting ring is rejected unless ``repair=True``.
        """
        from geofence.zone_file import load_zones

        zones = load_zones(
            source, default_target_s=default_target_s, targets_s=targets_s, repair=repair
        )
        return cls(zones, default_target_s=default_target_s)

    def zones_at(self, lat: float, lon: float) -> list[Zone]:
        """The zones that contain the point (boundary counts as inside), in file order."""
        return [self._zones[i] for i in self._indices_at(lat, lon)]

    def kinds_at(self, lat: float, lon: float) -> set[str]:
        """The kinds of the zones that contain the point."""
        return {self._zones[i].kind for i in self._indices_at(lat, lon)}

    def target_s(self, lat: float, lon: float) -> float:
        """The strictest response target of the zones holding the point, else the default."""
        indices = self._indices_at(lat, lon)
        if len(indices) == 0:
            return self.default_target_s
        return float(self._targets[indices].min())

    def targets_s(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """``target_s`` of many points at once (one index query for all of them)."""
        point_idx, zone_idx = self.containing(lats, lons)
        out = np.full(np.size(lats), np.inf)
        np.minimum.at(out, point_idx, self._targets[zone_idx])
        # The default applies only where no zone holds the point; it never caps a zone's target.
        out[np.isinf(out)] = self.default_target_s
        return out

    def containing(self, lats: np.ndarray, lons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (point index, zone index) pair where the zone holds the point; zone indices
        count in file order (``list(zone_set)[k]``), the boundary counts as inside."""
        lats = np.asarray(lats, dtype=float).ravel()
        lons = np.asarray(lons, dtype=float).ravel()
        if lats.shape != lons.shape:
            raise ValueError(
                f"lats and lons must have the same length, got {lats.size} and {lons.size}"
            )
        point_idx, zone_idx = self._tree.query(shapely.points(lons, lats), predicate="intersects")
        return point_idx, zone_idx

    def _indices_at(self, lat: float, lon: float) -> np.ndarray:
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise ValueError(
                f"({lat!r}, {lon!r}) is not a WGS84 (lat, lon) in degrees; check the order"
            )
        # One call: the index finds the boxes and GEOS tests the predicate on those candidates.
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) > 1:
            hits.sort()  # file order, whatever order the tree walked
        return hits

    @property
    def no_fly(self) -> tuple[Zone, ...]:
        """The no-fly zones, in file order."""
        return self.of_kind(NO_FLY)

    def of_kind(self, kind: str) -> tuple[Zone, ...]:
        """The zones of one kind, in file order."""
        return tuple(zone for zone in self._zones if zone.kind == kind)

    def get(self, zone_id: str) -> Zone:
        """The zone with this id; KeyError names the known ids when there is none."""
        try:
            return self._by_id[zone_id]
        except KeyError:
            raise KeyError(f"no zone {zone_id!r}; known: {sorted(self._by_id)}") from None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) of all zones."""
        return tuple(shapely.total_bounds(self._geoms).tolist())  # type: ignore[return-value]

    def __iter__(self) -> Iterator[Zone]:
        return iter(self._zones)

    def __len__(self) -> int:
        return len(self._zones)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for zone in self._zones:
            counts[zone.kind] = counts.get(zone.kind, 0) + 1
        return f"ZoneSet({len(self._zones)} zones: {counts})"
