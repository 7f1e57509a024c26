"""The visibility graph over buffered obstacles, in local metres: built once, queried many times.

Shortest paths around polygons bend only at convex obstacle vertices, and every leg is
tangent to the obstacle at each end it touches (the obstacle's edges there lie on one side of
the leg). So the graph keeps only convex vertices and bitangent legs, and a query adds the two
endpoints' tangent legs. Blocking is tested against obstacles shrunk by ``EPS_M``, so legs that
run along a buffered boundary, or graze one of its corners, count as clear. Blocking is one
prepared GEOS geometry of all shrunk obstacles, tested against many legs at once.
"""

from __future__ import annotations

import threading

import networkx as nx
import numpy as np
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import dijkstra, shortest_path
from shapely.geometry import Polygon

__all__ = ["EPS_M", "VisibilityGraph"]

# Legs may touch the buffered boundary; this much inside still counts as touching.
EPS_M = 1e-3
# Above this many vertices the all-pairs table (N^2 * 12 bytes) costs more memory than it
# saves time; search the networkx graph per query instead.
TABLE_MAX_NODES = 2000
# Goals x nodes candidate legs held at once by ``lengths_from`` (8 bytes each, a few arrays).
_CANDIDATES_PER_CHUNK = 1_000_000


class VisibilityGraph:
    """Shortest obstacle-avoiding paths among merged polygons (local metres, closed interiors)."""

    def __init__(self, obstacles: list[Polygon], *, table_max_nodes: int = TABLE_MAX_NODES) -> None:
        # Merge overlapping obstacles: a gap between two overlapping zones is not flyable.
        merged = shapely.get_parts(shapely.unary_union(obstacles)) if obstacles else np.array([])
        self.obstacles: list[Polygon] = [shapely.orient_polygons(p) for p in merged if p.area > 0]
        inner = [p.buffer(-EPS_M, join_style="mitre") for p in self.obstacles]
        self._inner = np.array(inner, dtype=object)
        # Rings of the shrunk obstacles, holes filled: a free point inside one is in a hole,
        # while a point on an obstacle's outer boundary stays outside.
        filled = [
            (k, Polygon(part.exterior))
            for k, p in enumerate(inner)
            for part in shapely.get_parts(p)
        ]
        self._filled_owner = np.array([k for k, _ in filled], dtype=int)
        self._filled = np.array([f for _, f in filled], dtype=object)
        shapely.prepare(self._inner)
        shapely.prepare(self._filled)
        self._inner_tree = shapely.STRtree(self._inner)
        self._filled_tree = shapely.STRtree(self._filled)
        self._blocker = shapely.union_all(self._inner) if inner else None
        if self._blocker is not None:
            shapely.prepare(self._blocker)
        self.nodes, self._prev, self._next = _convex_vertices(self.obstacles)
        self.graph = self._build_graph()
        self._lock = threading.Lock()
        self._dist: np.ndarray | None = None
        self._pred: np.ndarray | None = None
        self._matrix = None
        if 0 < len(self.nodes) <= table_max_nodes:
            self._matrix = nx.to_scipy_sparse_array(
                self.graph, nodelist=range(len(self.nodes)), weight="weight"
            )
            self._dist, self._pred = shortest_path(
                self._matrix, method="D", directed=False, return_predecessors=True
            )

    # -- queries -----------------------------------------------------------------------------

    def blocked_at(self, point: np.ndarray) -> int | None:
        """Index of the obstacle whose (shrunk) interior holds the point, else None."""
        hits = self._inner_tree.query(shapely.Point(point), predicate="intersects")
        return int(hits.min()) if len(hits) else None

    def enclosed_at(self, point: np.ndarray) -> int | None:
        """Index of an obstacle that rings the point in (the point is in one of its holes), else None."""
        hits = self._filled_tree.query(shapely.Point(point), predicate="intersects")
        return int(self._filled_owner[hits].min()) if len(hits) else None

    def free_at(self, points: np.ndarray) -> np.ndarray:
        """For k x 2 points, whether each is neither inside an obstacle nor ringed in by one."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        free = np.ones(len(points), dtype=bool)
        if len(self.obstacles) == 0 or len(points) == 0:
            return free
        geoms = shapely.points(points)
        for tree in (self._inner_tree, self._filled_tree):
            hit, _ = tree.query(geoms, predicate="intersects")
            free[hit] = False
        return free

    def lengths_from(self, source: np.ndarray, goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shortest clear lengths from one free source to k goals (k x 2), and each path's turns.

        One shortest-path tree from the source over the graph's nodes, then for each goal the
        node that ends its path: the candidates ``tree length + last leg`` are tried in
        ascending order and the first with a clear last leg is the shortest path (a clear
        straight line beats them all). Most goals cost one leg test. A goal that is blocked,
        ringed in, or out of reach gets length inf and -1 turns; the source must be free.
        """
        source = np.asarray(source, dtype=float)
        goals = np.asarray(goals, dtype=float).reshape(-1, 2)
        length_m = np.full(len(goals), np.inf)
        turns = np.full(len(goals), -1, dtype=int)
        free = np.flatnonzero(self.free_at(goals))
        direct = ~self.segments_blocked(np.broadcast_to(source, (len(free), 2)), goals[free])
        length_m[free[direct]] = np.hypot(*(goals[free[direct]] - source).T)
        turns[free[direct]] = 0
        rest = free[~direct]
        if len(rest) == 0:
            return length_m, turns
        node_m, node_turns = self._tree_from(source)
        reached = np.flatnonzero(np.isfinite(node_m))
        if len(reached) == 0:
            return length_m, turns
        nodes = self.nodes[reached]
        step = max(1, _CANDIDATES_PER_CHUNK // len(reached))
        for lo in range(0, len(rest), step):
            chunk = rest[lo:lo + step]
            goal = goals[chunk]
            rows = np.repeat(np.arange(len(chunk)), len(reached))
            cols = np.tile(np.arange(len(reached)), len(chunk))
            # The last leg of a shortest path is tangent to the obstacle at its node.
            tangent = _tangent_at(nodes[cols], self._prev[reached][cols],
                                  self._next[reached][cols], goal[rows])
            total = node_m[reached][None, :] + np.hypot(
                goal[:, None, 0] - nodes[None, :, 0], goal[:, None, 1] - nodes[None, :, 1])
            total[~tangent.reshape(total.shape)] = np.inf
            order = np.argsort(total, axis=1)
            pending = np.arange(len(chunk))
            for rank in range(len(reached)):
                cand = order[pending, rank]
                alive = np.isfinite(total[pending, cand])
                pending, cand = pending[alive], cand[alive]
                if len(pending) == 0:
                    break
                clear = ~self.segments_blocked(goal[pending], nodes[cand])
                done = chunk[pending[clear]]
                length_m[done] = total[pending[clear], cand[clear]]
                turns[done] = node_turns[reached[cand[clear]]]
                pending = pending[~clear]
                if len(pending) == 0:
                    break
        return length_m, turns

    def segments_blocked(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For legs a[k] -> b[k] (k x 2 arrays), whether each crosses an obstacle's interior."""
        a = np.asarray(a, dtype=float).reshape(-1, 2)
        b = np.asarray(b, dtype=float).reshape(-1, 2)
        out = np.zeros(len(a), dtype=bool)
        # A zero-length leg is a point already known to be clear (a node, or a checked endpoint).
        real = np.any(a != b, axis=1)
        if self._blocker is None or not real.any():
            return out
        legs = shapely.linestrings(np.stack([a[real], b[real]], axis=1))
        # One prepared geometry of all shrunk obstacles: GEOS indexes its edges once, and each
        # leg is then tested in microseconds (touching the shrunk set = entering by >= EPS_M).
        out[real] = shapely.intersects(self._blocker, legs)
        return out

    def shortest_path(self, start: np.ndarray, goal: np.ndarray) -> np.ndarray | None:
        """The shortest clear polyline start -> goal (m x 2, local metres), or None if none exists."""
        start = np.asarray(start, dtype=float)
        goal = np.asarray(goal, dtype=float)
        if not self.segments_blocked(start[None], goal[None])[0]:
            return np.stack([start, goal])
        s_idx, s_len = self._tangent_legs(start)
        g_idx, g_len = self._tangent_legs(goal)
        if len(s_idx) == 0 or len(g_idx) == 0:
            return None
        if self._dist is not None:
            chain = self._search_table(s_idx, s_len, g_idx, g_len)
        else:
            chain = self._search_networkx(s_idx, s_len, g_idx, g_len)
        if chain is None:
            return None
        return np.vstack([start[None], self.nodes[chain], goal[None]])

    # -- internals ---------------------------------------------------------------------------

    def _tangent_legs(self, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(self.nodes) == 0:
            return np.empty(0, dtype=int), np.empty(0)
        tangent = _tangent_at(self.nodes, self._prev, self._next, point[None])
        idx = np.flatnonzero(tangent)
        clear = ~self.segments_blocked(np.broadcast_to(point, (len(idx), 2)), self.nodes[idx])
        idx = idx[clear]
        return idx, np.hypot(*(self.nodes[idx] - point).T)

    def _tree_from(self, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shortest length from the source to every node, and how many nodes each path visits."""
        n = len(self.nodes)
        s_idx, s_len = self._tangent_legs(source)
        if self._matrix is None:
            self._matrix = nx.to_scipy_sparse_array(self.graph, nodelist=range(n), weight="weight")
        base = self._matrix.tocoo()
        # The source joins as node n, linked by its clear tangent legs.
        matrix = coo_array(
            (np.concatenate([base.data, s_len]),
             (np.concatenate([base.row, np.full(len(s_idx), n)]),
              np.concatenate([base.col, s_idx]))),
            shape=(n + 1, n + 1),
        ).tocsr()
        dist, pred = dijkstra(matrix, directed=False, indices=n, return_predecessors=True)
        turns = np.full(n + 1, -1, dtype=int)
        turns[n] = 0
        for v in np.argsort(dist, kind="stable"):  # a parent is always nearer than its child
            if v != n and np.isfinite(dist[v]):
                turns[v] = turns[pred[v]] + 1
        return dist[:n], turns[:n]

    def _search_table(self, s_idx, s_len, g_idx, g_len) -> list[int] | None:
        total = s_len[:, None] + self._dist[np.ix_(s_idx, g_idx)] + g_len[None, :]
        best = int(np.argmin(total))
        if not np.isfinite(total.flat[best]):
            return None
        i, j = s_idx[best // len(g_idx)], g_idx[best % len(g_idx)]
        chain = [int(j)]
        while chain[-1] != i:
            chain.append(int(self._pred[i, chain[-1]]))
        return chain[::-1]

    def _search_networkx(self, s_idx, s_len, g_idx, g_len) -> list[int] | None:
        # Temporary endpoint nodes on the shared graph; the lock keeps concurrent queries apart.
        with self._lock:
            graph = self.graph
            graph.add_weighted_edges_from(("start", int(i), float(d)) for i, d in zip(s_idx, s_len))
            graph.add_weighted_edges_from(("goal", int(j), float(d)) for j, d in zip(g_idx, g_len))
            try:
                _, path = nx.bidirectional_dijkstra(graph, "start", "goal", weight="weight")
            except nx.NetworkXNoPath:
                return None
            finally:
                graph.remove_nodes_from(["start", "goal"])
        return [int(n) for n in path[1:-1]]

    def _build_graph(self) -> nx.Graph:
        graph = nx.Graph()
        n = len(self.nodes)
        graph.add_nodes_from(range(n))
        if n < 2:
            return graph
        i, j = np.triu_indices(n, k=1)
        # Bitangent at both ends, checked in numpy before any geometry.
        keep = _tangent_at(
            self.nodes[i], self._prev[i], self._next[i], self.nodes[j]
        ) & _tangent_at(self.nodes[j], self._prev[j], self._next[j], self.nodes[i])
        i, j = i[keep], j[keep]
        clear = np.ones(len(i), dtype=bool)
        for chunk in range(0, len(i), 50_000):  # bounds the memory of the leg geometries
            sl = slice(chunk, chunk + 50_000)
            clear[sl] = ~self.segments_blocked(self.nodes[i[sl]], self.nodes[j[sl]])
        i, j = i[clear], j[clear]
        lengths = np.hypot(*(self.nodes[i] - self.nodes[j]).T)
        graph.add_weighted_edges_from(zip(i.tolist(), j.tolist(), lengths.tolist()))
        return graph


def _orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    return (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])


def _tangent_at(v: np.ndarray, prev: np.ndarray, nxt: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Whether the line v -> other leaves both obstacle edges at v on one side (k-vectorised)."""
    d = other - v
    e_prev, e_next = prev - v, nxt - v
    norm_d = np.hypot(d[:, 0], d[:, 1]) + 1e-300
    # Sines of the angles between the leg and each edge; a leg along an edge is tangent, and
    # float noise must not decide which side a collinear edge is on.
    sin_prev = (d[:, 0] * e_prev[:, 1] - d[:, 1] * e_prev[:, 0]) / (
        norm_d * np.hypot(*e_prev.T) + 1e-300
    )
    sin_next = (d[:, 0] * e_next[:, 1] - d[:, 1] * e_next[:, 0]) / (
        norm_d * np.hypot(*e_next.T) + 1e-300
    )
    collinear = (np.abs(sin_prev) < 1e-9) | (np.abs(sin_next) < 1e-9)
    return (sin_prev * sin_next >= 0) | collinear


def _convex_vertices(obstacles: list[Polygon]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nodes, prevs, nexts = [], [], []
    for polygon in obstacles:
        ring = np.asarray(polygon.exterior.coords)[:-1]  # counter-clockwise after orient_polygons
        prev, nxt = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
        turn = _orient(prev, ring, nxt)
        convex = turn > 1e-9
        nodes.append(ring[convex])
        prevs.append(prev[convex])
        nexts.append(nxt[convex])
    if not nodes:
        empty = np.empty((0, 2))
        return empty, empty, empty
    return np.vstack(nodes), np.vstack(prevs), np.vstack(nexts)
