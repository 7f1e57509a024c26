"""Errors of the demo: what went wrong while staging or running the simulated closed loop.

    DemoError                  base; its message says what to do
    ├── BadScenario            the options describe no scenario (no drones, no time, no zone)
    └── StageFailed            a part did not come up (fleet, service, patrol) in time
"""

from __future__ import annotations


class DemoError(Exception):
    """Base of the demo's errors; ``str(exc)`` is a message a person can act on."""


class BadScenario(DemoError, ValueError):
    """The options describe no scenario that can be flown."""


class StageFailed(DemoError, RuntimeError):
    """A part of the closed loop (fleet, service, drones, patrols) did not come up in time."""
