"""The copter's body: speed-limited motion, wind with gusts, and a battery whose charge runs down honestly.

Kinematic, not aerodynamic: the flight controller's velocity demand is met within acceleration
limits, as ArduCopter's position controller does with its default tuning. What matters for a
dispatcher is that travel times, climb times and remaining flight time come out right.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["Airframe", "Battery", "Wind", "limit_airspeed", "sqrt_speed"]

GRAVITY_MPS2 = 9.80665


@dataclass(frozen=True)
class Airframe:
    """Fixed properties of the simulated quadcopter (a ~2.5 kg patrol drone on a 4S 10 Ah pack)."""

    mass_kg: float = 2.5
    max_speed_mps: float = 15.0  # airspeed limit whatever speed is asked for
    hover_power_w: float = 300.0
    drag_power_w_per_mps2: float = 0.8  # extra power per (airspeed m/s)^2; 12 m/s adds 115 W
    climb_efficiency: float = 0.6  # share of electrical power that becomes potential energy
    armed_idle_power_w: float = 40.0  # props spinning on the ground
    avionics_power_w: float = 3.0
    cells: int = 4

    def power_w(self, *, armed: bool, flying: bool, airspeed_mps: float, climb_mps: float) -> float:
        """Electrical power drawn in this state: hover plus a term growing with speed, plus climb."""
        if not armed:
            return self.avionics_power_w
        if not flying:
            return self.armed_idle_power_w
        climb_w = self.mass_kg * GRAVITY_MPS2 * max(climb_mps, 0.0) / self.climb_efficiency
        return self.hover_power_w + self.drag_power_w_per_mps2 * airspeed_mps**2 + climb_w


class Battery:
    """A LiPo pack: charge drawn as current = power / voltage, voltage falling with charge.

    Open-circuit voltage falls linearly from 4.2 V to 3.3 V per cell as the charge runs out (a
    deliberate simplification of a LiPo curve; no sag under load). A failed pack loses one cell.
    """

    FULL_CELL_V = 4.2
    EMPTY_CELL_V = 3.3

    def __init__(self, capacity_mah: float, cells: int) -> None:
        self.capacity_mah = float(capacity_mah)
        self.cells = cells
        self.consumed_mah = 0.0
        self.consumed_wh = 0.0
        self.current_a = 0.0
        self.power_w = 0.0
        self.failed = False

    @property
    def remaining_frac(self) -> float:
        """Charge left, 0..1."""
        return min(max(1.0 - self.consumed_mah / self.capacity_mah, 0.0), 1.0)

    @property
    def remaining_mah(self) -> float:
        """Charge left in mAh."""
        return self.capacity_mah * self.remaining_frac

    @property
    def remaining_pct(self) -> float:
        """Charge left in percent of capacity."""
        return 100.0 * self.remaining_frac

    def _cell_v(self, frac: float) -> float:
        return self.EMPTY_CELL_V + (self.FULL_CELL_V - self.EMPTY_CELL_V) * frac

    @property
    def voltage_v(self) -> float:
        """Pack voltage now."""
        live_cells = self.cells - 1 if self.failed else self.cells
        return live_cells * self._cell_v(self.remaining_frac)

    @property
    def remaining_wh(self) -> float:
        """Energy left: charge times the mean voltage over what is left."""
        frac = self.remaining_frac
        mean_cell_v = self.EMPTY_CELL_V + (self.FULL_CELL_V - self.EMPTY_CELL_V) * frac / 2.0
        live_cells = self.cells - 1 if self.failed else self.cells
        return self.remaining_mah / 1000.0 * live_cells * mean_cell_v

    def time_remaining_s(self) -> float:
        """Seconds until empty at the present power draw."""
        return self.remaining_wh * 3600.0 / self.power_w if self.power_w > 0 else math.inf

    def draw(self, power_w: float, dt_s: float) -> None:
        """Take ``power_w`` from the pack for ``dt_s`` seconds."""
        volts = max(self.voltage_v, 1.0)
        self.power_w = power_w
        self.current_a = power_w / volts
        self.consumed_mah += self.current_a * dt_s / 3.6
        self.consumed_wh += power_w * dt_s / 3600.0


class Wind:
    """A constant wind plus gusts (a first-order Gauss-Markov process with a 2 s memory)."""

    GUST_TAU_S = 2.0

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.gust_east_mps = 0.0
        self.gust_north_mps = 0.0

    def step(self, dt_s: float, turbulence_mps: float) -> None:
        """Let the gusts evolve for ``dt_s``; their spread is ``turbulence_mps``."""
        if turbulence_mps <= 0.0:
            self.gust_east_mps = self.gust_north_mps = 0.0
            return
        decay = math.exp(-dt_s / self.GUST_TAU_S)
        kick = turbulence_mps * math.sqrt(1.0 - decay * decay)
        self.gust_east_mps = decay * self.gust_east_mps + kick * self._rng.gauss(0.0, 1.0)
        self.gust_north_mps = decay * self.gust_north_mps + kick * self._rng.gauss(0.0, 1.0)

    @staticmethod
    def steady(speed_mps: float, from_deg: float) -> tuple[float, float]:
        """(east, north) m/s of a wind of ``speed_mps`` blowing from ``from_deg`` (meteorological)."""
        to_rad = math.radians(from_deg + 180.0)
        return speed_mps * math.sin(to_rad), speed_mps * math.cos(to_rad)


def sqrt_speed(distance_m: float, accel_mps2: float, gain: float = 1.0) -> float:
    """Speed from which the vehicle can still stop in ``distance_m`` (ArduPilot's sqrt controller).

    Linear (``gain * distance``) close in, ``sqrt(2 a d)`` further out, joined smoothly.
    """
    linear_m = accel_mps2 / (gain * gain)
    if distance_m <= linear_m:
        return gain * distance_m
    return math.sqrt(2.0 * accel_mps2 * (distance_m - linear_m / 2.0))


def limit_airspeed(
    dir_east: float, dir_north: float, speed_mps: float, wind_east: float, wind_north: float,
    max_airspeed_mps: float,
) -> float:
    """Largest ground speed <= ``speed_mps`` along the unit direction that keeps airspeed in limit."""
    along = dir_east * wind_east + dir_north * wind_north
    wind_sq = wind_east * wind_east + wind_north * wind_north
    disc = along * along - wind_sq + max_airspeed_mps * max_airspeed_mps
    if disc <= 0.0:
        return 0.0
    return max(0.0, min(speed_mps, along + math.sqrt(disc)))
