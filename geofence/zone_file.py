"""Reading zones from GeoJSON: every rejection names the feature and says what to fix."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geofence.errors import InvalidZones, ZoneRepairedWarning
from geofence.quiet import QuietWindow
from geofence.zones import DEFAULT_TARGETS_S, KNOWN_KINDS, Zone

__all__ = ["load_zones", "read_geojson"]


def read_geojson(source: Mapping[str, object] | str | Path) -> Mapping[str, object]:
    """The parsed GeoJSON object of a dict, a path, or JSON text (a str starting with '{')."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, str) and source.lstrip().startswith("{"):
        text, origin = source, "JSON text"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidZones(
                f"cannot read {path}: {exc.strerror or exc}; pass the path of a GeoJSON file"
            ) from exc
        origin = str(path)
    else:
        raise InvalidZones(f"expected a dict, a path or JSON text, got {type(source).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidZones(
            f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        raise InvalidZones(
            f"{origin} must hold a GeoJSON FeatureCollection object, got {type(data).__name__}"
        )
    return data


def load_zones(
    source: Mapping[str, object] | str | Path,
    *,
    default_target_s: float,
    targets_s: Mapping[str, float] | None = None,
    repair: bool = False,
) -> list[Zone]:
    """Validated zones of a GeoJSON FeatureCollection, in file order."""
    kind_targets = dict(DEFAULT_TARGETS_S)
    for kind, target in (targets_s or {}).items():
        if kind not in KNOWN_KINDS:
            raise ValueError(
                f"targets_s names unknown kind {kind!r}; known kinds: {sorted(KNOWN_KINDS)}"
            )
        kind_targets[kind] = _positive_seconds(target, f"targets_s[{kind!r}]")
    _positive_seconds(default_target_s, "default_target_s")

    data = read_geojson(source)
    if data.get("type") != "FeatureCollection":
        raise InvalidZones(
            f'top-level "type" must be "FeatureCollection", got {data.get("type")!r}'
        )
    features = data.get("features")
    if not isinstance(features, list):
        raise InvalidZones('"features" must be a list of GeoJSON Feature objects')
    if not features:
        raise InvalidZones("the collection has no features; a zone set needs at least one zone")

    zones: list[Zone] = []
    seen_ids: dict[str, int] = {}
    for index, feature in enumerate(features):
        zone = _zone_of(index, feature, kind_targets, default_target_s, repair)
        if zone.id in seen_ids:
            raise InvalidZones(
                f"id {zone.id!r} is already used by feature {seen_ids[zone.id]}; ids must be unique",
                feature_index=index,
            )
        seen_ids[zone.id] = index
        zones.append(zone)
    return zones


def _zone_of(
    index: int,
    feature: object,
    kind_targets: Mapping[str, float],
    default_target_s: float,
    repair: bool,
) -> Zone:
    def fail(reason: str) -> InvalidZones:
        return InvalidZones(reason, feature_index=index)

    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise fail('not a GeoJSON Feature (an object with "type": "Feature")')
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise fail('"properties" must be an object holding at least "kind"')
    kind = props.get("kind")
    if kind not in KNOWN_KINDS:
        raise fail(f"unknown kind {kind!r}; use one of {', '.join(sorted(KNOWN_KINDS))}")
    raw_id = props.get("id", feature.get("id"))
    zone_id = f"zone-{index}" if raw_id is None else str(raw_id)
    name = props.get("name", zone_id)
    if not isinstance(name, str) or not name.strip():
        raise fail(f'"name" must be a non-empty string, got {name!r}')

    if "response_target_s" in props and props["response_target_s"] is not None:
        try:
            target = _positive_seconds(props["response_target_s"], '"response_target_s"')
        except ValueError as exc:
            raise fail(str(exc)) from None
    else:
        target = kind_targets.get(kind, default_target_s)

    raw_windows = props.get("quiet_windows") or []
    if not isinstance(raw_windows, list):
        raise fail('"quiet_windows" must be a list of {"days", "start", "end"} objects')
    try:
        windows = tuple(QuietWindow.from_mapping(raw) for raw in raw_windows)
    except ValueError as exc:
        raise fail(str(exc)) from None

    geometry = _geometry_of(feature.get("geometry"), f"feature {index} ({name!r})", fail, repair)
    return Zone(zone_id, name, kind, geometry, target, windows)


def _geometry_of(raw: object, label: str, fail, repair: bool) -> BaseGeometry:
    if not isinstance(raw, dict):
        raise fail('"geometry" must be a GeoJSON Polygon or MultiPolygon object')
    gtype, coords = raw.get("type"), raw.get("coordinates")
    if gtype == "Polygon":
        polygons = [coords]
    elif gtype == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise fail("a MultiPolygon needs a non-empty list of polygons")
        polygons = coords
    else:
        raise fail(f"geometry type {gtype!r} is not a zone; zones are Polygon or MultiPolygon")

    shapes = [_polygon_of(poly, label, fail) for poly in polygons]
    geometry: BaseGeometry = shapes[0] if gtype == "Polygon" else MultiPolygon(shapes)
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        if not repair:
            raise fail(
                f"invalid polygon ({reason}); fix the ring, or load with repair=True to repair it"
            )
        repaired = shapely.make_valid(geometry)
        polygonal = [
            g for g in shapely.get_parts(repaired) if isinstance(g, Polygon) and g.area > 0
        ]
        if not polygonal:
            raise fail(f"invalid polygon ({reason}) with no area left after repair")
        geometry = polygonal[0] if len(polygonal) == 1 else MultiPolygon(polygonal)
        warnings.warn(
            f"{label}: repaired invalid polygon ({reason}); check the shape in the file",
            ZoneRepairedWarning,
            stacklevel=5,
        )
    if geometry.area <= 0:
        raise fail("the polygon has no area (all points on one line)")
    return geometry


def _polygon_of(rings: object, label: str, fail) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise fail("a Polygon needs a list of linear rings (exterior first, then holes)")
    parsed = [_ring_of(ring, label, fail) for ring in rings]
    return Polygon(parsed[0], parsed[1:])


def _ring_of(ring: object, label: str, fail) -> list[tuple[float, float]]:
    if not isinstance(ring, list):
        raise fail("a linear ring must be a list of [lon, lat] positions")
    points: list[tuple[float, float]] = []
    for position in ring:
        if (
            not isinstance(position, list)
            or len(position) < 2
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in position[:2]
            )
        ):
            raise fail(f"position {position!r} is not a [lon, lat] pair of numbers")
        lon, lat = float(position[0]), float(position[1])
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise fail(f"position {position!r} is not finite")
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            hint = (
                "; it looks like [lat, lon] - GeoJSON wants [lon, lat]"
                if -180.0 <= lat <= 180.0 and -90.0 <= lon <= 90.0
                else ""
            )
            raise fail(f"position {position!r} is out of range for [lon, lat] degrees{hint}")
        points.append((lon, lat))
    distinct = {p for p in points}
    if len(distinct) < 3:
        raise fail(f"a ring needs at least 3 distinct positions, got {len(distinct)}")
    if points[0] != points[-1]:
        # An unclosed ring has only one reading, so closing it is safe; say so anyway.
        warnings.warn(
            f"{label}: ring was not closed (first position != last); closed it",
            ZoneRepairedWarning,
            stacklevel=6,
        )
        points.append(points[0])
    return points


def _positive_seconds(value: object, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)
