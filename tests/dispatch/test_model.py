"""The one ETA and the energy model, checked against hand-worked physics."""

from __future__ import annotations

import math

import pytest

from dispatch.model import DroneModel, travel_s

MODEL = DroneModel()


@pytest.mark.parametrize(
    ("distance_m", "stop", "expected_s"),
    [
        (300.0, True, 300 / 12 + 12 / 2.5),  # trapezoid: 25 + 4.8
        (20.0, True, 2 * math.sqrt(20 / 2.5)),  # never reaches cruise: triangle
        (470.0, False, 470 / 12 + 12 / 5.0),  # still moving at the end: only the ramp up costs
        (10.0, False, math.sqrt(2 * 10 / 2.5)),  # d = a t²/2
        (0.0, True, 0.0),
    ],
)
def test_travel_time_follows_the_acceleration_profile(distance_m, stop, expected_s):
    assert travel_s(distance_m, 12.0, 2.5, stop=stop) == pytest.approx(expected_s)


@pytest.mark.parametrize(
    ("length_m", "corners", "airborne", "expected_s"),
    [
        # launch 0.5 s + climb 30 m at 2.5 m/s with 1 m/s² (12 + 2.5 s), then 470 m from rest
        (500.0, 0, False, 0.5 + 12 + 2.5 + 470 / 12 + 2.4),
        (500.0, 2, False, 0.5 + 12 + 2.5 + 470 / 12 + 2.4 + 2 * 1.5),
        (500.0, 0, True, 470 / 12 + 2.4),  # already flying: no launch
        (20.0, 0, True, 0.0),  # already within the arrival radius
    ],
)
def test_eta_is_launch_plus_route(length_m, corners, airborne, expected_s):
    eta = MODEL.eta_s(length_m, alt_rel_m=30.0, corners=corners, arrival_radius_m=30.0,
                      airborne=airborne)
    assert eta == pytest.approx(expected_s)


@pytest.mark.parametrize(
    ("pct", "expected_wh"),
    [
        (100.0, 10.0 * 4 * (3.3 + 4.2) / 2),  # 10 Ah at a mean 3.75 V/cell on 4 cells = 150 Wh
        (50.0, 5.0 * 4 * (3.3 + 0.9 / 4)),  # half the charge, mean voltage over the lower half
        (0.0, 0.0),
    ],
)
def test_energy_left_follows_the_lipo_voltage_curve(pct, expected_wh):
    assert MODEL.energy_wh(pct) == pytest.approx(expected_wh)


def test_trip_energy_adds_climb_cruise_hold_and_landing():
    # 1 km out, 1 km back at 12 m/s: 2 × (1000/12 + 4.8) s at 300 + 0.8·144 = 415.2 W
    cruise_wh = 415.2 * 2 * (1000 / 12 + 12 / 2.5) / 3600
    hold_wh = 300.0 * (120.0 + 5 + 20 / 1.5 + 10 / 0.5) / 3600  # hold, RTL loiter, descent
    climb_wh = 300.0 * 15.0 / 3600 + 2.5 * 9.80665 * 30 / 0.6 / 3600
    trip = MODEL.trip_wh(1000.0, 1000.0, alt_rel_m=30.0, hold_s=120.0)
    assert trip == pytest.approx(cruise_wh + hold_wh + climb_wh)


def test_usable_energy_keeps_the_reserve():
    assert MODEL.usable_wh(25.0) == 0.0
    assert MODEL.usable_wh(10.0) == 0.0
    assert MODEL.usable_wh(100.0) == pytest.approx(MODEL.energy_wh(100) - MODEL.energy_wh(25))


@pytest.mark.parametrize(
    ("within_s", "corners", "expected_m"),
    [
        # 180 s less the 15 s launch (0.5 + 12 + 2.5) and the 2.4 s ramp leaves 162.6 s at
        # 12 m/s, plus the 30 m arrival radius: 30 + 12 × 162.6 = 1981.2 m.
        (180.0, 0, 30 + 12 * (180 - 15 - 2.4)),
        (180.0, 2, 30 + 12 * (180 - 15 - 2.4 - 3.0)),  # two turns cost 3 s of cruise
        (360.0, 0, 30 + 12 * (360 - 15 - 2.4)),
        # 16 s: 1 s after launch, too short to reach cruise; d = a t² / 2 = 1.25 m past the radius
        (16.0, 0, 30 + 2.5 * 1.0 ** 2 / 2),
        (10.0, 0, -math.inf),  # the launch alone takes 15 s
    ],
)
def test_reach_inverts_the_eta(within_s, corners, expected_m):
    reach = MODEL.reach_m(within_s, alt_rel_m=30.0, corners=corners, arrival_radius_m=30.0)
    assert reach == pytest.approx(expected_m, abs=1e-4)


def test_round_trip_spends_the_usable_energy():
    # 100 %: 150 - 34.125 = 115.875 Wh usable. Climb 15 s × 300 W + m g h / 0.6 = 1.5905 Wh;
    # hover for the 300 s hold and the 38.33 s landing = 28.194 Wh; the rest at 415.2 W
    # cruise is 746.5 s = 2 × (d / 12 + 4.8 s), so d = 4421.1 m each way.
    usable_wh = 150.0 - 10 * 0.25 * 4 * (3.3 + 0.9 * 0.25 / 2)
    climb_wh = 300.0 * 15.0 / 3600 + 2.5 * 9.80665 * 30 / 0.6 / 3600
    hover_wh = 300.0 * (300.0 + 5 + 20 / 1.5 + 10 / 0.5) / 3600
    cruise_s = (usable_wh - climb_wh - hover_wh) / 415.2 * 3600
    expected_m = 12 * (cruise_s / 2 - 4.8)
    assert MODEL.round_trip_m(100.0, alt_rel_m=30.0, hold_s=300.0) == pytest.approx(expected_m,
                                                                                    abs=1e-3)
    assert MODEL.round_trip_m(25.0, alt_rel_m=30.0, hold_s=300.0) == -math.inf  # no usable energy


@pytest.mark.parametrize(("energy_wh", "expected_pct"), [
    (150.0, 100.0),  # a full pack
    (10 * 0.5 * 4 * (3.3 + 0.9 / 4), 50.0),  # the 50 % figure worked above
    (0.0, 0.0),
    (200.0, 100.0),  # more than a pack holds: full
])
def test_charge_of_an_energy_inverts_the_voltage_curve(energy_wh, expected_pct):
    assert MODEL.pct_of_wh(energy_wh) == pytest.approx(expected_pct, abs=1e-6)
