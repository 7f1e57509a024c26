"""``SimDock``: the test-facing handle of one simulated DJI dock (identity, URL, state, faults)."""

from __future__ import annotations

from typing import Any

from simulators.dji.dock import Dock
from simulators.dji.endpoint import DockEndpoints
from simulators.dji.payloads import Play
from simulators.vehicle import VehicleState

__all__ = ["SimDock"]


class SimDock:
    """One dock of a ``Fleet``: ``url`` is what a fleet file names it by."""

    def __init__(self, dock: Dock, endpoints: DockEndpoints, lock: Any) -> None:
        self._dock, self._endpoints, self._lock = dock, endpoints, lock
        self.gateway_sn = dock.config.gateway_sn
        self.aircraft_sn = dock.config.aircraft_sn
        self.home = dock.home
        self.url = f"dji+mqtt://{endpoints.host}:{endpoints.port}/{self.gateway_sn}"

    @property
    def state(self) -> VehicleState:
        """The aircraft's true state now (position, mode, battery …), for assertions."""
        with self._lock:
            return self._dock.vehicle.snapshot()

    @property
    def osd(self) -> dict[str, Any]:
        """What the dock's next osd would say (cover_state, drone_in_dock, charge …)."""
        with self._lock:
            return self._dock.dock_osd()

    @property
    def played(self) -> list[Play]:
        """Every warning its speaker played so far, oldest first (a copy)."""
        with self._lock:
            return list(self._dock.speaker.played)

    @property
    def live_pushes(self) -> dict[str, str]:
        with self._lock:
            return dict(self._dock.live.pushes)

    def drop_link(self, duration_s: float) -> None:
        """Silence the dock both ways (no osd, no replies) for ``duration_s`` mission seconds."""
        with self._lock:
            self._endpoints.drop_link(self.gateway_sn, self._dock.vehicle.time_s + duration_s)

    def jam_cover(self) -> None:
        """The cover will not open: the next take-off ends with 514107, cover_state 3."""
        with self._lock:
            self._dock.cover_jammed = True

    def take_over(self) -> None:
        """A pilot takes the aircraft with the remote controller (mode_code 3, authority lost)."""
        with self._lock:
            self._dock.take_over()

    def set_battery(self, pct: float) -> None:
        """Set the aircraft's charge to ``pct`` percent (test set-up)."""
        with self._lock:
            battery = self._dock.vehicle.battery
            battery.consumed_mah = battery.capacity_mah * (1.0 - pct / 100.0)

    def __repr__(self) -> str:
        return f"SimDock({self.url!r}, home={self.home!r})"
