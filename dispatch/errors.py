"""Errors the dispatch package raises, all under ``DispatchError``.

::

    DispatchError
    ├── LinkError                  the MAVLink link could not do what was asked
    │   ├── LinkTimeout            no heartbeat / no ACK in time (after the retries)
    │   ├── CommandRejected        COMMAND_ACK said no; carries ``result`` (MAV_RESULT name),
    │   │                          ``result_code`` (its number) and ``command``
    │   └── MissionRejected        MISSION_ACK said no; carries ``result`` (MAV_MISSION_RESULT name)
    ├── DroneUnavailable           the drone cannot take this task (unknown, busy, no link, battery)
    ├── MissionAborted             a flight was given up (link lost, failsafe, refusal); ``reason`` says why
    │   └── ModeOverridden         another ground station changed the flight mode (no failsafe, no
    │                              fence breach); carries ``mode_from`` and ``mode_to``
    ├── PayloadError               a speaker warning cannot be sent as asked (also a ValueError);
    │                              nothing was sent, the message says what to fix
    ├── FleetFileError             the fleet file is unreadable or malformed; the message says where
    ├── PlanFileError              a .plan / WPL file cannot be written or read; the message says why
    ├── InvalidPatrolRequest       a patrol request (area, window, cadence) is malformed; also a ValueError
    └── SitingInfeasible           no set of candidate dock sites reaches the share asked of a zone
                                   kind; carries ``ceiling`` (kind -> the most all sites reach)
"""

from __future__ import annotations

__all__ = [
    "CommandRejected",
    "DispatchError",
    "DroneUnavailable",
    "FleetFileError",
    "InvalidPatrolRequest",
    "LinkError",
    "LinkTimeout",
    "MissionAborted",
    "MissionRejected",
    "ModeOverridden",
    "PayloadError",
    "PlanFileError",
    "SitingInfeasible",
]


class DispatchError(Exception):
    """Base of every dispatch error."""


class LinkError(DispatchError):
    """The MAVLink link to a drone failed to do what was asked."""

    def __init__(self, message: str, *, drone_id: str = "") -> None:
        super().__init__(message)
        self.drone_id = drone_id


class LinkTimeout(LinkError):
    """No heartbeat or no acknowledgement arrived in time, retries included."""


class CommandRejected(LinkError):
    """The autopilot answered a command with a result other than ACCEPTED."""

    def __init__(self, message: str, *, command: str, result: str, drone_id: str = "",
                 result_code: int | None = None) -> None:
        super().__init__(message, drone_id=drone_id)
        self.command = command
        self.result = result
        self.result_code = result_code  # the MAV_RESULT number (None where not known)


class MissionRejected(LinkError):
    """The autopilot refused a mission upload (MISSION_ACK other than ACCEPTED)."""

    def __init__(self, message: str, *, result: str, drone_id: str = "") -> None:
        super().__init__(message, drone_id=drone_id)
        self.result = result


class DroneUnavailable(DispatchError):
    """The drone cannot take the task now; the message says why."""


class MissionAborted(DispatchError):
    """A flight to a scene was given up; ``reason`` is a short phrase for the audit trail."""

    def __init__(self, reason: str, *, drone_id: str = "") -> None:
        super().__init__(f"drone {drone_id}: {reason}" if drone_id else reason)
        self.reason = reason
        self.drone_id = drone_id


class ModeOverridden(MissionAborted):
    """The drone left the mode this ground station set, and the autopilot gave no reason of its
    own (no failsafe, no fence breach): another ground station took it."""

    def __init__(self, mode_from: str, mode_to: str, *, drone_id: str = "") -> None:
        super().__init__(f"another ground station switched it from {mode_from} to {mode_to} "
                         "(no failsafe, no fence breach)", drone_id=drone_id)
        self.mode_from = mode_from
        self.mode_to = mode_to


class PayloadError(DispatchError, ValueError):
    """A loudspeaker warning was refused before sending (no clip or text, too long …)."""


class FleetFileError(DispatchError):
    """The fleet file could not be read; the message names the entry and the fix."""


class PlanFileError(DispatchError):
    """A flight plan file is of an unknown kind or malformed; the message names the file."""


class InvalidPatrolRequest(DispatchError, ValueError):
    """A patrol request was refused; the message names the field and what to write instead."""


class SitingInfeasible(DispatchError):
    """Even a dock at every candidate site leaves a zone kind short of the share asked."""

    def __init__(self, message: str, *, ceiling: dict[str, float]) -> None:
        super().__init__(message)
        self.ceiling = ceiling
