"""Events and hot spots as files a city's GIS and spreadsheets read: GeoJSON, KML and CSV.

- GeoJSON: one RFC 7946 FeatureCollection; every position is ``[lon, lat]`` (WGS84, the order
  RFC 7946 §3.1.1 fixes), every feature's ``id`` the event's id, its fields in ``properties``.
- KML 2.2: one Placemark per row, ``<coordinates>lon,lat</coordinates>``, the fields as
  ``ExtendedData``.
- CSV: a header row, then one row per event or hot spot; lists joined with ``;``.

Everything is written from plain dicts (``rows``), so the two kinds share one writer each.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
    "csv": "text/csv; charset=utf-8",
}
KML_NS = "http://www.opengis.net/kml/2.2"


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(_scalar(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def geojson(rows: Sequence[dict[str, Any]]) -> str:
    features = [{"type": "Feature", "id": row["id"],
                 "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                 "properties": {k: v for k, v in row.items() if k not in ("lat", "lon")}}
                for row in rows]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def kml(rows: Sequence[dict[str, Any]], *, name: str, label: str) -> str:
    """``label`` is the row field shown as each Placemark's name."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(root, f"{{{KML_NS}}}Document")
    ET.SubElement(doc, f"{{{KML_NS}}}name").text = name
    for row in rows:
        mark = ET.SubElement(doc, f"{{{KML_NS}}}Placemark", id=f"p{row['id']}")
        ET.SubElement(mark, f"{{{KML_NS}}}name").text = f"{row['id']} {_scalar(row.get(label))}"
        data = ET.SubElement(mark, f"{{{KML_NS}}}ExtendedData")
        for key, value in row.items():
            if key in ("lat", "lon"):
                continue
            item = ET.SubElement(data, f"{{{KML_NS}}}Data", name=key)
            ET.SubElement(item, f"{{{KML_NS}}}value").text = _scalar(value)
        point = ET.SubElement(mark, f"{{{KML_NS}}}Point")
        ET.SubElement(point, f"{{{KML_NS}}}coordinates").text = f"{row['lon']!r},{row['lat']!r}"
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_scalar(row.get(c)) for c in columns])
    return out.getvalue()


def render(fmt: str, rows: Sequence[dict[str, Any]], *, columns: Sequence[str], name: str,
           label: str) -> str:
    """``rows`` in ``fmt`` (geojson, kml or csv)."""
    if fmt == "geojson":
        return geojson(rows)
    if fmt == "kml":
        return kml(rows, name=name, label=label)
    return csv_text(rows, columns)
