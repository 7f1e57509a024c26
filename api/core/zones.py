"""The zones the service knows: geofence's ZoneSet, mirrored into the `zones` table for the map."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import mapping
from sqlmodel import Session, select

from api.core.models import Zone


@dataclass(frozen=True)
class Place:
    """Where an event is: its strictest zone (the one that sets its target) and all zone kinds."""

    zone_id: str | None
    zone_name: str | None
    zone_kind: str | None
    target_s: float
    kinds: tuple[str, ...]


class ZoneIndex:
    """Point → zone lookups over a geofence ZoneSet."""

    def __init__(self, zone_set) -> None:  # noqa: ANN001  (geofence.ZoneSet)
        self.zone_set = zone_set

    @classmethod
    def load(cls, path: Path | None, *, default_target_s: float) -> ZoneIndex:
        """The zones of `path` (GeoJSON), or of geofence's sample town when None."""
        from importlib import resources

        import geofence

        if path is None:
            path = resources.files("geofence") / "data" / "sample_town.geojson"
        return cls(geofence.ZoneSet.from_geojson(path, default_target_s=default_target_s))

    def locate(self, lat: float, lon: float) -> Place:
        zones = self.zone_set.zones_at(lat, lon)
        target_s = self.zone_set.target_s(lat, lon)
        strictest = min(zones, key=lambda z: z.response_target_s, default=None)
        return Place(
            zone_id=strictest.id if strictest else None,
            zone_name=strictest.name if strictest else None,
            zone_kind=strictest.kind if strictest else None,
            target_s=target_s,
            kinds=tuple(sorted({z.kind for z in zones})),
        )

    def sync(self, session: Session) -> int:
        """Mirror the zones into the database (insert new, update changed); returns the count."""
        stored = {z.id: z for z in session.exec(select(Zone)).all()}
        for zone in self.zone_set:
            row = stored.get(zone.id) or Zone(id=zone.id, name=zone.name, kind=zone.kind,
                                              geometry_geojson="")
            row.name, row.kind = zone.name, zone.kind
            row.response_target_s = zone.response_target_s
            row.geometry_geojson = json.dumps(mapping(zone.geometry))
            session.add(row)
        session.commit()
        return len(list(self.zone_set))


def stored_zones(session: Session) -> Sequence[Zone]:
    """The zones the service holds, by id."""
    return session.exec(select(Zone).order_by(Zone.id)).all()
