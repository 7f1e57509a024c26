"""Dock siting: set-cover instances solved by hand, and coverage from the one ETA."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dispatch.errors import SitingInfeasible
from dispatch.reachability import Reachability
from dispatch.siting import Coverage, candidate_grid, coverage, plan_greedy, plan_milp
from geofence import Dock, Router, ZoneSet, sample_town
from tests.dispatch.layouts import at, router, square_zone

RESIDENTIAL_REACH_M = 30 + 12 * (180 - 15 - 2.4)  # 1981.2 m: the ETA inverted by hand


def site(site_id: str) -> Dock:
    return Dock(site_id, site_id, 29.5, 120.9)


def hand_made(covers: dict[str, set[int]], kinds: list[str], areas: list[float]) -> Coverage:
    """A set-cover instance: group i has area areas[i] and kind kinds[i]."""
    names = sorted(set(kinds))
    member = np.array([[k == name for name in names] for k in kinds])
    matrix = np.array([[i in covered for covered in covers.values()] for i in range(len(kinds))])
    return Coverage(tuple(site(s) for s in covers), tuple(names), np.array(areas, dtype=float),
                    member, matrix)


# The textbook trap: C covers four of six, A and B three each, A and B together all six.
TRAP = hand_made({"A": {0, 1, 2}, "B": {3, 4, 5}, "C": {1, 2, 3, 4}}, ["residential"] * 6,
                 [1.0] * 6)


def test_greedy_falls_into_the_trap_that_the_integer_programme_avoids():
    exact, greedy = plan_milp(TRAP, 1.0), plan_greedy(TRAP, 1.0)
    assert sorted(s.id for s in exact.sites) == ["A", "B"] and exact.optimal
    assert [s.id for s in greedy.sites] == ["C", "A", "B"]  # C first (4), then one each
    assert exact.shares == greedy.shares == {"residential": 1.0}
    # the table reads in the order each dock adds most: A (3/6), then B (3/6)
    assert [step.gains[0] for step in exact.steps] == [0.5, 0.5]
    assert [step.gains[0] for step in greedy.steps] == pytest.approx([4 / 6, 1 / 6, 1 / 6])


def test_among_the_smallest_sets_the_programme_takes_the_best_covering():
    # 5 of 6 takes two docks either way; A + B reach all six, C + A only five.
    exact, greedy = plan_milp(TRAP, 5 / 6), plan_greedy(TRAP, 5 / 6)
    assert sorted(s.id for s in exact.sites) == ["A", "B"]
    assert exact.shares["residential"] == 1.0
    assert [s.id for s in greedy.sites] == ["C", "A"]
    assert greedy.shares["residential"] == pytest.approx(5 / 6)


def test_every_kind_must_reach_its_share():
    # r1, r2 residential (1 m² each), f forest (10 m²). X covers r1, r2; Y covers f; Z r1 and f.
    cov = hand_made({"X": {0, 1}, "Y": {2}, "Z": {0, 2}}, ["residential", "residential",
                                                          "forest"], [1.0, 1.0, 10.0])
    assert len(plan_milp(cov, 1.0).sites) == 2  # r2 needs X, f needs Y or Z
    # Half of each kind: Z alone gives residential 1/2 and forest 1.
    for plan in (plan_milp(cov, 0.5), plan_greedy(cov, 0.5)):
        assert [s.id for s in plan.sites] == ["Z"]
        assert plan.shares == {"forest": 1.0, "residential": 0.5}


def test_a_share_no_set_of_sites_reaches_is_refused_with_the_ceiling():
    cov = hand_made({"A": {0}}, ["residential", "residential"], [1.0, 3.0])  # at most 1/4
    with pytest.raises(SitingInfeasible, match="reaches only residential 25.0 %") as info:
        plan_milp(cov, 0.99)
    assert info.value.ceiling == {"residential": 0.25}
    with pytest.raises(SitingInfeasible):
        plan_greedy(cov, 0.99)


def test_a_site_covers_the_cells_within_the_residential_reach():
    # A 1 km residential square at the origin; a site 2.2 km east reaches the cells within
    # 1981.2 m of it, one at the centre reaches them all (at most 707 m), and a site inside
    # a no-fly zone is left out.
    school = square_zone("school", "no_fly", 0, 3000, 100)
    zones = ZoneSet([square_zone("res", "residential", 0, 0, 500, target_s=180.0), school])
    sites = [Dock("east", "east", *at(2200, 0)), Dock("centre", "centre", *at(0, 0)),
             Dock("in-school", "in-school", *at(0, 3000))]
    cov = coverage(Reachability(router(school)), zones, sites, spacing_m=20.0,
                   kinds=["residential"])
    assert cov.skipped == ("in-school",)
    assert [s.id for s in cov.sites] == ["east", "centre"]
    centres = np.arange(-490.0, 500.0, 20.0)
    east, north = np.meshgrid(centres, centres)
    expected = (np.hypot(east - 2200, north) <= RESIDENTIAL_REACH_M).mean()
    assert cov.shares([0])[0] == pytest.approx(expected)
    assert 0.2 < expected < 0.6  # a real partial cover, not an edge case
    assert cov.shares([1])[0] == 1.0
    assert cov.kind_area_m2[0] == pytest.approx(1000 * 1000)
    assert [s.id for s in plan_milp(cov, 0.99).sites] == ["centre"]


def test_coverage_agrees_with_the_reachability_map_on_the_sample_town():
    # Two routes to "in time": the map's eta_s <= target and the siting's reach_m inversion.
    town = sample_town()
    reach = Reachability(Router(town.zones, town.frame))
    south = town.dock("dock-south")
    field = reach.map(town.zones, [south], spacing_m=40.0)
    cov = coverage(reach, town.zones, [south], spacing_m=40.0)
    shares = dict(zip(cov.kinds, cov.shares([0]).tolist()))
    for kind in field.kinds:
        assert shares[kind.kind] == pytest.approx(kind.within_share, abs=1e-12)
    assert shares["residential"] < 1.0  # the south dock alone misses the northern blocks


def test_the_candidate_grid_leaves_out_no_fly_zones():
    town = sample_town()
    reach = Reachability(Router(town.zones, town.frame))
    sites = candidate_grid(town.zones, reach, 250.0)
    # The zones span 3.6 km x 2.4 km: 15 x 10 cells of 250 m; the one centred (525, -1075)
    # lies inside the school.
    assert len(sites) == 15 * 10 - 1
    assert "525 m E -1075 m N" not in {s.name for s in sites}


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("share", [0.8, 1.0])
def test_the_programme_finds_the_brute_force_minimum_and_greedy_never_beats_it(seed, share):
    # 9 sites, 30 groups of two kinds with random areas: every subset tried by brute force.
    rng = np.random.default_rng(seed)
    covers = rng.random((30, 9)) < 0.25
    covers[np.arange(30), rng.integers(0, 9, 30)] = True  # every group coverable
    kinds = np.where(rng.random(30) < 0.5, "residential", "forest").tolist()
    cov = hand_made({f"s{j}": set(np.flatnonzero(covers[:, j]).tolist()) for j in range(9)},
                    kinds, rng.uniform(1, 10, 30).tolist())
    fewest = next(k for k in range(1, 10) for combo in itertools.combinations(range(9), k)
                  if np.all(cov.shares(combo) >= share - 1e-12))
    exact, greedy = plan_milp(cov, share), plan_greedy(cov, share)
    assert len(exact.sites) == fewest and exact.optimal
    assert len(greedy.sites) >= fewest
    assert min(exact.shares.values()) >= share - 1e-12
