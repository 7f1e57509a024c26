"""Reachability maps drawn with matplotlib: each cell coloured by its ETA against its target.

Green shades are in time (ETA up to the target), orange to red late, grey no dock can reach;
zones are outlined by kind, no-fly zones hatched, docks marked and named. ``reach_png`` returns
the PNG bytes of one or more panels side by side (a plan and the one it is compared with);
``overlay_png`` the bare cells, one pixel each, north up, for a web map to lay over
``ReachabilityMap.bounds_wgs84`` (unreachable cells transparent).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dispatch.reachability import ReachabilityMap
from geofence import LocalFrame, ZoneSet
from geofence.routing import to_local_geometry
from geofence.zones import NO_FLY

__all__ = ["BIN_COLOURS", "RATIO_BINS", "Panel", "overlay_png", "reach_png"]

# ETA / target bins and their colours: four in time, three late.
RATIO_BINS = (0.0, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5, np.inf)
BIN_COLOURS = ("#1a9641", "#52b151", "#a6d96a", "#d9ef8b", "#fdae61", "#f46d43", "#a50026")
_COLOURS = BIN_COLOURS
_KIND_EDGE = {"residential": "#1f4e9c", "forest": "#0b5d1e", NO_FLY: "black"}


@dataclass(frozen=True)
class Panel:
    """One map: the field, the docks it was computed for, and a title."""

    field: ReachabilityMap
    docks: Sequence[tuple[str, float, float]]  # (label, lat, lon)
    title: str
    candidates: Sequence[tuple[float, float]] = ()  # (lat, lon) of sites not chosen


def overlay_png(field: ReachabilityMap, *, alpha: float = 0.55) -> bytes:
    """PNG bytes of the cells alone: one pixel per cell, north up, unreachable transparent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(_COLOURS).with_extremes(bad=(0, 0, 0, 0))
    norm = BoundaryNorm(list(RATIO_BINS[:-1]) + [2.0], cmap.N)
    ratio = np.ma.masked_invalid(field.eta_s / field.target_s)
    rgba = cmap(norm(np.ma.minimum(ratio, 1.99)))
    rgba[..., 3] = np.where(np.ma.getmaskarray(ratio), 0.0, alpha)
    buf = io.BytesIO()
    plt.imsave(buf, rgba[::-1], format="png")  # rows run south to north; images top down
    return buf.getvalue()


def reach_png(panels: Sequence[Panel], zones: ZoneSet, frame: LocalFrame, *, dpi: int = 110
              ) -> bytes:
    """PNG bytes of the panels side by side, with one colour key for ETA / target."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    cmap = ListedColormap(_COLOURS).with_extremes(bad="#bdbdbd")
    norm = BoundaryNorm(list(RATIO_BINS[:-1]) + [2.0], cmap.N)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5.2), squeeze=False)
    local_zones = [(z, to_local_geometry(z.geometry, frame)) for z in zones]
    image = None
    for ax, panel in zip(axes[0], panels):
        grid = panel.field.grid
        ratio = np.ma.masked_invalid(panel.field.eta_s / panel.field.target_s)
        half = grid.spacing_m / 2
        extent_km = np.array([grid.east_m[0] - half, grid.east_m[-1] + half,
                              grid.north_m[0] - half, grid.north_m[-1] + half]) / 1000
        image = ax.imshow(np.ma.minimum(ratio, 1.99), origin="lower", extent=extent_km,
                          cmap=cmap, norm=norm, interpolation="nearest")
        for zone, geom in local_zones:
            for part in getattr(geom, "geoms", [geom]):
                x, y = np.asarray(part.exterior.coords).T / 1000
                colour = _KIND_EDGE.get(zone.kind, "#555555")
                if zone.kind == NO_FLY:
                    ax.fill(x, y, facecolor="none", edgecolor=colour, hatch="////", lw=1.2)
                else:
                    ax.plot(x, y, color=colour, lw=0.9)
        if panel.candidates:
            ce, cn = frame.to_local(*np.asarray(panel.candidates, dtype=float).T)
            ax.plot(np.asarray(ce) / 1000, np.asarray(cn) / 1000, ".", color="#444444", ms=2.5)
        for label, lat, lon in panel.docks:
            e, n = frame.to_local(lat, lon)
            ax.plot(e / 1000, n / 1000, "^", color="black", mfc="white", ms=9, mew=1.6)
            ax.annotate(label, (e / 1000, n / 1000), xytext=(5, 5), textcoords="offset points",
                        fontsize=8, weight="bold")
        ax.set_title(panel.title, fontsize=9)
        ax.set_xlabel("east (km)")
        ax.set_ylabel("north (km)")
        ax.set_aspect("equal")
    bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, ticks=RATIO_BINS[:-1])
    bar.set_label("ETA / target (≥ 1: late)")
    axes[0][0].legend(handles=[
        Patch(facecolor="#bdbdbd", label="no dock reaches"),
        Patch(facecolor="none", edgecolor="black", hatch="////", label="no-fly"),
        Patch(facecolor="none", edgecolor=_KIND_EDGE["residential"], label="residential"),
        Patch(facecolor="none", edgecolor=_KIND_EDGE["forest"], label="forest"),
    ], loc="lower left", fontsize=7, framealpha=0.85)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
