"""Errors raised by geofence; every one says what is wrong and what to do.

    GeofenceError                 base of everything geofence raises on purpose
    ├── InvalidZones              a GeoJSON zone file was rejected (.feature_index, .reason)
    └── NoRouteFound              no flyable route exists (.reason: start_blocked, goal_blocked,
                                  start_enclosed, goal_enclosed)

    UserWarning
    └── ZoneRepairedWarning       a fixable ring was repaired on load; the message names the feature

Callers that only need "geometry said no" catch ``GeofenceError``.
"""

from __future__ import annotations

__all__ = ["GeofenceError", "InvalidZones", "NoRouteFound", "ZoneRepairedWarning"]


class GeofenceError(Exception):
    """Base class of every error geofence raises on purpose."""


class InvalidZones(GeofenceError):
    """A zone collection was rejected; ``feature_index`` is None when the whole input is wrong."""

    def __init__(self, reason: str, *, feature_index: int | None = None) -> None:
        self.reason = reason
        self.feature_index = feature_index
        where = "zone collection" if feature_index is None else f"feature {feature_index}"
        super().__init__(f"{where}: {reason}")


class NoRouteFound(GeofenceError):
    """No route avoids the buffered no-fly zones; ``reason`` is a short machine-readable code."""

    def __init__(self, message: str, *, reason: str, zone_names: tuple[str, ...] = ()) -> None:
        self.reason = reason
        self.zone_names = zone_names
        super().__init__(message)


class ZoneRepairedWarning(UserWarning):
    """A zone's ring was repaired on load (closed, or made valid on request); check the file."""
