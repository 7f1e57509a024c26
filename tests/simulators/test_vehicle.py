"""The vehicle's rules and physics alone, without sockets (MAVLink paths: test_mavlink_*)."""

from __future__ import annotations

import math

import pytest

from simulators.errors import CommandDenied, CommandFailed
from simulators.mission import MissionItem
from simulators.vehicle import Home, Mode, Vehicle

DT = 0.1
HOME = Home(30.2741, 120.1551, 10.0)


def run_until(vehicle: Vehicle, done, max_s: float) -> float:
    """Step until done(); return the mission seconds it took (fails past max_s)."""
    start = vehicle.time_s
    while not done():
        vehicle.step(DT)
        assert vehicle.time_s - start <= max_s, "condition never became true"
    return vehicle.time_s - start


def flying(alt_m: float = 20.0, **params: float) -> Vehicle:
    vehicle = Vehicle(1, HOME)
    for name, value in params.items():
        vehicle.set_param(name, value)
    vehicle.set_mode(Mode.GUIDED)
    vehicle.arm()
    vehicle.takeoff(alt_m)
    run_until(vehicle, lambda: not vehicle._taking_off, 60)
    return vehicle


@pytest.mark.parametrize("mode, armable", [(Mode.STABILIZE, True), (Mode.GUIDED, True),
                                           (Mode.LOITER, True), (Mode.RTL, False),
                                           (Mode.LAND, False), (Mode.BRAKE, False),
                                           (Mode.AUTO, False)])
def test_which_modes_may_arm(mode, armable):
    vehicle = Vehicle(1, HOME)
    vehicle.set_mode(mode)
    if armable:
        vehicle.arm()
        assert vehicle.armed
    else:
        with pytest.raises(CommandFailed, match="not armable"):
            vehicle.arm()
        assert not vehicle.armed


@pytest.mark.parametrize("setup, alt_m, text", [
    ("disarmed", 20.0, "not armed"),
    ("stabilize", 20.0, "not supported"),
    ("guided", 0.0, "above the current"),
    ("guided", -5.0, "above the current"),
])
def test_takeoff_refusals(setup, alt_m, text):
    vehicle = Vehicle(1, HOME)
    if setup != "disarmed":
        vehicle.set_mode(Mode.STABILIZE if setup == "stabilize" else Mode.GUIDED)
        vehicle.arm()
    with pytest.raises(CommandFailed, match=text):
        vehicle.takeoff(alt_m)


def test_climb_takes_distance_over_rate_plus_accel_time():
    # WPNAV_SPEED_UP 2.5 m/s, WPNAV_ACCEL_Z 1 m/s^2: 20 m takes 20/2.5 + 2.5/1 = 10.5 s to the
    # top; the takeoff counts as done 0.5 m short of it, 0.5-1 s earlier.
    vehicle = Vehicle(1, HOME)
    vehicle.set_mode(Mode.GUIDED)
    vehicle.arm()
    vehicle.takeoff(20.0)
    took = run_until(vehicle, lambda: not vehicle._taking_off, 30)
    assert 9.5 <= took <= 10.5
    assert vehicle.up_m == pytest.approx(19.6, abs=0.4)


@pytest.mark.parametrize("wind_mps, expected_speed", [(0.0, 12.0), (5.0, 10.0)])
def test_cruise_speed_and_headwind(wind_mps, expected_speed):
    # wind from the north; flying 600 m north the cruise is 12 m/s, or 10 m/s into a
    # 5 m/s headwind (airspeed capped at 15 m/s)
    vehicle = flying(SIM_WIND_SPD=wind_mps, SIM_WIND_DIR=0.0)
    lat, lon = vehicle.frame.to_wgs84(0.0, 600.0)
    vehicle.goto(lat, lon, 20.0)
    run_until(vehicle, lambda: vehicle.north_m > 300.0, 60)
    assert math.hypot(vehicle.vel_e, vehicle.vel_n) == pytest.approx(expected_speed, abs=0.1)


def test_disarm_in_flight_is_refused_and_auto_disarm_on_the_ground():
    vehicle = flying()
    with pytest.raises(CommandFailed):
        vehicle.disarm()
    grounded = Vehicle(1, HOME)
    grounded.set_mode(Mode.GUIDED)
    grounded.arm()
    # DISARM_DELAY is 10 s by default
    assert run_until(grounded, lambda: not grounded.armed, 20) == pytest.approx(10.0, abs=DT)


def test_goto_needs_guided_and_flight():
    vehicle = Vehicle(1, HOME)
    vehicle.set_mode(Mode.LOITER)
    with pytest.raises(CommandDenied):
        vehicle.goto(HOME.lat, HOME.lon, 20.0)
    vehicle.set_mode(Mode.GUIDED)
    with pytest.raises(CommandFailed, match="take off"):
        vehicle.goto(HOME.lat, HOME.lon, 20.0)


def test_auto_from_the_ground_needs_a_takeoff_item():
    vehicle = Vehicle(1, HOME)
    vehicle.set_mode(Mode.GUIDED)
    vehicle.arm()
    vehicle.set_mission([MissionItem(16), MissionItem(16, lat=30.275, lon=120.156, alt_m=20)])
    with pytest.raises(CommandFailed, match="Missing Takeoff"):
        vehicle.set_mode(Mode.AUTO)
    vehicle.set_mission([MissionItem(16), MissionItem(22, alt_m=20)])
    vehicle.set_mode(Mode.AUTO)
    assert vehicle.mode == Mode.AUTO


def test_lost_gps_in_flight_lands_after_one_second():
    vehicle = flying()
    vehicle.lose_gps(30.0)
    took = run_until(vehicle, lambda: vehicle.mode == Mode.LAND, 5)
    assert took == pytest.approx(1.0, abs=DT + 1e-9)  # ArduCopter's EKF failsafe delay
    assert "ekf" in vehicle.failsafes
    with pytest.raises(CommandFailed, match="requires position"):
        vehicle.set_mode(Mode.GUIDED)


def test_same_seed_same_flight_and_other_seed_other_gusts():
    def fly(seed: int) -> tuple[float, float, float]:
        vehicle = Vehicle(1, HOME, seed=seed)
        vehicle.set_param("SIM_WIND_SPD", 4.0)
        vehicle.set_param("SIM_WIND_TURB", 2.0)
        vehicle.set_mode(Mode.GUIDED)
        vehicle.arm()
        vehicle.takeoff(20.0)
        for _ in range(300):
            vehicle.step(DT)
        return vehicle.east_m, vehicle.north_m, vehicle.battery.consumed_mah

    assert fly(7) == fly(7)
    assert fly(7) != fly(8)
