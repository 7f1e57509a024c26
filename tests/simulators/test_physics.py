from __future__ import annotations

import math

import pytest

from simulators.physics import Airframe, Battery, Wind, limit_airspeed, sqrt_speed


@pytest.mark.parametrize("distance_m, accel, expected", [
    (1.0, 2.5, 1.0),  # linear region (d <= a/k^2 = 2.5 m): k*d
    (2.5, 2.5, 2.5),  # the joint: both forms give 2.5
    (30.0, 2.5, math.sqrt(2 * 2.5 * (30.0 - 1.25))),  # sqrt(2 a (d - a/2k^2))
])
def test_sqrt_controller(distance_m, accel, expected):
    assert sqrt_speed(distance_m, accel) == pytest.approx(expected)


@pytest.mark.parametrize("wind, speed, expected", [
    ((0.0, 0.0), 12.0, 12.0),  # still air: no limit below 15 m/s
    ((0.0, -5.0), 12.0, 10.0),  # 5 m/s headwind: 10 ground + 5 = 15 airspeed
    ((0.0, 5.0), 12.0, 12.0),  # tailwind: airspeed only 7
    ((3.0, 0.0), 15.0, math.sqrt(15**2 - 3**2)),  # crosswind: sqrt(15^2 - 3^2)
])
def test_airspeed_limit_slows_into_wind(wind, speed, expected):
    # flying north (unit direction (0, 1)), max airspeed 15 m/s
    assert limit_airspeed(0.0, 1.0, speed, wind[0], wind[1], 15.0) == pytest.approx(expected)


def test_hover_endurance_is_energy_over_power():
    # 10 Ah 4S with cell voltage linear 4.2 -> 3.3 V: energy = 10 Ah * 4 * 3.75 V = 150 Wh.
    # At a constant 300 W that lasts 0.5 h = 1800 s, whatever the voltage does on the way.
    battery = Battery(10_000, 4)
    assert battery.remaining_wh == pytest.approx(150.0)
    assert battery.time_remaining_s() == math.inf
    t_s = 0.0
    while battery.remaining_frac > 0.0:
        battery.draw(300.0, 0.5)
        t_s += 0.5
    assert t_s == pytest.approx(1800.0, abs=1.0)


@pytest.mark.parametrize("consumed_frac, failed, volts", [
    (0.0, False, 16.8), (1.0, False, 13.2), (0.5, False, 15.0), (0.0, True, 12.6),
])
def test_pack_voltage(consumed_frac, failed, volts):
    battery = Battery(10_000, 4)
    battery.consumed_mah = 10_000 * consumed_frac
    battery.failed = failed
    assert battery.voltage_v == pytest.approx(volts)


@pytest.mark.parametrize("kwargs, watts", [
    (dict(armed=False, flying=False, airspeed_mps=0.0, climb_mps=0.0), 3.0),
    (dict(armed=True, flying=False, airspeed_mps=0.0, climb_mps=0.0), 40.0),
    (dict(armed=True, flying=True, airspeed_mps=0.0, climb_mps=0.0), 300.0),
    (dict(armed=True, flying=True, airspeed_mps=12.0, climb_mps=0.0), 300.0 + 0.8 * 144),
    # climbing 2.5 m/s lifts 2.5 kg * 9.80665 * 2.5 = 61.3 W of potential energy at 60 %
    (dict(armed=True, flying=True, airspeed_mps=0.0, climb_mps=2.5), 300.0 + 61.29 / 0.6),
])
def test_power_grows_with_speed_and_climb(kwargs, watts):
    assert Airframe().power_w(**kwargs) == pytest.approx(watts, rel=1e-3)


@pytest.mark.parametrize("from_deg, east, north", [(0, 0.0, -5.0), (90, -5.0, 0.0),
                                                   (180, 0.0, 5.0), (270, 5.0, 0.0)])
def test_wind_from_direction(from_deg, east, north):
    assert Wind.steady(5.0, from_deg) == pytest.approx((east, north), abs=1e-9)
