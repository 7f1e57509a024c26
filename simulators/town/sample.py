"""The synthetic town laid over geofence's sample town: same frame, its market zone is the market."""

from __future__ import annotations

from geofence.routing import to_local_geometry
from geofence.town import sample_town
from simulators.town.layout import Town, build_town


def sample_world(seed: int = 7, margin_m: float = 100.0, **rates) -> Town:
    """A town over the sample zones (about 3.6 km x 2.4 km), in the sample town's local frame.

    Vending is permitted in the "market" zones: they become market plazas, and no violation is
    placed inside them. ``rates`` are passed to ``build_town`` (stall_rate, fuel_rate, ...).
    """
    st = sample_town()
    lon0, lat0, lon1, lat1 = st.zones.bounds
    corners = [st.frame.to_local(lat, lon) for lat in (lat0, lat1) for lon in (lon0, lon1)]
    es, ns = [c[0] for c in corners], [c[1] for c in corners]
    bounds = (min(es) - margin_m, min(ns) - margin_m, max(es) + margin_m, max(ns) + margin_m)
    markets = [to_local_geometry(z.geometry, st.frame) for z in st.zones.of_kind("market")]
    return build_town(seed, bounds_m=bounds, frame=st.frame, market_polygons_m=markets, **rates)
