"""The shipped synthetic town (Xinchang County, Zhejiang): its frame, zones and drone docks."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from geofence.errors import InvalidZones
from geofence.frame import LocalFrame
from geofence.zone_file import read_geojson
from geofence.zones import ZoneSet

__all__ = ["SAMPLE_ORIGIN_LAT", "SAMPLE_ORIGIN_LON", "Dock", "Town", "load_docks", "sample_town"]

SAMPLE_ORIGIN_LAT = 29.50
SAMPLE_ORIGIN_LON = 120.90


@dataclass(frozen=True)
class Dock:
    """A drone dock: where a drone waits, charges, and takes off from."""

    id: str
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Town:
    """A town to fly over: its local frame, zones and docks."""

    frame: LocalFrame
    zones: ZoneSet
    docks: tuple[Dock, ...]

    @property
    def origin_lat(self) -> float:
        return self.frame.origin_lat

    @property
    def origin_lon(self) -> float:
        return self.frame.origin_lon

    def dock(self, dock_id: str) -> Dock:
        """The dock with this id; KeyError lists the known ids when there is none."""
        for dock in self.docks:
            if dock.id == dock_id:
                return dock
        raise KeyError(f"no dock {dock_id!r}; known: {[d.id for d in self.docks]}")


def load_docks(source: Mapping[str, object] | str | Path) -> tuple[Dock, ...]:
    """Docks of a GeoJSON FeatureCollection of Point features (properties id, name)."""
    data = read_geojson(source)
    features = data.get("features")
    if data.get("type") != "FeatureCollection" or not isinstance(features, list) or not features:
        raise InvalidZones("docks must be a non-empty GeoJSON FeatureCollection of Point features")
    docks = []
    for index, feature in enumerate(features):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = (feature.get("properties") if isinstance(feature, dict) else None) or {}
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not (
            isinstance(geometry, dict)
            and geometry.get("type") == "Point"
            and isinstance(coords, list)
            and len(coords) >= 2
            and all(isinstance(v, (int, float)) for v in coords[:2])
        ):
            raise InvalidZones(
                "a dock must be a Point feature with [lon, lat] coordinates", feature_index=index
            )
        lon, lat = float(coords[0]), float(coords[1])
        if not (
            math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
        ):
            raise InvalidZones(
                f"dock position {coords!r} is not [lon, lat] degrees", feature_index=index
            )
        dock_id = str(props.get("id", feature.get("id", f"dock-{index}")))
        docks.append(Dock(id=dock_id, name=str(props.get("name", dock_id)), lat=lat, lon=lon))
    return tuple(docks)


@functools.cache
def sample_town() -> Town:
    """The shipped synthetic town around 29.50 N, 120.90 E (built once, then shared; it is immutable).

    Twelve zones over about 3.6 km x 2.4 km (residential blocks, a forest 1.2-2.1 km west of
    the origin, a commercial street, a no-vending road, a permitted market, an industrial park
    with quiet windows, a school and a substation that are no-fly) and three docks placed so
    that the south dock -> Nanyuan and west dock -> Xiyuan routes must detour around them.
    """
    data = resources.files("geofence") / "data"
    with resources.as_file(data / "sample_town.geojson") as zones_path:
        zones = ZoneSet.from_geojson(zones_path)
    with resources.as_file(data / "docks.geojson") as docks_path:
        docks = load_docks(docks_path)
    return Town(frame=LocalFrame(SAMPLE_ORIGIN_LAT, SAMPLE_ORIGIN_LON), zones=zones, docks=docks)
