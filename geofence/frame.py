"""A local metric frame: WGS84 degrees to metres east/north of an origin, and back."""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
from pyproj import CRS, Transformer

__all__ = ["LocalFrame"]

# float in, float out; ndarray in, ndarray out.
Coord = TypeVar("Coord", float, np.ndarray)


class LocalFrame:
    """Metres east/north of an origin on the WGS84 ellipsoid.

    An azimuthal equidistant projection centred on the origin: distances and bearings from
    the origin are exact, and within 50 km the scale error stays far below what a drone can
    fly; the round trip WGS84 -> local -> WGS84 is exact to well under 1 cm.
    """

    def __init__(self, origin_lat: float, origin_lon: float) -> None:
        if not (math.isfinite(origin_lat) and -90.0 < origin_lat < 90.0):
            raise ValueError(
                f"origin_lat must be a latitude in (-90, 90) degrees, got {origin_lat!r}"
            )
        if not (math.isfinite(origin_lon) and -180.0 <= origin_lon <= 180.0):
            raise ValueError(
                f"origin_lon must be a longitude in [-180, 180] degrees, got {origin_lon!r}"
            )
        self.origin_lat = float(origin_lat)
        self.origin_lon = float(origin_lon)
        crs = CRS.from_proj4(
            f"+proj=aeqd +lat_0={self.origin_lat!r} +lon_0={self.origin_lon!r} "
            "+datum=WGS84 +units=m +no_defs"
        )
        # always_xy: pyproj then takes (lon, lat) whatever the CRS axis order says.
        self._forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._inverse = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def to_local(self, lat: Coord, lon: Coord) -> tuple[Coord, Coord]:
        """(east_m, north_m) of WGS84 degrees; floats or numpy arrays of any shape."""
        east_m, north_m = self._forward.transform(lon, lat)
        return east_m, north_m

    def to_wgs84(self, east_m: Coord, north_m: Coord) -> tuple[Coord, Coord]:
        """(lat, lon) in WGS84 degrees of local metres; floats or numpy arrays of any shape."""
        lon, lat = self._inverse.transform(east_m, north_m)
        return lat, lon

    def __repr__(self) -> str:
        return f"LocalFrame(origin_lat={self.origin_lat!r}, origin_lon={self.origin_lon!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LocalFrame):
            return NotImplemented
        return (self.origin_lat, self.origin_lon) == (other.origin_lat, other.origin_lon)

    def __hash__(self) -> int:
        return hash((self.origin_lat, self.origin_lon))
