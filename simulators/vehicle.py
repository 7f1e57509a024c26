"""One simulated copter: flight modes, arming, missions and failsafes over a kinematic body.

No MAVLink here: the endpoint calls the verbs (``arm``, ``set_mode``, ``takeoff``, ``goto`` …),
which raise ``CommandDenied``/``CommandFailed`` as ArduCopter would refuse, and drains
``outbox`` for what the vehicle wants said (status texts, mode changes, mission progress).
Positions are metres east/north/up of home in a ``LocalFrame`` centred on home; altitudes for
flight are metres above home. Time is the vehicle's own mission time, advanced by ``step``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import IntEnum

from geofence.frame import LocalFrame
from simulators.errors import CommandDenied, CommandFailed
from simulators.fence import Fence, Rally, fence_names
from simulators.mission import (
    DO_CHANGE_SPEED,
    NAV_LAND,
    NAV_LOITER_TIME,
    NAV_LOITER_UNLIM,
    NAV_RETURN_TO_LAUNCH,
    NAV_TAKEOFF,
    MissionItem,
    alt_rel_m_of,
    first_nav_from,
)
from simulators.params import Params
from simulators.physics import GRAVITY_MPS2, Airframe, Battery, Wind, limit_airspeed, sqrt_speed
from simulators.speaker import Speaker

__all__ = [
    "CurrentItem",
    "Home",
    "ItemReached",
    "LandedState",
    "Mode",
    "ModeChanged",
    "Text",
    "Vehicle",
    "VehicleState",
]


class Mode(IntEnum):
    """ArduCopter flight modes (custom_mode numbers) that the simulator flies."""

    STABILIZE = 0
    AUTO = 3
    GUIDED = 4
    LOITER = 5
    RTL = 6
    LAND = 9
    BRAKE = 17


class LandedState(IntEnum):
    """MAV_LANDED_STATE values as EXTENDED_SYS_STATE reports them."""

    ON_GROUND = 1
    IN_AIR = 2
    TAKEOFF = 3
    LANDING = 4


ARMABLE_MODES = frozenset({Mode.STABILIZE, Mode.GUIDED, Mode.LOITER})
POSITION_MODES = frozenset({Mode.AUTO, Mode.GUIDED, Mode.LOITER, Mode.RTL, Mode.BRAKE})
TAKEOFF_MODES = frozenset({Mode.GUIDED, Mode.LOITER})

# MAV_SEVERITY
CRITICAL = 2
WARNING = 4
NOTICE = 5
INFO = 6

_EKF_FAILSAFE_AFTER_S = 1.0  # ArduCopter declares EKF failsafe after ~1 s of bad position
_GUST_REJECTION = 0.3  # share of a gust's speed the position controller fails to cancel
_EKF_TAU_S = 20.0
_EKF_SIGMA_M = 0.3
_EKF_SIGMA_UP_M = 0.1
_YAW_RATE_DPS = 90.0
_TAKEOFF_DONE_M = 0.5


@dataclass(frozen=True)
class Home:
    """Where a vehicle starts and returns to: WGS84 position, ground altitude AMSL, a name."""

    lat: float
    lon: float
    amsl_m: float = 10.0
    name: str = ""


@dataclass(frozen=True)
class Text:
    """A STATUSTEXT the vehicle wants sent."""

    severity: int
    text: str


@dataclass(frozen=True)
class ModeChanged:
    """The flight mode changed (a HEARTBEAT goes out at once)."""

    mode: Mode


@dataclass(frozen=True)
class ItemReached:
    """Mission item ``seq`` was completed."""

    seq: int


@dataclass(frozen=True)
class CurrentItem:
    """Mission item ``seq`` became the current one."""

    seq: int


@dataclass(frozen=True)
class VehicleState:
    """A snapshot of the true state of one vehicle, for tests and the demo (not what it reports)."""

    sysid: int
    time_s: float
    lat: float
    lon: float
    alt_rel_m: float
    alt_amsl_m: float
    east_m: float
    north_m: float
    groundspeed_mps: float
    climb_mps: float
    heading_deg: float
    mode: str
    armed: bool
    landed_state: str
    battery_pct: float
    battery_v: float
    battery_remaining_mah: float
    battery_consumed_wh: float
    failsafes: frozenset[str]
    gps_ok: bool
    fence_enabled: bool
    fence_breaches: int  # AC_FENCE_TYPE bits the vehicle is outside of now
    mission_current: int
    mission_count: int
    home: Home
    link_up: bool = True


class Vehicle:
    """A copter at ``home`` obeying ArduCopter's mode rules; ``step(dt_s)`` moves it on."""

    def __init__(
        self,
        sysid: int,
        home: Home,
        *,
        seed: int = 0,
        airframe: Airframe | None = None,
        params: Params | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.sysid = sysid
        self.speaker = speaker  # None: no loudspeaker script on board (217 is UNSUPPORTED)
        self.home = home
        self.frame = LocalFrame(home.lat, home.lon)
        self.airframe = airframe or Airframe()
        self.params = params or Params()
        self.params.set("SYSID_THISMAV", sysid)
        self._rng = random.Random(f"{seed}/{sysid}")
        # GPS_RAW_INT's noise has its own generator: how often a ground station reads the raw
        # GPS must not change the flight (the estimate error and the gusts draw from _rng)
        self._gps_rng = random.Random(f"{seed}/{sysid}/gps")
        self.time_s = 0.0
        # true kinematic state, metres/metres per second east-north-up of home
        self.east_m = self.north_m = self.up_m = 0.0
        self.vel_e = self.vel_n = self.vel_u = 0.0
        self.acc_e = self.acc_n = 0.0
        self.yaw_deg = 0.0
        # position estimate error (what GLOBAL_POSITION_INT carries is truth plus this)
        self._err_e = self._err_n = self._err_u = 0.0
        self._frozen_est: tuple[float, float, float] | None = None
        self.wind = Wind(self._rng)
        self.battery = Battery(self.params["BATT_CAPACITY"], self.airframe.cells)
        self.armed = False
        self.landed = True
        self.mode = Mode.STABILIZE
        self.outbox: list[Text | ModeChanged | ItemReached | CurrentItem] = []
        self.failsafes: set[str] = set()
        self.refuse_arm_reason: str | None = None
        # SIM_GPS_LCKTIME: no fix (so no position, no position modes, no arming) at boot
        lock_s = self.params["SIM_GPS_LCKTIME"]
        self.gps_lost_until_s = lock_s if lock_s > 0 else -math.inf
        self._gps_lost_since_s: float | None = 0.0 if lock_s > 0 else None
        self._gps_ever_fixed = lock_s <= 0
        self._batt_low_since_s: float | None = None
        self.gcs_last_heard_s: float | None = None
        self._ground_armed_s = 0.0
        # navigation: where the active mode wants to be
        self._target: tuple[float, float, float] | None = None
        self._vz_cmd: float | None = None  # set while descending to land
        self._drift = False  # no horizontal position hold (STABILIZE, no GPS)
        self._taking_off = False
        self._landing = False
        self._speed_override_mps: float | None = None
        self._accel_scale = 1.0
        self._stage = ""  # RTL/land stage
        self._stage_since_s = 0.0
        self._rtl_alt_m = 0.0
        self._rtl_point_en = (0.0, 0.0)  # home, or the rally point RTL returns to
        # geofence and rally points (simulators/fence.py)
        self.fence = Fence(self.frame)
        self.rally = Rally(self.frame)
        self.fence_enabled = bool(self.params["FENCE_ENABLE"])
        self.fence_breaches = 0
        self.fence_breach_count = 0
        self.fence_breach_at_s = 0.0
        # mission
        self.mission: list[MissionItem] = [self._home_item()]
        self.mission_current = 1
        self._mission_done = False
        self._item_started = False
        self._item_arrived_s: float | None = None

    # ---------------------------------------------------------------- readings

    @property
    def gps_ok(self) -> bool:
        """True while the GPS has a 3D fix."""
        return self.time_s >= self.gps_lost_until_s

    @property
    def landed_state(self) -> LandedState:
        """What EXTENDED_SYS_STATE reports."""
        if self.landed:
            return LandedState.ON_GROUND
        if self._taking_off:
            return LandedState.TAKEOFF
        if self._landing:
            return LandedState.LANDING
        return LandedState.IN_AIR

    @property
    def in_failsafe(self) -> bool:
        """True while any failsafe is active (HEARTBEAT says CRITICAL)."""
        return bool(self.failsafes)

    @property
    def flying(self) -> bool:
        """True when armed and off the ground."""
        return self.armed and not self.landed

    @property
    def prearm_ok(self) -> bool:
        """True when arming checks would pass in a position mode."""
        return self._prearm_failure(Mode.GUIDED) is None

    def estimate_enu(self) -> tuple[float, float, float]:
        """The navigation estimate of (east, north, up) metres; frozen while GPS is lost."""
        if self._frozen_est is not None:
            return self._frozen_est
        # On the ground the barometer and the landing detector agree that height is zero.
        up = 0.0 if self.landed else self.up_m + self._err_u
        return self.east_m + self._err_e, self.north_m + self._err_n, up

    def estimate_latlon(self) -> tuple[float, float]:
        """The navigation estimate of (lat, lon)."""
        east, north, _ = self.estimate_enu()
        return self.frame.to_wgs84(east, north)

    def gps_latlon(self) -> tuple[float, float]:
        """A GPS reading of (lat, lon): truth plus SIM_GPS_NOISE metres of white noise."""
        noise = self.params["SIM_GPS_NOISE"]
        return self.frame.to_wgs84(
            self.east_m + self._gps_rng.gauss(0.0, noise),
            self.north_m + self._gps_rng.gauss(0.0, noise)
        )

    def wind_enu(self) -> tuple[float, float]:
        """(east, north) m/s of the air's motion over the ground, gusts included."""
        east, north = Wind.steady(self.params["SIM_WIND_SPD"], self.params["SIM_WIND_DIR"])
        return east + self.wind.gust_east_mps, north + self.wind.gust_north_mps

    def attitude_rad(self) -> tuple[float, float, float]:
        """(roll, pitch, yaw) radians implied by the present acceleration and heading."""
        yaw = math.radians(self.yaw_deg)
        fwd = self.acc_e * math.sin(yaw) + self.acc_n * math.cos(yaw)
        right = self.acc_e * math.cos(yaw) - self.acc_n * math.sin(yaw)
        roll = math.atan2(right, GRAVITY_MPS2)
        pitch = -math.atan2(fwd, GRAVITY_MPS2)
        return roll, pitch, math.atan2(math.sin(yaw), math.cos(yaw))

    def snapshot(self, link_up: bool = True) -> VehicleState:
        """The true state now."""
        lat, lon = self.frame.to_wgs84(self.east_m, self.north_m)
        return VehicleState(
            sysid=self.sysid,
            time_s=self.time_s,
            lat=lat,
            lon=lon,
            alt_rel_m=self.up_m,
            alt_amsl_m=self.home.amsl_m + self.up_m,
            east_m=self.east_m,
            north_m=self.north_m,
            groundspeed_mps=math.hypot(self.vel_e, self.vel_n),
            climb_mps=self.vel_u,
            heading_deg=self.yaw_deg % 360.0,
            mode=self.mode.name,
            armed=self.armed,
            landed_state=self.landed_state.name,
            battery_pct=self.battery.remaining_pct,
            battery_v=self.battery.voltage_v,
            battery_remaining_mah=self.battery.remaining_mah,
            battery_consumed_wh=self.battery.consumed_wh,
            failsafes=frozenset(self.failsafes),
            gps_ok=self.gps_ok,
            fence_enabled=self.fence_enabled,
            fence_breaches=self.fence_breaches,
            mission_current=self.mission_current,
            mission_count=len(self.mission),
            home=self.home,
            link_up=link_up,
        )

    # ---------------------------------------------------------------- verbs

    def arm(self, *, force: bool = False) -> None:
        """Arm the motors; CommandFailed with ArduCopter's "PreArm: …" text when refused."""
        if self.armed:
            return
        if self.mode not in ARMABLE_MODES:
            raise CommandFailed(f"Arm: {self.mode.name} mode not armable")
        if not force and self.params["ARMING_CHECK"] != 0:
            failure = self._prearm_failure(self.mode)
            if failure is not None:
                raise CommandFailed(f"PreArm: {failure}")
        self.armed = True
        self._ground_armed_s = 0.0

    def disarm(self, *, force: bool = False) -> None:
        """Disarm; refused in flight unless forced (then the copter falls)."""
        if not self.armed:
            return
        if not self.landed and not force:
            raise CommandFailed("Disarm: vehicle is flying")
        self._disarm()

    def set_mode(self, mode: Mode) -> None:
        """Switch flight mode; CommandFailed when the mode cannot be entered now."""
        if mode == self.mode:
            return
        if mode in POSITION_MODES and not self.gps_ok:
            raise CommandFailed(f"Mode change failed: {mode.name} requires position")
        if mode == Mode.AUTO and self.armed and self.landed:
            start = 1 if self._mission_done else self.mission_current
            first = first_nav_from(self.mission, start)
            if first is None or first.command != NAV_TAKEOFF:
                raise CommandFailed("Auto: Missing Takeoff Cmd")
        self._enter(mode)

    def takeoff(self, alt_rel_m: float) -> None:
        """Climb to ``alt_rel_m`` above home (GUIDED or LOITER, armed, on the ground)."""
        if not self.armed:
            raise CommandFailed("Takeoff: not armed")
        if self.mode not in TAKEOFF_MODES:
            raise CommandFailed(f"Takeoff: not supported in {self.mode.name}")
        if not self.landed:
            raise CommandFailed("Takeoff: already flying")
        if not self.gps_ok:
            raise CommandFailed("Takeoff: requires position")
        if not (math.isfinite(alt_rel_m) and alt_rel_m > self.up_m):
            raise CommandFailed("Takeoff: altitude must be above the current one")
        east, north, _ = self.estimate_enu()
        self._start_takeoff(east, north, alt_rel_m)

    def goto(self, lat: float, lon: float, alt_rel_m: float) -> None:
        """Fly to (lat, lon) at ``alt_rel_m`` above home; GUIDED and flying only."""
        if self.mode != Mode.GUIDED:
            raise CommandDenied("Guided: not in GUIDED mode")
        if self.landed:
            raise CommandFailed("Guided: take off first")
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 < lat < 90 and -180 <= lon <= 180
                and math.isfinite(alt_rel_m)):
            raise CommandDenied("Guided: bad destination")
        east, north = self.frame.to_local(lat, lon)
        self._target = (east, north, max(alt_rel_m, 0.0))
        self._taking_off = False

    def set_speed(self, speed_mps: float) -> None:
        """Set the horizontal speed for the present mode (capped at the airframe's maximum)."""
        if not (math.isfinite(speed_mps) and speed_mps > 0.0):
            raise CommandDenied("Change speed: speed must be > 0")
        self._speed_override_mps = min(speed_mps, self.airframe.max_speed_mps)

    def set_mission(self, items: list[MissionItem]) -> None:
        """Replace the mission; ``items[0]`` is home and is ignored, as ArduPilot does."""
        self.mission = [self._home_item(), *items[1:]]
        # on the ground a new mission starts from its top (ArduCopter resets the mission on
        # disarm), even when the last one was cut short by GUIDED
        if self.mission_current >= len(self.mission) or (self.landed and not self.armed):
            self.mission_current = 1
        self._mission_done = False
        self._item_started = False

    def set_mission_current(self, seq: int) -> None:
        """Make ``seq`` the current mission item."""
        if not 1 <= seq < len(self.mission):
            raise CommandDenied(f"Mission: no item {seq}")
        self.mission_current = seq
        self._mission_done = False
        self._item_started = False
        self.outbox.append(CurrentItem(seq))

    def start_mission(self) -> None:
        """Switch to AUTO and run the mission from where it stands (restarting a finished one)."""
        if len(self.mission) <= 1:
            raise CommandFailed("Mission: no mission")
        self.set_mode(Mode.AUTO)
        if self._mission_done:
            self._restart_mission()

    def set_param(self, name: str, value: float) -> float:
        """Store a parameter (KeyError if unknown) and apply it; return the value stored."""
        stored = self.params.set(name, value)
        if name == "BATT_CAPACITY":
            # ArduPilot rescales the remaining percentage to the new capacity on the spot.
            self.battery.capacity_mah = stored
        elif name == "FENCE_ENABLE":
            self.enable_fence(bool(stored))  # AC_Fence::update() follows the parameter
        return stored

    # ---- geofence and rally points

    def enable_fence(self, enabled: bool) -> None:
        """Switch the fence on or off (MAV_CMD_DO_FENCE_ENABLE; not saved to FENCE_ENABLE)."""
        self.fence_enabled = enabled
        if not enabled:
            self.fence_breaches = 0

    def set_fence(self, items: list[MissionItem]) -> None:
        """Replace the uploaded fence (BadPlan, nothing changed, when the items make none)."""
        self.fence.set_items(items)

    def set_rally(self, items: list[MissionItem]) -> None:
        """Replace the rally points (BadPlan for anything but rally points); RALLY_TOTAL follows."""
        self.rally.set_items(items)
        self.params.set("RALLY_TOTAL", len(items))

    def fence_types(self) -> int:
        """The AC_FENCE_TYPE bits in force: FENCE_TYPE, the polygon bit only with areas uploaded."""
        types = int(self.params["FENCE_TYPE"])
        if not self.fence.has_areas:
            types &= ~4
        return types

    @property
    def mission_state(self) -> str:
        """MISSION_STATE as MISSION_CURRENT reports it: NO_MISSION, NOT_STARTED, ACTIVE, PAUSED,
        COMPLETE."""
        if len(self.mission) <= 1:
            return "NO_MISSION"
        if self._mission_done:
            return "COMPLETE"
        if self.mode == Mode.AUTO and self.armed:
            return "ACTIVE"
        return "PAUSED" if self._item_started or self.mission_current > 1 else "NOT_STARTED"

    def heard_gcs(self) -> None:
        """Note a heartbeat from the ground station (SYSID_MYGCS)."""
        self.gcs_last_heard_s = self.time_s
        if "gcs" in self.failsafes:
            self.failsafes.discard("gcs")
            self.outbox.append(Text(CRITICAL, "GCS Failsafe Cleared"))

    # ---------------------------------------------------------------- faults

    def fail_battery(self) -> None:
        """A cell fails: pack voltage drops by one cell, so the low-voltage failsafe follows."""
        self.battery.failed = True

    def lose_gps(self, duration_s: float) -> None:
        """Lose the GPS fix for ``duration_s`` mission seconds."""
        if self.gps_ok:
            self._gps_lost_since_s = self.time_s
        self.gps_lost_until_s = max(self.gps_lost_until_s, self.time_s + duration_s)

    # ---------------------------------------------------------------- simulation

    def step(self, dt_s: float) -> None:
        """Advance the vehicle by ``dt_s`` mission seconds."""
        self.time_s += dt_s
        self._update_estimate(dt_s)
        self.wind.step(dt_s, self.params["SIM_WIND_TURB"])
        if self.armed:
            self._run_mode(dt_s)
        self._move(dt_s)
        wind_e, wind_n = self.wind_enu()
        airspeed = math.hypot(self.vel_e - wind_e, self.vel_n - wind_n)
        self.battery.draw(
            self.airframe.power_w(
                armed=self.armed, flying=not self.landed, airspeed_mps=airspeed,
                climb_mps=self.vel_u,
            ),
            dt_s,
        )
        self._check_failsafes()
        self._check_fence_breach()
        self._check_auto_disarm(dt_s)

    # ---------------------------------------------------------------- internals

    def _home_item(self) -> MissionItem:
        return MissionItem(command=16, frame=0, lat=self.home.lat, lon=self.home.lon,
                           alt_m=self.home.amsl_m)

    def _prearm_failure(self, mode: Mode) -> str | None:
        if self.refuse_arm_reason:
            return self.refuse_arm_reason
        if mode in POSITION_MODES and not self.gps_ok:
            return "GPS: Need 3D Fix"
        if self.battery.voltage_v < self.params["BATT_LOW_VOLT"] or "battery" in self.failsafes:
            return "Battery 1 below minimum arming voltage"
        if self.fence_enabled:
            if not self.gps_ok:
                return "Fence requires position"
            breached = self._fence_check()
            if breached:
                return f"vehicle outside {fence_names(breached)}"
        return None

    def _say(self, severity: int, text: str) -> None:
        self.outbox.append(Text(severity, text))

    def _disarm(self) -> None:
        self.armed = False
        self._taking_off = False
        self._target = None
        self._vz_cmd = None

    def _enter(self, mode: Mode) -> None:
        self.mode = mode
        self._speed_override_mps = None
        self._accel_scale = 1.0
        self._drift = False
        self._vz_cmd = None
        self._landing = False
        east, north, up = self.estimate_enu()
        if mode in (Mode.GUIDED, Mode.LOITER, Mode.BRAKE):
            if mode == Mode.BRAKE:
                self._accel_scale = 2.0
            self._taking_off = False
            self._target = None if self.landed else self._stopping_point(east, north, up)
        elif mode == Mode.STABILIZE:
            self._target = None
            self._drift = True
            self._taking_off = False
        elif mode == Mode.RTL:
            self._taking_off = False
            self._start_rtl()
        elif mode == Mode.LAND:
            self._taking_off = False
            self._start_land(east, north)
        elif mode == Mode.AUTO:
            self._item_started = False
            if self._mission_done:
                self._restart_mission()
        self.outbox.append(ModeChanged(mode))

    def _stopping_point(self, east: float, north: float, up: float) -> tuple[float, float, float]:
        accel = self._accel_mps2()
        speed = math.hypot(self.vel_e, self.vel_n)
        if speed < 1e-3:
            return east, north, up
        stop_m = speed * speed / (2.0 * accel)
        return east + self.vel_e / speed * stop_m, north + self.vel_n / speed * stop_m, up

    def _accel_mps2(self) -> float:
        return self.params["WPNAV_ACCEL"] / 100.0 * self._accel_scale

    def _speed_xy_mps(self) -> float:
        if self._speed_override_mps is not None:
            return self._speed_override_mps
        if self.mode == Mode.RTL and self.params["RTL_SPEED"] > 0:
            return min(self.params["RTL_SPEED"] / 100.0, self.airframe.max_speed_mps)
        return min(self.params["WPNAV_SPEED"] / 100.0, self.airframe.max_speed_mps)

    def _start_takeoff(self, east: float, north: float, alt_rel_m: float) -> None:
        self._target = (east, north, alt_rel_m)
        self._taking_off = True
        self._drift = False

    def _start_rtl(self) -> None:
        east, north, up = self.estimate_enu()
        self._rtl_alt_m = max(self.params["RTL_ALT"] / 100.0, up)
        self._rtl_point_en = self.rally.return_point(
            east, north, limit_km=self.params["RALLY_LIMIT_KM"],
            include_home=bool(self.params["RALLY_INCL_HOME"]))
        self._target = (east, north, self._rtl_alt_m)
        self._vz_cmd = None
        # Armed on the ground, RTL does not take off: it lands (disarms) where it is.
        self._set_stage("descend" if self.landed else "climb")

    def _start_land(self, east: float, north: float) -> None:
        self._target = (east, north, 0.0)
        self._drift = not self.gps_ok
        self._set_stage("descend")

    def _set_stage(self, stage: str) -> None:
        self._stage = stage
        self._stage_since_s = self.time_s

    def _descend_speed_mps(self, up: float) -> float:
        if up > self.params["LAND_ALT_LOW"] / 100.0:
            return self.params["WPNAV_SPEED_DN"] / 100.0
        return self.params["LAND_SPEED"] / 100.0

    def _run_mode(self, dt_s: float) -> None:
        east, north, up = self.estimate_enu()
        if self._taking_off and self._target is not None and up >= self._target[2] - _TAKEOFF_DONE_M:
            self._taking_off = False
        if self.mode == Mode.RTL:
            self._run_rtl(east, north, up)
        elif self.mode == Mode.LAND:
            self._run_descent(up)
        elif self.mode == Mode.AUTO:
            self._run_auto(east, north, up)

    def _run_descent(self, up: float) -> None:
        if self.landed:
            self._disarm()
            return
        self._landing = True
        self._vz_cmd = -self._descend_speed_mps(up)

    def _run_rtl(self, east: float, north: float, up: float) -> bool:
        """Advance the RTL sequence; True once it has landed."""
        if self._stage == "climb" and up >= self._rtl_alt_m - _TAKEOFF_DONE_M:
            self._set_stage("return")
        point_e, point_n = self._rtl_point_en
        if self._stage == "return":
            self._target = (point_e, point_n, self._rtl_alt_m)
            if math.hypot(east - point_e, north - point_n) <= self.params["WPNAV_RADIUS"] / 100.0:
                self._set_stage("loiter")
        if self._stage == "loiter":
            if self.time_s - self._stage_since_s >= self.params["RTL_LOIT_TIME"] / 1000.0:
                self._set_stage("descend")
                self._target = (point_e, point_n, 0.0)
        if self._stage == "descend":
            self._run_descent(up)
        return self.landed

    # ---- AUTO

    def _restart_mission(self) -> None:
        self.mission_current = 1
        self._mission_done = False
        self._item_started = False
        self.outbox.append(CurrentItem(1))

    def _run_auto(self, east: float, north: float, up: float) -> None:
        while not self._mission_done:
            if self.mission_current >= len(self.mission):
                self._finish_mission()
                return
            item = self.mission[self.mission_current]
            if not self._item_started:
                self._item_started = True
                self._item_arrived_s = None
                if not self._start_item(item, east, north, up):
                    self._advance_item(item)
                    continue
            if self._verify_item(item, east, north, up):
                self._advance_item(item)
                continue
            return

    def _finish_mission(self) -> None:
        self._mission_done = True
        self._say(INFO, "Mission complete")
        self.outbox.append(CurrentItem(self.mission_current))  # MISSION_CURRENT says COMPLETE
        if self.landed:
            self._disarm()
        else:
            east, north, up = self.estimate_enu()
            self._target = (east, north, up)
            self._vz_cmd = None
            self._landing = False

    def _advance_item(self, item: MissionItem) -> None:
        if item.is_nav:
            self.outbox.append(ItemReached(self.mission_current))
        self.mission_current += 1
        self._item_started = False
        if self.mission_current < len(self.mission):
            self.outbox.append(CurrentItem(self.mission_current))

    def _item_target(self, item: MissionItem, east: float, north: float, up: float
                     ) -> tuple[float, float, float]:
        if item.has_position:
            east, north = self.frame.to_local(item.lat, item.lon)
        alt = alt_rel_m_of(item.frame, item.alt_m, self.home.amsl_m)
        return east, north, (alt if alt > 0.0 or item.has_position else up)

    def _start_item(self, item: MissionItem, east: float, north: float, up: float) -> bool:
        """Begin ``item``; False when it was done on the spot (DO_ commands)."""
        self._vz_cmd = None
        self._landing = False
        if item.command == NAV_TAKEOFF:
            alt = alt_rel_m_of(item.frame, item.alt_m, self.home.amsl_m)
            self._start_takeoff(east, north, max(alt, up))
            return True
        if item.command == NAV_RETURN_TO_LAUNCH:
            self._start_rtl()
            return True
        if item.command == NAV_LAND:
            target = self._item_target(item, east, north, up)
            self._target = (target[0], target[1], up)
            self._set_stage("approach" if item.has_position else "descend")
            return True
        if item.is_nav:
            self._target = self._item_target(item, east, north, up)
            return True
        if item.command == DO_CHANGE_SPEED and item.param2 > 0:
            self.set_speed(item.param2)
        return False

    def _verify_item(self, item: MissionItem, east: float, north: float, up: float) -> bool:
        if item.command == NAV_TAKEOFF:
            return not self._taking_off and not self.landed
        if item.command == NAV_RETURN_TO_LAUNCH:
            return self._run_rtl(east, north, up)
        if item.command == NAV_LAND:
            if self._stage == "approach":
                assert self._target is not None
                if math.hypot(self._target[0] - east, self._target[1] - north) <= \
                        self.params["WPNAV_RADIUS"] / 100.0:
                    self._set_stage("descend")
                return False
            self._run_descent(up)
            return self.landed
        assert self._target is not None
        if self._item_arrived_s is None:
            tgt_e, tgt_n, tgt_u = self._target
            if math.dist((tgt_e, tgt_n, tgt_u), (east, north, up)) > \
                    self.params["WPNAV_RADIUS"] / 100.0:
                return False
            self._item_arrived_s = self.time_s
            if item.command in (16, NAV_LOITER_TIME):
                self._say(INFO, f"Reached command #{self.mission_current}")
        if item.command == NAV_LOITER_UNLIM:
            return False
        # NAV_WAYPOINT param1 and NAV_LOITER_TIME param1 are both a hold time in seconds
        return self.time_s - self._item_arrived_s >= max(item.param1, 0.0)

    # ---- body

    def _update_estimate(self, dt_s: float) -> None:
        decay = math.exp(-dt_s / _EKF_TAU_S)
        kick = _EKF_SIGMA_M * math.sqrt(1.0 - decay * decay)
        gauss = self._rng.gauss
        self._err_e = decay * self._err_e + kick * gauss(0.0, 1.0)
        self._err_n = decay * self._err_n + kick * gauss(0.0, 1.0)
        self._err_u = decay * self._err_u + kick * _EKF_SIGMA_UP_M / _EKF_SIGMA_M * gauss(0.0, 1.0)
        if self.gps_ok:
            if self._frozen_est is not None:
                self._frozen_est = None
                self._gps_lost_since_s = None
                self._say(INFO, "GPS 1: detected 3D fix")
                self.failsafes.discard("ekf")
            self._gps_ever_fixed = True
        elif self._frozen_est is None:
            self._frozen_est = (self.east_m + self._err_e, self.north_m + self._err_n,
                                self.up_m + self._err_u)
            if self._gps_lost_since_s is None:
                self._gps_lost_since_s = self.time_s
            if self._gps_ever_fixed:
                self._say(CRITICAL, "GPS 1: lost fix")

    def _move(self, dt_s: float) -> None:
        wind_e, wind_n = self.wind_enu()
        if not self.armed:
            if not self.landed:  # motors stopped in the air: it falls with the wind
                self.vel_u -= GRAVITY_MPS2 * dt_s
                self._approach_velocity(wind_e, wind_n, 5.0, dt_s)
                self._integrate(dt_s)
            return
        east, north, up = self.estimate_enu()
        target = self._target
        accel = self._accel_mps2()
        if self._drift or (target is None and not self.landed):
            want_e, want_n = wind_e, wind_n
        elif target is None:
            want_e = want_n = 0.0
        else:
            dx, dy = target[0] - east, target[1] - north
            dist = math.hypot(dx, dy)
            if dist > 1e-6:
                ux, uy = dx / dist, dy / dist
                speed = min(self._speed_xy_mps(), sqrt_speed(dist, accel))
                speed = limit_airspeed(ux, uy, speed, wind_e, wind_n, self.airframe.max_speed_mps)
                want_e, want_n = ux * speed, uy * speed
            else:
                want_e = want_n = 0.0
        # vertical
        accel_z = self.params["WPNAV_ACCEL_Z"] / 100.0
        if self._vz_cmd is not None:
            want_u = self._vz_cmd
        elif target is not None:
            dz = target[2] - up
            want_u = math.copysign(sqrt_speed(abs(dz), accel_z), dz)
            want_u = min(max(want_u, -self.params["WPNAV_SPEED_DN"] / 100.0),
                         self.params["WPNAV_SPEED_UP"] / 100.0)
        else:
            want_u = 0.0
        if self.landed:
            if want_u <= 0.0:
                return
            self.landed = False
        before_e, before_n = self.vel_e, self.vel_n
        self._approach_velocity(want_e, want_n, accel, dt_s)
        du = want_u - self.vel_u
        self.vel_u += max(-accel_z * dt_s, min(accel_z * dt_s, du))
        self.acc_e, self.acc_n = (self.vel_e - before_e) / dt_s, (self.vel_n - before_n) / dt_s
        self._integrate(dt_s)
        self._turn(dt_s)

    def _approach_velocity(self, want_e: float, want_n: float, accel: float, dt_s: float) -> None:
        de, dn = want_e - self.vel_e, want_n - self.vel_n
        mag = math.hypot(de, dn)
        limit = accel * dt_s
        if mag > limit:
            de, dn = de / mag * limit, dn / mag * limit
        self.vel_e += de
        self.vel_n += dn

    def _integrate(self, dt_s: float) -> None:
        gust = _GUST_REJECTION if not self._drift else 0.0
        self.east_m += (self.vel_e + gust * self.wind.gust_east_mps) * dt_s
        self.north_m += (self.vel_n + gust * self.wind.gust_north_mps) * dt_s
        self.up_m += self.vel_u * dt_s
        if self.up_m <= 0.0:
            self.up_m = 0.0
            if self.vel_u <= 0.0:
                self._touch_down()

    def _touch_down(self) -> None:
        self.landed = True
        self.vel_e = self.vel_n = self.vel_u = 0.0
        self.acc_e = self.acc_n = 0.0
        self._landing = False
        self._taking_off = False
        self._ground_armed_s = 0.0
        if self.armed and self.mode in (Mode.LAND, Mode.RTL) and self._vz_cmd is not None:
            self._disarm()
        self._vz_cmd = None

    def _turn(self, dt_s: float) -> None:
        speed = math.hypot(self.vel_e, self.vel_n)
        if speed < 1.0:
            return
        want = math.degrees(math.atan2(self.vel_e, self.vel_n))
        diff = (want - self.yaw_deg + 180.0) % 360.0 - 180.0
        limit = _YAW_RATE_DPS * dt_s
        self.yaw_deg = (self.yaw_deg + max(-limit, min(limit, diff))) % 360.0

    # ---- failsafes and disarming

    def _failsafe_to(self, land_only: bool) -> None:
        if self.landed:
            self._disarm()
            return
        if self.mode == Mode.LAND:
            return
        if land_only:
            self._enter(Mode.LAND)
        else:
            self._mode_or_land(Mode.RTL)

    def _check_failsafes(self) -> None:
        p = self.params
        # battery: capacity at once, voltage after BATT_LOW_TIMER seconds below the threshold
        low_volt = self.battery.voltage_v < p["BATT_LOW_VOLT"]
        if low_volt:
            if self._batt_low_since_s is None:
                self._batt_low_since_s = self.time_s
        else:
            self._batt_low_since_s = None
        low = (p["BATT_LOW_MAH"] > 0 and self.battery.remaining_mah < p["BATT_LOW_MAH"]) or (
            self._batt_low_since_s is not None
            and self.time_s - self._batt_low_since_s >= p["BATT_LOW_TIMER"] - 1e-9
        )
        if low and "battery" not in self.failsafes:
            self.failsafes.add("battery")
            self._say(CRITICAL, "Battery Failsafe")
            action = int(p["BATT_FS_LOW_ACT"])
            if self.armed and action:
                self._failsafe_to(land_only=action in (1, 5))
        if self.battery.remaining_frac <= 0.0 and self.armed and not self.landed \
                and self.mode != Mode.LAND:
            self._say(CRITICAL, "Battery empty: landing")
            self._enter(Mode.LAND)
        # ground station loss, counted only once the ground station has been heard
        if (
            p["FS_GCS_ENABLE"]
            and self.gcs_last_heard_s is not None
            and self.armed
            and "gcs" not in self.failsafes
            and self.time_s - self.gcs_last_heard_s > p["FS_GCS_TIMEOUT"]
        ):
            self.failsafes.add("gcs")
            self._say(CRITICAL, "GCS Failsafe")
            self._failsafe_to(land_only=int(p["FS_GCS_ENABLE"]) == 5)
        # lost position in flight in a mode that needs it
        if (
            self._gps_lost_since_s is not None
            and "ekf" not in self.failsafes
            and self.time_s - self._gps_lost_since_s >= _EKF_FAILSAFE_AFTER_S - 1e-9
            and self.armed and not self.landed and self.mode in POSITION_MODES
        ):
            self.failsafes.add("ekf")
            self._say(CRITICAL, "EKF Failsafe")
            self._enter(Mode.LAND)

    def _fence_check(self) -> int:
        """The fence bits the position estimate is outside of (0 when the fence is off)."""
        if not self.fence_enabled:
            return 0
        east, north, up = self.estimate_enu()
        p = self.params
        return self.fence.breaches(east, north, up, types=self.fence_types(),
                                   alt_max_m=p["FENCE_ALT_MAX"], radius_m=p["FENCE_RADIUS"])

    def _check_fence_breach(self) -> None:
        """Copter's fence_check(): a new breach while armed triggers FENCE_ACTION."""
        breached = self._fence_check() if self.gps_ok else self.fence_breaches
        new = breached & ~self.fence_breaches
        self.fence_breaches = breached
        if not new:
            return
        self.fence_breach_count += 1
        self.fence_breach_at_s = self.time_s
        self._say(NOTICE, f"{fence_names(new)} breached")
        action = int(self.params["FENCE_ACTION"])
        if not self.armed or action == 0:
            return
        if self.landed:
            self._disarm()
        elif action in (2, 5):  # always land; SmartRTL (not simulated) or land
            if self.mode != Mode.LAND:
                self._enter(Mode.LAND)
        elif action == 4:  # brake or land
            self._mode_or_land(Mode.BRAKE)
        elif self.mode not in (Mode.RTL, Mode.LAND):  # 1, 3: RTL or land
            self._mode_or_land(Mode.RTL)

    def _mode_or_land(self, mode: Mode) -> None:
        try:
            self.set_mode(mode)
        except CommandFailed:
            self._enter(Mode.LAND)

    def _check_auto_disarm(self, dt_s: float) -> None:
        if not (self.armed and self.landed) or self._taking_off:
            self._ground_armed_s = 0.0
            return
        self._ground_armed_s += dt_s
        delay = self.params["DISARM_DELAY"]
        if delay > 0 and self._ground_armed_s >= delay:
            self._disarm()
            self._say(INFO, "Disarming motors")
