"""flyonce geofence: zones and response targets, a local metric frame, routes around no-fly zones.

    >>> from geofence import Router, sample_town
    >>> town = sample_town()
    >>> town.zones.target_s(29.5068, 120.9046)   # inside the Beiyuan residential block
    180.0
    >>> route = Router(town.zones, town.frame).route((29.4883, 120.9062), (29.4941, 120.9062))
    >>> round(route.length_m), len(route.points)   # around the school, not through it
    (711, 4)

Depends on nothing else in flyonce.
"""

from geofence.coverage import lawnmower
from geofence.errors import GeofenceError, InvalidZones, NoRouteFound, ZoneRepairedWarning
from geofence.frame import LocalFrame
from geofence.localtime import local_tz
from geofence.quiet import QuietWindow
from geofence.routing import Route, RouteLengths, Router
from geofence.town import Dock, Town, load_docks, sample_town
from geofence.zones import DEFAULT_TARGETS_S, KNOWN_KINDS, Zone, ZoneSet

__all__ = [
    "DEFAULT_TARGETS_S",
    "KNOWN_KINDS",
    "Dock",
    "GeofenceError",
    "InvalidZones",
    "LocalFrame",
    "NoRouteFound",
    "QuietWindow",
    "Route",
    "RouteLengths",
    "Router",
    "Town",
    "Zone",
    "ZoneRepairedWarning",
    "ZoneSet",
    "local_tz",
    "lawnmower",
    "load_docks",
    "sample_town",
]
