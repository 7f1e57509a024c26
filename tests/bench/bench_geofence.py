"""Geofence benchmark: point lookups and warm route queries, each against its naive baseline.

Run: python tests/bench/bench_geofence.py   (prints one JSON line; never passes or fails on time)
"""

from __future__ import annotations

import json
import platform
import time

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from geofence import LocalFrame, Router, Zone, ZoneSet
from geofence.routing import to_local_geometry
from geofence.visibility import VisibilityGraph

FRAME = LocalFrame(29.50, 120.90)
RNG = np.random.default_rng(2026)


def _lonlat(polygon_m: Polygon) -> Polygon:
    lat, lon = FRAME.to_wgs84(*np.asarray(polygon_m.exterior.coords).T)
    return Polygon(np.column_stack([lon, lat]))


def _random_polygon(cx: float, cy: float, r_min: float, r_max: float) -> Polygon:
    angles = np.sort(RNG.uniform(0, 2 * np.pi, RNG.integers(4, 9)))
    radii = RNG.uniform(r_min, r_max, len(angles))
    return Polygon(np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)]))


def bench_lookups(n_zones: int = 1000, n_points: int = 20_000) -> dict:
    # 1,000 zones of 100-300 m over a 20 km x 20 km county.
    kinds = ["residential", "forest", "commercial", "no_vending", "market"]
    zones = [
        Zone(
            f"z{i}",
            f"z{i}",
            kinds[i % len(kinds)],
            _lonlat(box(x, y, x + w, y + h)),
            180.0 + 30 * (i % 7),
        )
        for i, (x, y, w, h) in enumerate(
            RNG.uniform([-10_000, -10_000, 100, 100], [10_000, 10_000, 300, 300], (n_zones, 4))
        )
    ]
    zone_set = ZoneSet(zones)
    east, north = RNG.uniform(-10_000, 10_000, (2, n_points))
    lats, lons = FRAME.to_wgs84(east, north)
    lats, lons = lats.tolist(), lons.tolist()

    t0 = time.perf_counter()
    indexed = [zone_set.target_s(la, lo) for la, lo in zip(lats, lons)]
    indexed_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    batch = zone_set.targets_s(np.array(lats), np.array(lons))
    batch_s = time.perf_counter() - t0

    # Baseline: a loop over every zone for every point (shapely, unprepared), on a subset.
    n_naive = 500
    t0 = time.perf_counter()
    naive = []
    for la, lo in zip(lats[:n_naive], lons[:n_naive]):
        point = shapely.Point(lo, la)
        hits = [z.response_target_s for z in zones if z.geometry.intersects(point)]
        naive.append(min(hits) if hits else zone_set.default_target_s)
    naive_s = time.perf_counter() - t0
    assert (
        naive == indexed[:n_naive] and list(batch) == indexed
    )  # same answers, or the figures mean nothing
    return {
        "zones": n_zones,
        "lookups_per_s_indexed": round(n_points / indexed_s),
        "lookups_per_s_indexed_batch": round(n_points / batch_s),
        "lookups_per_s_naive_loop": round(n_naive / naive_s),
    }


def bench_routes(n_polygons: int = 200, n_queries: int = 400, n_rebuild: int = 20) -> dict:
    # 200 no-fly polygons of 30-150 m radius scattered over 10 km x 10 km; endpoints uniform.
    zones = []
    while len(zones) < n_polygons:
        polygon = _lonlat(_random_polygon(*RNG.uniform(-5000, 5000, 2), 30, 150))
        if polygon.is_valid:  # a star with two near-equal angles can pinch; draw again
            zones.append(Zone(f"nf{len(zones)}", f"nf{len(zones)}", "no_fly", polygon, 300.0))
    t0 = time.perf_counter()
    router = Router(zones, FRAME)
    build_s = time.perf_counter() - t0
    graph = router._graph_for(frozenset())

    blocked = shapely.unary_union(router.obstacles_local)
    queries = []
    while len(queries) < n_queries:
        a, b = RNG.uniform(-5500, 5500, (2, 2))
        if not blocked.intersects(shapely.Point(a)) and not blocked.intersects(shapely.Point(b)):
            queries.append((FRAME.to_wgs84(*a), FRAME.to_wgs84(*b)))
    router.route(*queries[0])  # warm-up

    def timed(fn, items):
        times = []
        for item in items:
            t0 = time.perf_counter()
            fn(*item)
            times.append(time.perf_counter() - t0)
        return np.array(times) * 1000

    warm_ms = timed(router.route, queries)
    distance_ms = timed(router.distance_m, queries)
    detours = sum(len(router.route(*q).points) > 2 for q in queries)

    # Baseline: build the visibility graph again for every query.
    buffered = [
        p
        for z in zones
        for p in shapely.get_parts(
            to_local_geometry(z.geometry, FRAME).buffer(
                router.margin_m, join_style="mitre", mitre_limit=2.0
            )
        )
    ]

    def rebuild_and_route(start, goal):
        g = VisibilityGraph(buffered, table_max_nodes=0)  # no table: only what one query needs
        g.shortest_path(np.array(FRAME.to_local(*start)), np.array(FRAME.to_local(*goal)))

    rebuild_ms = timed(rebuild_and_route, queries[:n_rebuild])
    return {
        "no_fly_polygons": len(zones),
        "graph_nodes": len(graph.nodes),
        "graph_edges": graph.graph.number_of_edges(),
        "build_s": round(build_s, 3),
        "queries": len(queries),
        "queries_needing_detour": detours,
        "route_p50_ms": round(float(np.percentile(warm_ms, 50)), 3),
        "route_p99_ms": round(float(np.percentile(warm_ms, 99)), 3),
        "distance_p50_ms": round(float(np.percentile(distance_ms, 50)), 3),
        "rebuild_per_query_p50_ms": round(float(np.percentile(rebuild_ms, 50)), 1),
        "rebuild_per_query_p99_ms": round(float(np.percentile(rebuild_ms, 99)), 1),
    }


def main() -> None:
    figures = {
        "bench": "geofence",
        "python": platform.python_version(),
        "shapely": shapely.__version__,
    }
    figures.update(bench_lookups())
    figures.update(bench_routes())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
