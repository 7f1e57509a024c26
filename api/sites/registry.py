"""The registry of regulated sites: checked geometry, imports from GeoJSON and CSV, the area a
site covers, and the violations found in it.

Decisions:

- A site is a GeoJSON **Point** or **Polygon** (WGS84). A point site covers the disc of
  `POINT_RADIUS_M` around it (a depot's gate, a stall market's centre); a polygon site covers
  its polygon, edge included.
- Every site carries the importer's own key `ref` (a registry number). Importing a `ref` again
  updates the site in place (name, kind, geometry, department, contact), so a monthly export can
  be re-imported; its grades and visits stay.
- An import is all or nothing: one bad row or feature refuses the whole file with every
  problem listed (row or feature number and what to fix), and nothing is stored.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
import shapely.prepared
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlmodel import Session, select

from api.core.errors import BadInput, NotFound
from api.core.models import Event, Site, SiteAudit
from api.lifecycle.offences import confirmed_violation
from api.patrols.requests import check_area
from geofence import LocalFrame

KINDS = ("construction", "fuel_depot", "factory", "market", "other")
POINT_RADIUS_M = 50.0
CSV_COLUMNS = ("ref", "name", "kind", "department", "contact")
MAX_SITES_PER_IMPORT = 5000


@dataclass(frozen=True)
class SiteFields:
    ref: str
    name: str
    kind: str
    geometry: dict
    department: str
    contact: str


def check_geometry(raw: Any, zone_set: Any) -> BaseGeometry:
    """The site's GeoJSON Point or Polygon as shapely; BadInput says what to fix."""
    if isinstance(raw, dict) and raw.get("type") == "Point":
        coords = raw.get("coordinates")
        if not (isinstance(coords, (list, tuple)) and len(coords) in (2, 3) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in coords)):
            raise BadInput("a Point's coordinates are [lon, lat] in degrees")
        lon, lat = coords[0], coords[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise BadInput(f"point [{lon}, {lat}] is outside WGS84 (lon -180..180, lat -90..90)")
        # A point is checked like a polygon around it: near the town, coordinates in order.
        check_area(geojson_of(area_of_point(lat, lon)), zone_set)
        return Point(lon, lat)
    if isinstance(raw, dict) and raw.get("type") == "Polygon":
        return check_area(raw, zone_set)
    got = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
    raise BadInput(f"a site's geometry is a GeoJSON Point or Polygon, got {got!r}")


def area_of_point(lat: float, lon: float) -> BaseGeometry:
    """The disc of POINT_RADIUS_M around (lat, lon), as a lon/lat polygon (64 sides)."""
    frame = LocalFrame(lat, lon)
    angles = np.linspace(0, 2 * np.pi, 65)
    lats, lons = frame.to_wgs84(POINT_RADIUS_M * np.cos(angles), POINT_RADIUS_M * np.sin(angles))
    return shapely.Polygon(np.column_stack([lons, lats]))


def geojson_of(geometry: BaseGeometry) -> dict:
    """GeoJSON of a shapely geometry with lists, not tuples (as a parsed request holds it)."""
    return json.loads(shapely.to_geojson(geometry))


def area_of(site: Site) -> BaseGeometry:
    """The lon/lat area a site covers (a point site: the disc around it)."""
    geometry = shape(json.loads(site.geometry_geojson))
    return area_of_point(site.lat, site.lon) if geometry.geom_type == "Point" else geometry


def fields_from_geojson(raw: Any) -> list[SiteFields]:
    """Sites from a GeoJSON FeatureCollection (properties: ref, name, kind, department, contact)."""
    if not isinstance(raw, dict) or raw.get("type") != "FeatureCollection" \
            or not isinstance(raw.get("features"), list):
        raise BadInput('a GeoJSON import is a FeatureCollection: {"type": "FeatureCollection", '
                       '"features": [...]}')
    rows, problems = [], []
    for k, feature in enumerate(raw["features"], start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            problems.append(f"feature {k}: no properties object")
            continue
        values = {c: props.get(c) for c in CSV_COLUMNS}
        rows.append((f"feature {k}", values, feature.get("geometry")))
    return _fields(rows, problems)


def fields_from_csv(text: str) -> list[SiteFields]:
    """Sites from CSV with a header: ref,name,kind,department,contact and either lat,lon (a
    point) or geometry (GeoJSON text)."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing or not ({"lat", "lon"} <= set(header) or "geometry" in header):
        raise BadInput(f"the CSV header needs {', '.join(CSV_COLUMNS)} and lat,lon or geometry; "
                       f"missing: {', '.join(missing) or 'lat,lon or geometry'}")
    rows, problems = [], []
    for k, row in enumerate(reader, start=2):
        where = f"row {k}"
        geometry: Any = None
        try:
            if row.get("geometry"):
                geometry = json.loads(row["geometry"])
            else:
                geometry = {"type": "Point", "coordinates": [float(row["lon"]), float(row["lat"])]}
        except (TypeError, ValueError):
            problems.append(f"{where}: lat/lon must be numbers, geometry GeoJSON text")
            continue
        rows.append((where, {c: row.get(c) for c in CSV_COLUMNS}, geometry))
    return _fields(rows, problems)


def _fields(rows: Sequence[tuple[str, dict, Any]], problems: list[str]) -> list[SiteFields]:
    if len(rows) > MAX_SITES_PER_IMPORT:
        raise BadInput(f"{len(rows)} sites in one import; at most {MAX_SITES_PER_IMPORT}, split it")
    out, seen = [], set()
    for where, values, geometry in rows:
        empty = [c for c in CSV_COLUMNS if not isinstance(values[c], str) or not values[c].strip()]
        if empty:
            problems.append(f"{where}: {', '.join(empty)} missing (each is text)")
            continue
        if values["kind"] not in KINDS:
            problems.append(f"{where}: kind {values['kind']!r} is not one of {', '.join(KINDS)}")
            continue
        if values["ref"] in seen:
            problems.append(f"{where}: ref {values['ref']!r} appears twice in this import")
            continue
        too_long = [c for c, n in (("ref", 64), ("name", 200), ("department", 64),
                                   ("contact", 200)) if len(values[c]) > n]
        if too_long:
            problems.append(f"{where}: {', '.join(too_long)} too long")
            continue
        seen.add(values["ref"])
        out.append(SiteFields(geometry=geometry, **{c: values[c].strip() for c in CSV_COLUMNS}))
    if problems:
        raise BadInput("nothing imported; fix these and send the file again: "
                       + "; ".join(problems[:20])
                       + (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""))
    if not out:
        raise BadInput("the import holds no sites")
    return out


def upsert(session: Session, sites: Iterable[SiteFields], *, zone_set: Any, actor: str,
           now: datetime) -> tuple[list[Site], int]:
    """Store the sites (a known ref is updated); (the sites, how many were new). The caller
    commits; a bad geometry refuses them all (BadInput naming the ref)."""
    sites = list(sites)
    checked = []
    for s in sites:
        try:
            checked.append(check_geometry(s.geometry, zone_set))
        except BadInput as exc:
            raise BadInput(f"nothing imported; site {s.ref!r}: {exc.message}") from exc
    known = {row.ref: row for row in session.exec(
        select(Site).where(Site.ref.in_([s.ref for s in sites]))).all()}
    stored, new = [], 0
    for s, geometry in zip(sites, checked):
        point = geometry if geometry.geom_type == "Point" else geometry.representative_point()
        row = known.get(s.ref) or Site(ref=s.ref, created_by=actor, created_at=now)
        new += row.id is None
        row.name, row.kind, row.department, row.contact = s.name, s.kind, s.department, s.contact
        row.geometry_geojson = json.dumps(mapping(geometry))
        row.lat, row.lon = point.y, point.x
        session.add(row)
        stored.append(row)
    session.flush()
    for row in stored:
        session.add(SiteAudit(site_id=row.id, at=now, actor=actor, action="imported",
                              reason=f"{row.ref}: {row.name} ({row.kind})"))
    return stored, new


def get_site(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}; GET /api/v1/sites lists them")
    return site


def violations_in(session: Session, site: Site, since: datetime, until: datetime) -> list[Event]:
    """Violations reviewed as real inside the site's area, detected in [since, until)."""
    area = area_of(site)
    min_lon, min_lat, max_lon, max_lat = area.bounds
    rows = session.exec(select(Event).where(
        confirmed_violation(), Event.detected_at >= since, Event.detected_at < until,
        Event.lat.between(min_lat, max_lat), Event.lon.between(min_lon, max_lon))).all()
    prepared = shapely.prepared.prep(area)
    return [e for e in rows if prepared.intersects(Point(e.lon, e.lat))]


def inside(site: Site, event: Event) -> bool:
    """Whether the event lies in the site's area (edge included)."""
    return area_of(site).intersects(Point(event.lon, event.lat))




def all_sites(session: Session) -> list[Site]:
    return list(session.exec(select(Site).order_by(Site.id)).all())


def sites_by_id(session: Session, site_ids: Iterable[int]) -> dict[int, Site]:
    """The sites with these ids, by id, in one query."""
    ids = set(site_ids)
    if not ids:
        return {}
    return {s.id: s for s in session.exec(select(Site).where(Site.id.in_(ids))).all()}


def audit_of(session: Session, site_id: int) -> list[SiteAudit]:
    """The site's audit rows, newest first."""
    return list(session.exec(select(SiteAudit).where(SiteAudit.site_id == site_id)
                             .order_by(SiteAudit.at.desc(), SiteAudit.id.desc())).all())
