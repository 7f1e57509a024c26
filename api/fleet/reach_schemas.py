"""What crosses the HTTP edge for reachability: the grid, the shares within target, the raster.

The raster is the ETA of every cell against its target, drawn by ``dispatch.reach_plot``
(``overlay_png``: one pixel per cell, north up, unreachable cells transparent) and sent as a
base64 PNG with the WGS84 bounds to lay it over: a browser map needs no second, authorised
request for the image. The legend's bins and colours are the plot's own (``RATIO_BINS``,
``BIN_COLOURS``), so the page and a printed plan cannot disagree.
"""

from __future__ import annotations

import base64
import math

import numpy as np
from pydantic import BaseModel, Field

from api.fleet.planning import ServiceReach
from dispatch.reach_plot import BIN_COLOURS, RATIO_BINS, overlay_png

CRS = "local east/north metres about the grid origin (WGS84 ⇄ metres, azimuthal equidistant)"


class GridSpec(BaseModel):
    """Where the cells are: a regular grid in the service's local metric frame."""

    crs: str = Field(description="How the metres are measured.")
    frame_origin_lat: float = Field(description="WGS84 latitude of the frame's (0, 0).")
    frame_origin_lon: float = Field(description="WGS84 longitude of the frame's (0, 0).")
    origin_east_m: float = Field(description="South-west corner of the grid, metres east.")
    origin_north_m: float = Field(description="South-west corner of the grid, metres north.")
    cell_m: float
    cols: int = Field(description="Cells west to east.")
    rows: int = Field(description="Cells south to north.")
    bounds: list[list[float]] = Field(description="[[south, west], [north, east]], degrees.")


class ZoneShare(BaseModel):
    """One zone: its area on the grid and the share of it reached within target."""

    zone_id: str
    name: str
    kind: str
    target_s: float = Field(description="The zone's own response target.")
    area_m2: float
    within_share: float | None = Field(description="None for a zone too small to hold a cell.")


class KindShare(BaseModel):
    """All zones of one kind together."""

    kind: str
    targets_s: list[float] = Field(description="The distinct targets of the kind's zones.")
    area_m2: float
    within_share: float | None


class DockPublic(BaseModel):
    lat: float
    lon: float
    drone_ids: list[str]
    cruise_speed_mps: float


class LegendBin(BaseModel):
    """Cells whose ETA / target lies in [ratio_from, ratio_to) are drawn in ``colour``."""

    ratio_from: float
    ratio_to: float | None = Field(description="None: no upper end.")
    colour: str
    within_target: bool
    cells: int = Field(description="Cells of the grid in this bin.")


class Raster(BaseModel):
    encoding: str = "image/png;base64"
    bounds: list[list[float]] = Field(description="[[south, west], [north, east]], degrees.")
    data: str


class ReachabilityPublic(BaseModel):
    """The best ETA from any dock to every cell, judged against the target there."""

    fingerprint: str = Field(description="Changes exactly when zones, docks, drone models or "
                                         "flight settings do.")
    grid: GridSpec
    docks: list[DockPublic]
    zones: list[ZoneShare]
    kinds: list[KindShare]
    legend: list[LegendBin]
    unreachable_cells: int = Field(description="Cells no dock reaches (transparent).")
    raster: Raster


def overlay(reach: ServiceReach) -> bytes:
    """The PNG overlay of the map (``dispatch.reach_plot.overlay_png``)."""
    return overlay_png(reach.field)


def public(reach: ServiceReach) -> ReachabilityPublic:
    """The JSON answer for a computed map."""
    field, frame = reach.field, reach.frame
    grid = field.grid
    (south, west), (north, east) = field.bounds_wgs84(frame)
    bounds = [[south, west], [north, east]]
    targets = {z.id: z.response_target_s for z in reach.zone_set}
    kind_targets: dict[str, set[float]] = {}
    for z in reach.zone_set:
        kind_targets.setdefault(z.kind, set()).add(z.response_target_s)
    ratio = field.eta_s / field.target_s
    reachable = np.isfinite(ratio)
    legend = []
    for k, colour in enumerate(BIN_COLOURS):
        lo, hi = RATIO_BINS[k], RATIO_BINS[k + 1]
        cells = int(np.count_nonzero(reachable & (ratio >= lo) & (ratio < hi)))
        legend.append(LegendBin(ratio_from=lo, ratio_to=None if math.isinf(hi) else hi,
                                colour=colour, within_target=hi <= 1.0, cells=cells))
    # a cell exactly at its target is within it: ratio 1.0 falls in [1.0, 1.25) above, so move it
    at_target = int(np.count_nonzero(ratio == 1.0))
    first_late = next(i for i, b in enumerate(legend) if not b.within_target)
    legend[first_late - 1].cells += at_target
    legend[first_late].cells -= at_target
    return ReachabilityPublic(
        fingerprint=reach.fingerprint,
        grid=GridSpec(
            crs=CRS, frame_origin_lat=frame.origin_lat, frame_origin_lon=frame.origin_lon,
            origin_east_m=float(grid.east_m[0] - grid.spacing_m / 2),
            origin_north_m=float(grid.north_m[0] - grid.spacing_m / 2),
            cell_m=grid.spacing_m, cols=len(grid.east_m), rows=len(grid.north_m), bounds=bounds),
        docks=[DockPublic(lat=d.lat, lon=d.lon, drone_ids=list(d.drone_ids),
                          cruise_speed_mps=d.cruise_speed_mps) for d in reach.docks],
        zones=[ZoneShare(zone_id=z.zone_id, name=z.name, kind=z.kind, target_s=targets[z.zone_id],
                         area_m2=z.area_m2, within_share=_share(z.within_share))
               for z in field.zones],
        kinds=[KindShare(kind=k.kind, targets_s=sorted(kind_targets.get(k.kind, ())),
                         area_m2=k.area_m2, within_share=_share(k.within_share))
               for k in field.kinds],
        legend=legend,
        unreachable_cells=int(np.count_nonzero(~reachable)),
        raster=Raster(bounds=bounds, data=base64.b64encode(overlay(reach)).decode("ascii")),
    )


def _share(value: float) -> float | None:
    return None if math.isnan(value) else value
