"""What a simulated copter says about itself: each telemetry message built from its state.

``Telemetry(vehicle, clock).build(msg_id)`` returns the message as ArduCopter fills it, or None
when ArduCopter would not send it now (FENCE_STATUS without an enabled fence). Units are
MAVLink's (degE7, mm, cm/s, cdeg, mV, cA …). What a ground station reads as healthy:
SYS_STATUS with the gyro, accelerometer, compass, GPS, AHRS and PREARM_CHECK bits present,
enabled and healthy, GPS_RAW_INT fix type 3, and HOME_POSITION on request.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pymavlink.dialects.v20 import ardupilotmega as mav

from simulators.fence import ALT_MAX, CIRCLE, POLYGON
from simulators.vehicle import POSITION_MODES, Mode, Vehicle

__all__ = ["CAPABILITIES", "Telemetry"]

_SENSORS = (
    mav.MAV_SYS_STATUS_SENSOR_3D_GYRO | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | mav.MAV_SYS_STATUS_SENSOR_3D_MAG | mav.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | mav.MAV_SYS_STATUS_SENSOR_GPS | mav.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
    | mav.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION | mav.MAV_SYS_STATUS_SENSOR_YAW_POSITION
    | mav.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL | mav.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
    | mav.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS | mav.MAV_SYS_STATUS_AHRS
    | mav.MAV_SYS_STATUS_SENSOR_BATTERY | mav.MAV_SYS_STATUS_PREARM_CHECK
)
CAPABILITIES = (
    mav.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT | mav.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
    | mav.MAV_PROTOCOL_CAPABILITY_MISSION_INT | mav.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
    | mav.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
    | mav.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE | mav.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY
    | mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2
)
_FLIGHT_SW_VERSION = (4 << 24) | (5 << 16) | (7 << 8) | 255  # "4.5.7 official"
_MISSION_STATES = {"NO_MISSION": mav.MISSION_STATE_NO_MISSION,
                   "NOT_STARTED": mav.MISSION_STATE_NOT_STARTED,
                   "ACTIVE": mav.MISSION_STATE_ACTIVE, "PAUSED": mav.MISSION_STATE_PAUSED,
                   "COMPLETE": mav.MISSION_STATE_COMPLETE}


class Telemetry:
    """The message builders of one vehicle, by MAVLink message id."""

    def __init__(self, vehicle: Vehicle, clock: object) -> None:
        self.vehicle = vehicle
        self.clock = clock  # anything with now(); SYSTEM_TIME carries mission time
        self.builders: dict[int, Callable[[], mav.MAVLink_message | None]] = {
            mav.MAVLINK_MSG_ID_HEARTBEAT: self.heartbeat,
            mav.MAVLINK_MSG_ID_SYS_STATUS: self.sys_status,
            mav.MAVLINK_MSG_ID_GPS_RAW_INT: self.gps_raw_int,
            mav.MAVLINK_MSG_ID_MISSION_CURRENT: self.mission_current,
            mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: self.global_position_int,
            mav.MAVLINK_MSG_ID_LOCAL_POSITION_NED: self.local_position_ned,
            mav.MAVLINK_MSG_ID_ATTITUDE: self.attitude,
            mav.MAVLINK_MSG_ID_VFR_HUD: self.vfr_hud,
            mav.MAVLINK_MSG_ID_SYSTEM_TIME: self.system_time,
            mav.MAVLINK_MSG_ID_BATTERY_STATUS: self.battery_status,
            mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: self.extended_sys_state,
            mav.MAVLINK_MSG_ID_HOME_POSITION: self.home_position,
            mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION: self.autopilot_version,
            mav.MAVLINK_MSG_ID_FENCE_STATUS: self.fence_status,
        }

    def knows(self, msg_id: int) -> bool:
        """True when this vehicle can ever send ``msg_id``."""
        return msg_id in self.builders

    def build(self, msg_id: int) -> mav.MAVLink_message | None:
        """Message ``msg_id`` now, or None when ArduCopter would send nothing."""
        return self.builders[msg_id]()

    def _time_boot_ms(self) -> int:
        return int(self.vehicle.time_s * 1000.0) & 0xFFFFFFFF

    def heartbeat(self) -> mav.MAVLink_message:
        v = self.vehicle
        base = (mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | mav.MAV_MODE_FLAG_STABILIZE_ENABLED
                | mav.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED)
        if v.armed:
            base |= mav.MAV_MODE_FLAG_SAFETY_ARMED
        if v.mode in POSITION_MODES or v.mode == Mode.LAND:
            base |= mav.MAV_MODE_FLAG_GUIDED_ENABLED
        if v.in_failsafe:
            status = mav.MAV_STATE_CRITICAL
        elif v.landed:
            status = mav.MAV_STATE_STANDBY
        else:
            status = mav.MAV_STATE_ACTIVE
        return mav.MAVLink_heartbeat_message(
            mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, base, int(v.mode), status, 3
        )

    def sys_status(self) -> mav.MAVLink_message:
        v = self.vehicle
        present = enabled = health = _SENSORS
        if not v.gps_ok:
            health &= ~(mav.MAV_SYS_STATUS_SENSOR_GPS | mav.MAV_SYS_STATUS_AHRS)
        if "battery" in v.failsafes:
            health &= ~mav.MAV_SYS_STATUS_SENSOR_BATTERY
        if not v.prearm_ok:
            health &= ~mav.MAV_SYS_STATUS_PREARM_CHECK
        if v.fence_enabled:  # as AC_Fence::sys_status_*: present and enabled while on
            present |= mav.MAV_SYS_STATUS_GEOFENCE
            enabled |= mav.MAV_SYS_STATUS_GEOFENCE
            if not v.fence_breaches:
                health |= mav.MAV_SYS_STATUS_GEOFENCE
        battery = v.battery
        return mav.MAVLink_sys_status_message(
            present, enabled, health, 200, int(battery.voltage_v * 1000),
            int(battery.current_a * 100), int(round(battery.remaining_pct)), 0, 0, 0, 0, 0, 0,
        )

    def gps_raw_int(self) -> mav.MAVLink_message:
        v = self.vehicle
        if v.gps_ok:
            lat, lon = v.gps_latlon()
            fix, sats = 3, 14
        else:
            lat, lon = v.estimate_latlon()
            fix, sats = 1, 0
        speed = math.hypot(v.vel_e, v.vel_n)
        cog = math.degrees(math.atan2(v.vel_e, v.vel_n)) % 360.0
        return mav.MAVLink_gps_raw_int_message(
            int(v.time_s * 1e6), fix, int(lat * 1e7), int(lon * 1e7),
            int((v.home.amsl_m + v.up_m) * 1000), 80, 120, int(speed * 100), int(cog * 100), sats,
        )

    def mission_current(self) -> mav.MAVLink_message:
        v = self.vehicle
        # past the last item (mission complete) ArduPilot keeps reporting the last one
        seq = min(v.mission_current, max(len(v.mission) - 1, 0))
        return mav.MAVLink_mission_current_message(
            seq, len(v.mission), _MISSION_STATES[v.mission_state], int(v.mode == Mode.AUTO))

    def global_position_int(self) -> mav.MAVLink_message:
        v = self.vehicle
        lat, lon = v.estimate_latlon()
        _, _, up = v.estimate_enu()
        return mav.MAVLink_global_position_int_message(
            self._time_boot_ms(), int(lat * 1e7), int(lon * 1e7),
            int((v.home.amsl_m + up) * 1000), int(up * 1000),
            int(v.vel_n * 100), int(v.vel_e * 100), int(-v.vel_u * 100),
            int(v.yaw_deg % 360.0 * 100) % 36000,
        )

    def local_position_ned(self) -> mav.MAVLink_message:
        v = self.vehicle
        east, north, up = v.estimate_enu()
        return mav.MAVLink_local_position_ned_message(
            self._time_boot_ms(), north, east, -up, v.vel_n, v.vel_e, -v.vel_u
        )

    def attitude(self) -> mav.MAVLink_message:
        roll, pitch, yaw = self.vehicle.attitude_rad()
        return mav.MAVLink_attitude_message(self._time_boot_ms(), roll, pitch, yaw, 0.0, 0.0, 0.0)

    def vfr_hud(self) -> mav.MAVLink_message:
        v = self.vehicle
        wind_e, wind_n = v.wind_enu()
        airspeed = math.hypot(v.vel_e - wind_e, v.vel_n - wind_n) if not v.landed else 0.0
        throttle = 0 if not v.armed else (10 if v.landed else 45)
        return mav.MAVLink_vfr_hud_message(
            airspeed, math.hypot(v.vel_e, v.vel_n), int(v.yaw_deg) % 360, throttle,
            v.home.amsl_m + v.up_m, v.vel_u,
        )

    def system_time(self) -> mav.MAVLink_message:
        now = self.clock.now()  # type: ignore[attr-defined]
        return mav.MAVLink_system_time_message(int(now.timestamp() * 1e6), self._time_boot_ms())

    def battery_status(self) -> mav.MAVLink_message:
        v = self.vehicle
        b = v.battery
        remaining = int(round(b.remaining_pct))
        if "battery" in v.failsafes:
            state = mav.MAV_BATTERY_CHARGE_STATE_LOW
        else:
            state = mav.MAV_BATTERY_CHARGE_STATE_OK
        time_left = b.time_remaining_s()
        return mav.MAVLink_battery_status_message(
            0, mav.MAV_BATTERY_FUNCTION_ALL, mav.MAV_BATTERY_TYPE_LIPO, 32767,
            [int(b.voltage_v * 1000)] + [65535] * 9, int(b.current_a * 100), int(b.consumed_mah),
            int(b.consumed_wh * 36), remaining,
            int(min(time_left, 2**31 - 1)) if math.isfinite(time_left) else 0, state,
        )

    def extended_sys_state(self) -> mav.MAVLink_message:
        return mav.MAVLink_extended_sys_state_message(
            mav.MAV_VTOL_STATE_UNDEFINED, int(self.vehicle.landed_state)
        )

    def home_position(self) -> mav.MAVLink_message:
        home = self.vehicle.home
        return mav.MAVLink_home_position_message(
            int(home.lat * 1e7), int(home.lon * 1e7), int(home.amsl_m * 1000), 0.0, 0.0, 0.0,
            [1.0, 0.0, 0.0, 0.0], 0.0, 0.0, 0.0, int(self.vehicle.time_s * 1e6),
        )

    def autopilot_version(self) -> mav.MAVLink_message:
        return mav.MAVLink_autopilot_version_message(
            CAPABILITIES, _FLIGHT_SW_VERSION, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0,
            self.vehicle.sysid,
        )

    def fence_status(self) -> mav.MAVLink_message | None:
        v = self.vehicle
        if not v.fence_enabled:
            return None  # Copter sends FENCE_STATUS only while the fence is enabled
        breaches = v.fence_breaches
        if breaches & (CIRCLE | POLYGON):
            kind = mav.FENCE_BREACH_BOUNDARY
        elif breaches & ALT_MAX:
            kind = mav.FENCE_BREACH_MAXALT
        else:
            kind = mav.FENCE_BREACH_NONE
        return mav.MAVLink_fence_status_message(
            int(bool(breaches)), v.fence_breach_count & 0xFFFF, kind,
            int(v.fence_breach_at_s * 1000) & 0xFFFFFFFF)
