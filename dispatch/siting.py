"""Dock siting: the fewest docks, among candidate sites, that reach a share of every zone kind in time.

A candidate site *covers* a grid cell when an idle drone there is over the cell within the
cell's target (``DroneModel.reach_m``: ``eta_s`` inverted, over the routed length and its
turns) and can fly out, hold and come back to the same site above its reserve. Cells with the
same kinds and the same covering sites are merged into one demand group weighted by its area.

The integer programme (``scipy.optimize.milp``, HiGHS): x_j = 1 puts a dock at site j,
y_i = 1 counts group i as covered, y_i <= sum of the x_j that cover it, and for
every kind k the covered area is at least ``share`` of the kind's area. It minimises sum x_j,
then, with that many docks, maximises the covered area. The greedy placement adds, one at a time,
the site that closes most of what every kind still lacks (each kind's shortfall counted as a
share of its own area), until every kind has its share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from dispatch.errors import SitingInfeasible
from dispatch.reachability import Grid, Reachability
from geofence import Dock, NoRouteFound, ZoneSet
from geofence.zones import NO_FLY

__all__ = ["Coverage", "SitingPlan", "SitingStep", "candidate_grid", "coverage", "plan_greedy",
           "plan_milp"]

# Shares are compared with this slack: areas are sums of cell areas in floating point.
_SHARE_EPS = 1e-9


@dataclass(frozen=True)
class Coverage:
    """Which candidate sites cover which demand, per zone kind, as a set-cover instance."""

    sites: tuple[Dock, ...]
    kinds: tuple[str, ...]
    area_m2: np.ndarray  # (m,) area of each demand group
    member: np.ndarray  # (m, K) bool: the group lies in a zone of kind k
    covers: np.ndarray  # (m, n) bool: site j reaches the group within its target
    skipped: tuple[str, ...] = ()  # candidate ids inside a no-fly zone or its margin

    @property
    def kind_area_m2(self) -> np.ndarray:
        """(K,) the area of each kind."""
        return self.area_m2 @ self.member

    def shares(self, chosen: Iterable[int]) -> np.ndarray:
        """(K,) the share of each kind reached within target by docks at the chosen sites."""
        chosen = list(chosen)
        covered = self.covers[:, chosen].any(axis=1) if chosen else np.zeros(len(self.area_m2),
                                                                               dtype=bool)
        return ((self.area_m2 * covered) @ self.member) / self.kind_area_m2

    @property
    def ceiling(self) -> np.ndarray:
        """(K,) the most each kind can get: a dock at every candidate site."""
        return self.shares(range(len(self.sites)))


@dataclass(frozen=True)
class SitingStep:
    """One dock added: where, and the share of each kind reached once it is there."""

    site: Dock
    shares: tuple[float, ...]  # aligned with SitingPlan.kinds
    gains: tuple[float, ...]  # what this dock added to each kind's share


@dataclass(frozen=True)
class SitingPlan:
    """A set of docks (in the order each adds most) and the shares they reach."""

    method: str  # "milp" or "greedy"
    kinds: tuple[str, ...]
    target_share: float
    steps: tuple[SitingStep, ...]
    optimal: bool  # milp: HiGHS proved the count minimal; greedy: always False

    @property
    def sites(self) -> tuple[Dock, ...]:
        return tuple(step.site for step in self.steps)

    @property
    def shares(self) -> dict[str, float]:
        """Each kind's share within target with every dock of the plan."""
        final = self.steps[-1].shares if self.steps else (0.0,) * len(self.kinds)
        return dict(zip(self.kinds, final))


def candidate_grid(zones: ZoneSet, reach: Reachability, spacing_m: float) -> tuple[Dock, ...]:
    """Candidate sites every ``spacing_m`` over the zones, where a drone may take off."""
    grid = Grid.over_zones(zones, reach.frame, spacing_m)
    points = grid.points_local()
    free = reach.router.free_local(points)
    lats, lons = reach.frame.to_wgs84(points[free, 0], points[free, 1])
    return tuple(
        Dock(id=f"grid-{k + 1}", name=f"{e:.0f} m E {n:.0f} m N", lat=float(lat), lon=float(lon))
        for k, ((e, n), lat, lon) in enumerate(zip(points[free], lats, lons))
    )


def coverage(
    reach: Reachability,
    zones: ZoneSet,
    sites: Sequence[Dock],
    *,
    spacing_m: float = 20.0,
    kinds: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Coverage:
    """Which sites reach which cells of the zones in time; ``progress(done, total)`` per site."""
    grid = Grid.over_zones(zones, reach.frame, spacing_m)
    points = grid.points_local()
    lats, lons = reach.frame.to_wgs84(points[:, 0], points[:, 1])
    zone_list = list(zones)
    wanted = tuple(sorted(set(kinds) if kinds is not None else
                          {z.kind for z in zone_list if z.kind != NO_FLY}))
    unknown = set(wanted) - {z.kind for z in zone_list}
    if unknown or NO_FLY in wanted:
        raise ValueError(f"kinds {sorted(unknown | ({NO_FLY} & set(wanted)))} have no zones to "
                         f"cover; choose among {sorted({z.kind for z in zone_list} - {NO_FLY})}")
    point_idx, zone_idx = zones.containing(lats, lons)
    zone_kind = np.array([wanted.index(z.kind) if z.kind in wanted else -1 for z in zone_list])
    member = np.zeros((len(points), len(wanted)), dtype=bool)
    keep = zone_kind[zone_idx] >= 0
    member[point_idx[keep], zone_kind[zone_idx[keep]]] = True
    demand = np.flatnonzero(member.any(axis=1))
    demand_pts = points[demand]
    target_s = zones.targets_s(lats[demand], lons[demand])
    targets, target_ix = np.unique(target_s, return_inverse=True)
    round_trip_m = reach.round_trip_m()

    covers, kept, skipped = [], [], []
    for j, site in enumerate(sites):
        try:
            length_m, corners = reach.lengths_from((site.lat, site.lon), demand_pts)
        except NoRouteFound:
            skipped.append(site.id)
            continue
        # The longest route in time for each (target, turns) pair met: eta_s inverted once.
        turns = np.unique(corners[corners >= 0])
        limit = np.full((len(targets), int(turns.max(initial=0)) + 1), -np.inf)
        for t, target in enumerate(targets):
            for c in turns:
                limit[t, c] = min(reach.reach_m(float(target), int(c)), round_trip_m)
        ok = corners >= 0
        covered = np.zeros(len(demand), dtype=bool)
        covered[ok] = length_m[ok] <= limit[target_ix[ok], corners[ok]]
        covers.append(covered)
        kept.append(site)
        if progress is not None:
            progress(j + 1, len(sites))
    cover = np.column_stack(covers) if covers else np.zeros((len(demand), 0), dtype=bool)
    # Merge cells alike in kinds and covering sites: the programme's size follows the
    # geometry's variety, not the grid's resolution.
    rows = np.packbits(np.hstack([member[demand], cover]), axis=1)
    _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    area = np.bincount(inverse.ravel(), minlength=len(first)) * grid.cell_area_m2
    return Coverage(sites=tuple(kept), kinds=wanted, area_m2=area.astype(float),
                    member=member[demand][first], covers=cover[first], skipped=tuple(skipped))


def plan_milp(cov: Coverage, target_share: float, *, time_limit_s: float = 120.0,
              polish_s: float = 20.0) -> SitingPlan:
    """The fewest docks reaching ``target_share`` of every kind: set cover solved by HiGHS.

    First the fewest docks (an integer objective HiGHS proves optimal quickly); then, with that
    many, the set covering the most area (given ``polish_s``; its best set so far is kept, and
    the first set if it finds none).
    """
    _check_reachable(cov, target_share)
    n, m = len(cov.sites), len(cov.area_m2)
    # y_i - sum_j covers_ij x_j <= 0: a group counts as covered only under a chosen site
    link = sp.hstack([-sp.csr_array(cov.covers.astype(float)), sp.identity(m, format="csr")])
    # sum_i (area_i / area_k) member_ik y_i >= share: each kind's row in shares, not m², so
    # HiGHS's tolerances act alike on every row
    need = sp.hstack([sp.csr_array((len(cov.kinds), n)),
                      sp.csr_array((cov.member * cov.area_m2[:, None] / cov.kind_area_m2).T)])
    constraints = [LinearConstraint(link, -np.inf, 0.0),
                   LinearConstraint(need, target_share * (1 - _SHARE_EPS), np.inf)]
    # y binary too: with y continuous, share rows near 1 left HiGHS (scipy 1.17) reporting
    # "optimal" sets of 15 docks where 6 covered everything (tolerances on tiny weights).
    integrality = np.ones(n + m)
    fewest = milp(np.concatenate([np.ones(n), np.zeros(m)]), constraints=constraints,
                  integrality=integrality, bounds=Bounds(0.0, 1.0),
                  options={"time_limit": time_limit_s})
    if fewest.x is None:
        raise SitingInfeasible(f"HiGHS found no plan: {fewest.message}",
                               ceiling=dict(zip(cov.kinds, cov.ceiling.tolist())))
    count = round(fewest.x[:n].sum())
    x = fewest.x
    if polish_s > 0:
        exactly = LinearConstraint(sp.hstack([sp.csr_array(np.ones((1, n))),
                                              sp.csr_array((1, m))]), count, count)
        widest = milp(np.concatenate([np.zeros(n), -cov.area_m2 / cov.area_m2.sum()]),
                      constraints=[*constraints, exactly], integrality=integrality,
                      bounds=Bounds(0.0, 1.0), options={"time_limit": polish_s})
        if widest.x is not None:
            x = widest.x
    chosen = [j for j in range(n) if x[j] > 0.5]
    reached = cov.shares(chosen)
    if np.any(reached < target_share * (1 - _SHARE_EPS)):  # HiGHS's tolerances, never seen
        raise SitingInfeasible(
            f"HiGHS returned a set reaching only {reached.round(4).tolist()} of "
            f"{list(cov.kinds)}; the programme is numerically unsound here",
            ceiling=dict(zip(cov.kinds, cov.ceiling.tolist())))
    return SitingPlan("milp", cov.kinds, target_share, _ordered_steps(cov, chosen),
                      optimal=bool(fewest.status == 0))


def plan_greedy(cov: Coverage, target_share: float) -> SitingPlan:
    """Docks added one at a time, each closing most of the kinds' remaining shortfall."""
    _check_reachable(cov, target_share)
    need = target_share * cov.kind_area_m2 * (1 - _SHARE_EPS)
    covered = np.zeros(len(cov.area_m2), dtype=bool)
    chosen: list[int] = []
    while True:
        have = (cov.area_m2 * covered) @ cov.member
        short = np.maximum(need - have, 0.0)
        if not short.any():
            break
        fresh = cov.covers & ~covered[:, None]  # (m, n)
        gain = (cov.member * cov.area_m2[:, None]).T @ fresh  # (K, n) area each site adds
        score = (np.minimum(gain, short[:, None]) / cov.kind_area_m2[:, None]).sum(axis=0)
        score[chosen] = -1.0
        best = int(np.argmax(score + 1e-12 * gain.sum(axis=0)))  # ties: the larger new area
        chosen.append(best)
        covered |= cov.covers[:, best]
    return SitingPlan("greedy", cov.kinds, target_share, _steps(cov, chosen), optimal=False)


def _ordered_steps(cov: Coverage, chosen: list[int]) -> tuple[SitingStep, ...]:
    """The chosen sites in the order that adds most area first (to read the table by)."""
    order: list[int] = []
    left = list(chosen)
    covered = np.zeros(len(cov.area_m2), dtype=bool)
    while left:
        gains = [(cov.area_m2 * (cov.covers[:, j] & ~covered)).sum() for j in left]
        j = left.pop(int(np.argmax(gains)))
        order.append(j)
        covered |= cov.covers[:, j]
    return _steps(cov, order)


def _steps(cov: Coverage, order: list[int]) -> tuple[SitingStep, ...]:
    steps, before = [], np.zeros(len(cov.kinds))
    for k in range(len(order)):
        after = cov.shares(order[:k + 1])
        steps.append(SitingStep(cov.sites[order[k]], tuple(after.tolist()),
                                tuple((after - before).tolist())))
        before = after
    return tuple(steps)


def _check_reachable(cov: Coverage, target_share: float) -> None:
    if not 0.0 < target_share <= 1.0:
        raise ValueError(f"target_share must be in (0, 1], got {target_share!r}")
    ceiling = dict(zip(cov.kinds, cov.ceiling.tolist()))
    short = {k: v for k, v in ceiling.items() if v < target_share * (1 - _SHARE_EPS)}
    if short:
        listed = ", ".join(f"{k} {100 * v:.1f} %" for k, v in sorted(short.items()))
        raise SitingInfeasible(
            f"even a dock at every one of the {len(cov.sites)} candidate sites reaches only "
            f"{listed} within target, short of {100 * target_share:g} %; add candidate sites "
            "nearer those zones or ask for a smaller share", ceiling=ceiling)
