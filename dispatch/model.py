"""How long a drone takes to get somewhere and what the trip costs its battery: the one ETA.

Every ETA in flyonce comes from ``DroneModel.eta_s`` (STYLE: "if two places compute an ETA,
one of them is wrong"). The defaults are the simulated copter's (simulators/physics.py and
ArduCopter parameters as simulators/params.py sets them: WPNAV_SPEED 12 m/s, WPNAV_ACCEL
2.5 m/s², WPNAV_SPEED_UP 2.5 m/s, WPNAV_ACCEL_Z 1 m/s², a 4S 10 Ah pack); they are copied, not
imported, because dispatch must not depend on the simulators. For a real airframe, pass its
own figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["DroneModel", "travel_s"]

GRAVITY_MPS2 = 9.80665


def travel_s(distance_m: float, speed_mps: float, accel_mps2: float, *, stop: bool) -> float:
    """Seconds to cover ``distance_m`` from rest, accelerating at ``accel_mps2`` up to ``speed_mps``.

    With ``stop`` the vehicle also brakes to rest at the end (a trapezoid profile: d/v + v/a
    once cruise is reached); without, it is still moving at the end (d/v + v/2a).
    """
    if distance_m <= 0.0:
        return 0.0
    ramp_m = speed_mps * speed_mps / accel_mps2  # accelerate and brake: v²/2a each
    if stop:
        if distance_m >= ramp_m:
            return distance_m / speed_mps + speed_mps / accel_mps2
        return 2.0 * math.sqrt(distance_m / accel_mps2)
    if distance_m >= ramp_m / 2.0:
        return distance_m / speed_mps + speed_mps / (2.0 * accel_mps2)
    return math.sqrt(2.0 * distance_m / accel_mps2)


@dataclass(frozen=True)
class DroneModel:
    """A multicopter's performance and energy figures; ``eta_s`` and ``trip_wh`` use them."""

    cruise_speed_mps: float = 12.0
    accel_mps2: float = 2.5
    climb_mps: float = 2.5
    accel_z_mps2: float = 1.0
    descend_mps: float = 1.5  # WPNAV_SPEED_DN above LAND_ALT_LOW
    land_mps: float = 0.5  # LAND_SPEED below LAND_ALT_LOW
    land_alt_low_m: float = 10.0
    rtl_loiter_s: float = 5.0
    # Calibrated against the simulated copters flown by dispatch's executor (tests/dispatch):
    command_overhead_s: float = 0.5  # mode, arm and takeoff round trips before the climb starts
    # Each corner of a route costs time: the drone slows for its waypoint and turns.
    corner_s: float = 1.5
    # energy
    mass_kg: float = 2.5
    hover_power_w: float = 300.0
    drag_power_w_per_mps2: float = 0.8
    climb_efficiency: float = 0.6
    capacity_mah: float = 10_000.0
    cells: int = 4
    full_cell_v: float = 4.2
    empty_cell_v: float = 3.3
    # Below this charge the autopilot's low-battery failsafe (BATT_LOW_VOLT 14.0 V = 22 %) fires;
    # plans keep this much in hand.
    reserve_pct: float = 25.0

    # ---------------------------------------------------------------- time

    def launch_s(self, alt_rel_m: float, *, airborne: bool = False) -> float:
        """Seconds from the order to the drone at ``alt_rel_m`` above home (0 if already flying)."""
        if airborne:
            return 0.0
        return self.command_overhead_s + travel_s(
            alt_rel_m, self.climb_mps, self.accel_z_mps2, stop=True
        )

    def cruise_s(self, route_length_m: float, *, corners: int = 0, arrival_radius_m: float = 0.0,
                 stop: bool = False) -> float:
        """Seconds to fly a route of ``route_length_m`` with ``corners`` turns, to within the radius."""
        distance_m = max(route_length_m - arrival_radius_m, 0.0)
        return travel_s(distance_m, self.cruise_speed_mps, self.accel_mps2, stop=stop) + \
            corners * self.corner_s

    def eta_s(self, route_length_m: float, *, alt_rel_m: float, corners: int = 0,
              arrival_radius_m: float = 0.0, airborne: bool = False) -> float:
        """Seconds from the order until the drone is within ``arrival_radius_m`` of the scene.

        Launch (command round trips, climb to ``alt_rel_m``) + the route at cruise speed with
        acceleration + a fixed cost per corner. The one ETA flyonce uses.
        """
        return self.launch_s(alt_rel_m, airborne=airborne) + self.cruise_s(
            route_length_m, corners=corners, arrival_radius_m=arrival_radius_m
        )

    def reach_m(self, within_s: float, *, alt_rel_m: float, corners: int = 0,
                arrival_radius_m: float = 0.0, airborne: bool = False) -> float:
        """The longest route whose ``eta_s`` is at most ``within_s`` (-inf if even 0 m is late).

        ``eta_s`` inverted by bisection, so a reach and an ETA can never disagree: a route of
        length L is in time exactly when L <= reach_m (to a micrometre).
        """
        def eta(length_m: float) -> float:
            return self.eta_s(length_m, alt_rel_m=alt_rel_m, corners=corners,
                              arrival_radius_m=arrival_radius_m, airborne=airborne)

        return _longest_within(eta, within_s)

    def round_trip_m(self, battery_pct: float, *, alt_rel_m: float, hold_s: float,
                     airborne: bool = False) -> float:
        """The longest distance out (and the same back) that ``trip_wh`` fits above the reserve."""
        usable_wh = self.usable_wh(battery_pct)

        def trip(length_m: float) -> float:
            return self.trip_wh(length_m, length_m, alt_rel_m=alt_rel_m, hold_s=hold_s,
                                airborne=airborne)

        return _longest_within(trip, usable_wh)

    def landing_s(self, alt_rel_m: float) -> float:
        """Seconds of an RTL's end: loiter over the dock, descend, then the slow final metres."""
        fast_m = max(alt_rel_m - self.land_alt_low_m, 0.0)
        return self.rtl_loiter_s + fast_m / self.descend_mps + \
            min(alt_rel_m, self.land_alt_low_m) / self.land_mps

    # ---------------------------------------------------------------- energy

    def power_w(self, airspeed_mps: float = 0.0, climb_mps: float = 0.0) -> float:
        """Electrical power in flight: hover, plus drag growing with speed², plus climbing."""
        climb_w = self.mass_kg * GRAVITY_MPS2 * max(climb_mps, 0.0) / self.climb_efficiency
        return self.hover_power_w + self.drag_power_w_per_mps2 * airspeed_mps ** 2 + climb_w

    def energy_wh(self, battery_pct: float) -> float:
        """Energy left in the pack at ``battery_pct`` (voltage falls linearly with charge)."""
        frac = min(max(battery_pct / 100.0, 0.0), 1.0)
        mean_cell_v = self.empty_cell_v + (self.full_cell_v - self.empty_cell_v) * frac / 2.0
        return self.capacity_mah / 1000.0 * frac * self.cells * mean_cell_v

    def pct_of_wh(self, energy_wh: float) -> float:
        """The charge (percent) at which the pack holds ``energy_wh``: ``energy_wh`` inverted."""
        if energy_wh <= 0.0:
            return 0.0
        if energy_wh >= self.energy_wh(100.0):
            return 100.0
        lo, hi = 0.0, 100.0
        for _ in range(50):  # energy_wh rises with the charge: bisect to far below 0.01 %
            mid = (lo + hi) / 2.0
            lo, hi = (mid, hi) if self.energy_wh(mid) < energy_wh else (lo, mid)
        return (lo + hi) / 2.0

    def usable_wh(self, battery_pct: float) -> float:
        """Energy a plan may spend: what is left above the reserve."""
        return max(self.energy_wh(battery_pct) - self.energy_wh(self.reserve_pct), 0.0)

    def trip_wh(self, out_m: float, back_m: float, *, alt_rel_m: float, hold_s: float,
                airborne: bool = False) -> float:
        """Energy to fly out ``out_m``, hold ``hold_s`` on scene, fly back ``back_m`` and land."""
        climb_wh = 0.0
        if not airborne:
            climb_wh = self.launch_s(alt_rel_m) * self.hover_power_w / 3600.0 + \
                self.mass_kg * GRAVITY_MPS2 * alt_rel_m / self.climb_efficiency / 3600.0
        cruise_w = self.power_w(self.cruise_speed_mps)
        fly_s = travel_s(out_m, self.cruise_speed_mps, self.accel_mps2, stop=True) + \
            travel_s(back_m, self.cruise_speed_mps, self.accel_mps2, stop=True)
        hover_s = hold_s + self.landing_s(alt_rel_m)
        return climb_wh + (cruise_w * fly_s + self.hover_power_w * hover_s) / 3600.0

    def corners_of(self, points_local: Sequence[tuple[float, float]]) -> int:
        """How many turns a polyline has (its interior vertices)."""
        return max(len(points_local) - 2, 0)


def _longest_within(cost: Callable[[float], float], budget: float) -> float:
    """The largest x >= 0 with cost(x) <= budget, for a continuous non-decreasing cost."""
    if not cost(0.0) <= budget:
        return -math.inf
    hi = 1_000.0
    while cost(hi) <= budget:
        hi *= 2.0
        if hi > 1e9:  # a budget no flight exhausts (a drone that never lands, say)
            return math.inf
    lo = 0.0
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if cost(mid) <= budget else (lo, mid)
    return lo
