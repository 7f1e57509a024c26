"""Errors raised by the simulators; each says what went wrong and what to do.

    SimulatorError                base of everything simulators raise on purpose
    ├── CommandRefused            a vehicle would not obey a command now (.text is what an
    │   │                         ArduCopter would say in STATUSTEXT, or "")
    │   ├── CommandDenied         not allowed in this mode or state (MAV_RESULT_DENIED)
    │   └── CommandFailed         checks failed or the request cannot be met (MAV_RESULT_FAILED)
    ├── BadPlan                   an uploaded fence or rally plan was refused (.result is the
    │                             MAV_MISSION_RESULT name; also a ValueError)
    ├── BadClockSpec              a SimClock spec string could not be read (also a ValueError)
    ├── BadFaultSpec              a fault given on the command line could not be read (also ValueError)
    ├── EndpointUnavailable       a vehicle's TCP/UDP port could not be opened (.port)
    └── NotStepped                advance() called on a fleet that follows a wall clock

Only the MAVLink endpoint turns CommandRefused into COMMAND_ACK results (and BadPlan into
MISSION_ACK); the CLI turns the others into a message and a non-zero exit.
"""

from __future__ import annotations

__all__ = [
    "BadClockSpec",
    "BadFaultSpec",
    "BadPlan",
    "CommandDenied",
    "CommandFailed",
    "CommandRefused",
    "EndpointUnavailable",
    "NotStepped",
    "SimulatorError",
]


class SimulatorError(Exception):
    """Base class of every error the simulators raise on purpose."""


class CommandRefused(SimulatorError):
    """A vehicle refused a command; ``text`` is the STATUSTEXT an ArduCopter would send ("" if none)."""

    def __init__(self, text: str = "", *, why: str | None = None) -> None:
        self.text = text
        super().__init__(why or text or type(self).__name__)


class CommandDenied(CommandRefused):
    """The command is not allowed in the vehicle's current mode or state."""


class CommandFailed(CommandRefused):
    """The command was allowed but its checks failed or it cannot be carried out."""


class BadPlan(SimulatorError, ValueError):
    """A fence or rally plan cannot be stored; ``result`` is the MAV_MISSION_RESULT name to send."""

    def __init__(self, message: str, *, result: str = "ERROR") -> None:
        self.result = result
        super().__init__(message)


class BadClockSpec(SimulatorError, ValueError):
    """A clock spec string is malformed; make it with ``SimClock.spec()``."""


class BadFaultSpec(SimulatorError, ValueError):
    """A fault spec is malformed; the message shows the accepted form."""


class EndpointUnavailable(SimulatorError):
    """A port for a vehicle's endpoint could not be opened."""

    def __init__(self, message: str, *, port: int) -> None:
        self.port = port
        super().__init__(message)


class NotStepped(SimulatorError):
    """``Fleet.advance`` needs a fleet started with a ``SteppedClock``."""
