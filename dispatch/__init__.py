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
)
from dispatch.fleet import FleetEntry, availability, load_fleet
from dispatch.link import DroneLink, LinkGroup, Telemetry
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
from dispatch.speaker import Announcement
from dispatch.teams import TeamChoice, TeamStatus, nearest_team, ranked_teams

__all__ = [
    "Announcement",
    "Assignment",
    "CommandRejected",
    "DispatchError",
    "Dispatcher",
    "DroneLink",
    "DroneModel",
    "DroneStatus",
    "DroneUnavailable",
    "DroneView",
    "FleetEntry",
    "FleetFileError",
    "Incident",
    "InvalidPatrolRequest",
    "LinkError",
    "LinkGroup",
    "LinkTimeout",
    "Mission",
    "MissionAborted",
    "MissionRejected",
    "MissionUpdate",
    "ModeOverridden",
    "Option",
    "PayloadError",
    "PatrolDrone",
    "PatrolPlanner",
    "PatrolRequest",
    "PatrolSlot",
    "PatrolWindow",
    "PlannedFlight",
    "Planner",
    "TeamChoice",
    "TeamStatus",
    "Telemetry",
    "UnservedSlot",
    "WeekPlan",
    "availability",
    "load_fleet",
    "nearest_team",
    "ranked_teams",
    "travel_s",
]
