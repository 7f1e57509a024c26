"""The generated week of patrol requests over the sample town, planned merged against alone
(`flyonce patrols plan --week generated` and the demo print it)."""

from __future__ import annotations

from datetime import timedelta

from api.patrols.plans import PlanFigures, compare
from dispatch import patrols as planning


def generated_week_figures(seed: int = 7, count: int = 24) -> PlanFigures:
    """Merged against alone for ``simulators.patrol_week``'s generated week over the sample town.

    The demo prints this; ``flyonce patrols plan --week generated`` too. The fleet is the demo's
    and the benchmark's: two drones at each of the sample town's three docks, enough that every
    pass is flown both ways, so the two plans compare like with like.
    """
    from geofence import sample_town
    from simulators.patrol_week import FIRST_DAY, week_of_requests

    town = sample_town()
    requests = [planning.PatrolRequest.from_mapping(raw)
                for raw in week_of_requests(seed, count, town=town)]
    drones = [planning.PatrolDrone(f"{d.id}-{k}", d.lat, d.lon, d.id)
              for d in town.docks for k in (1, 2)]
    planner = planning.PatrolPlanner(town.zones, town.frame, drones)
    _merged, _alone, figs = compare(planner, requests, FIRST_DAY, FIRST_DAY + timedelta(days=6))
    return figs
