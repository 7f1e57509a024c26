"""flyonce geofence: zones and response targets, a local metric frame, routes around no-fly zones.

    >>> from geofence import sample_town
    >>> town = sample_town()
    >>> town.zones.target_s(29.5068, 120.9046)   # inside the Beiyuan residential block
    180.0

Depends on nothing else in flyonce.
"""

from geofence.errors import GeofenceError, InvalidZones, NoRouteFound, ZoneRepairedWarning
from geofence.frame import LocalFrame
from geofence.quiet import QuietWindow
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
    "Town",
    "Zone",
    "ZoneRepairedWarning",
    "ZoneSet",
    "load_docks",
    "sample_town",
]
