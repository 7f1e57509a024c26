"""flyonce dispatch: send the drone that can be over an event soonest, over MAVLink.

    >>> from dispatch import Dispatcher, FleetEntry, Incident, Planner, load_fleet
    >>> from geofence import Router, sample_town
    >>> town = sample_town()
    >>> planner = Planner(Router(town.zones, town.frame), town.docks)
    >>> dispatcher = Dispatcher(load_fleet("fleet.toml"), planner, clock=clock, on_update=print)
    >>> await dispatcher.start()                                   # doctest: +SKIP
    >>> await dispatcher.dispatch(Incident(7, 29.4941, 120.9062, target_s=180))  # doctest: +SKIP

- ``model``: ``DroneModel``, the one ETA and the energy of a trip (the simulator's physics as defaults).
- ``planner``: pure ranking and joint assignment (``Planner.options``, ``Planner.assign``).
- ``link``: ``DroneLink``, every pymavlink call; named async verbs that await their ACKs.
- ``fleet``: fleet files and availability; ``teams``: the nearest free ground team.
- ``dispatcher``: ``Dispatcher``, missions flown, arrival noticed, failed drones replaced.
- ``speaker``: ``Announcement`` and the loudspeaker protocol behind ``DroneLink.announce`` /
  ``Dispatcher.announce`` (a recorded clip or a Chinese text, over MAVLink, with its ACK).
- ``patrols``: ``PatrolPlanner``, department patrol requests merged into the fewest flights.
- ``reachability``: ``Reachability.map``, the best ETA from any dock over a grid and each zone
  kind's share within target; ``siting``: the fewest docks for a share (``plan_milp``, HiGHS,
  against ``plan_greedy``); ``reach_plot``: those maps as PNG (matplotlib, imported on use).
- ``misses``: ``miss_reason``, why an event missed (unreachable, planner, battery, all busy).
- ``preposition``: idle drones moved toward the hour's hot spots during a surge.

Depends only on ``geofence`` (and pymavlink, scipy, shapely).
"""

from dispatch.dispatcher import Dispatcher, DroneView, Mission, MissionUpdate
from dispatch.errors import (
    CommandRejected,
    DispatchError,
    DroneUnavailable,
    FleetFileError,
    InvalidPatrolRequest,
    LinkError,
    LinkTimeout,
    MissionAborted,
    MissionRejected,
    ModeOverridden,
    PayloadError,
    SitingInfeasible,
)
from dispatch.fleet import FleetEntry, availability, load_fleet
from dispatch.link import DroneLink, LinkGroup, Telemetry
from dispatch.misses import Chance, MissReason, miss_reason
from dispatch.model import DroneModel, travel_s
from dispatch.patrols import (
    PatrolDrone,
    PatrolPlanner,
    PatrolRequest,
    PatrolSlot,
    PatrolWindow,
    PlannedFlight,
    UnservedSlot,
    WeekPlan,
)
from dispatch.planner import Assignment, DroneStatus, Incident, Option, Planner
from dispatch.preposition import Demand, Move, preposition
from dispatch.reachability import Grid, KindReach, Reachability, ReachabilityMap, ZoneReach
from dispatch.siting import Coverage, SitingPlan, candidate_grid, coverage, plan_greedy, plan_milp
from dispatch.speaker import Announcement
from dispatch.teams import TeamChoice, TeamStatus, nearest_team, ranked_teams

__all__ = [
    "Announcement",
    "Assignment",
    "Chance",
    "CommandRejected",
    "Coverage",
    "Demand",
    "DispatchError",
    "Dispatcher",
    "DroneLink",
    "DroneModel",
    "DroneStatus",
    "DroneUnavailable",
    "DroneView",
    "FleetEntry",
    "FleetFileError",
    "Grid",
    "Incident",
    "InvalidPatrolRequest",
    "KindReach",
    "LinkError",
    "LinkGroup",
    "LinkTimeout",
    "MissReason",
    "Mission",
    "MissionAborted",
    "MissionRejected",
    "MissionUpdate",
    "ModeOverridden",
    "Move",
    "Option",
    "PatrolDrone",
    "PatrolPlanner",
    "PatrolRequest",
    "PatrolSlot",
    "PatrolWindow",
    "PayloadError",
    "PlannedFlight",
    "Planner",
    "Reachability",
    "ReachabilityMap",
    "SitingInfeasible",
    "SitingPlan",
    "TeamChoice",
    "TeamStatus",
    "Telemetry",
    "UnservedSlot",
    "WeekPlan",
    "ZoneReach",
    "availability",
    "candidate_grid",
    "coverage",
    "load_fleet",
    "miss_reason",
    "nearest_team",
    "plan_greedy",
    "plan_milp",
    "preposition",
    "ranked_teams",
    "travel_s",
]
