"""The vehicle parameters a ground station can list, read and set, with ArduCopter's names and units.

Names and units follow ArduCopter (RTL_ALT in cm, WPNAV_SPEED in cm/s, FS_GCS_TIMEOUT in s,
BATT_LOW_VOLT in V). Defaults are ArduCopter's except where a patrol drone would be configured
otherwise; those are marked "ours" below and listed in ``simulators/__init__``'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DEFAULT_PARAMS", "INT", "REAL", "STREAM_GROUP_SUFFIXES", "STREAM_LINKS", "ParamSpec",
           "Params", "stream_param"]

# MAV_PARAM_TYPE values; ArduPilot sends integers as float-valued PARAM_VALUEs of these types.
INT = 6  # MAV_PARAM_TYPE_INT32
REAL = 9  # MAV_PARAM_TYPE_REAL32


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its name (<= 16 chars), default, MAV_PARAM_TYPE and allowed range."""

    name: str
    default: float
    type: int = REAL
    low: float = -math.inf
    high: float = math.inf


DEFAULT_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("SYSID_THISMAV", 1, INT, 1, 255),
    ParamSpec("SYSID_MYGCS", 255, INT, 1, 255),
    ParamSpec("ARMING_CHECK", 1, INT, 0, 0x7FFFFFFF),
    ParamSpec("DISARM_DELAY", 10, INT, 0, 127),  # s on the ground armed before disarming
    ParamSpec("FS_GCS_ENABLE", 0, INT, 0, 7),
    ParamSpec("FS_GCS_TIMEOUT", 5.0, REAL, 2, 120),  # s
    ParamSpec("FS_EKF_ACTION", 1, INT, 1, 3),  # 1 land when position is lost in flight
    ParamSpec("BATT_CAPACITY", 10000, INT, 100, 1_000_000),  # mAh
    ParamSpec("BATT_FS_LOW_ACT", 2, INT, 0, 5),  # ours: RTL (ArduCopter ships 0, none)
    ParamSpec("BATT_LOW_VOLT", 14.0, REAL, 0, 100),  # ours: 3.5 V/cell on a 4S pack
    ParamSpec("BATT_LOW_MAH", 0, INT, 0, 1_000_000),  # 0 disables the capacity trigger
    ParamSpec("BATT_LOW_TIMER", 10, INT, 0, 120),  # s below BATT_LOW_VOLT before failsafe
    ParamSpec("RTL_ALT", 1500, INT, 200, 300000),  # cm above home
    ParamSpec("RTL_LOIT_TIME", 5000, INT, 0, 60000),  # ms above home before descending
    ParamSpec("RTL_SPEED", 0, INT, 0, 2000),  # cm/s, 0 = WPNAV_SPEED
    ParamSpec("LAND_SPEED", 50, INT, 30, 200),  # cm/s for the final descent
    ParamSpec("LAND_ALT_LOW", 1000, INT, 100, 10000),  # cm where the final descent starts
    ParamSpec("WPNAV_SPEED", 1200, INT, 20, 1500),  # ours: 12 m/s cruise; cap 15 m/s
    ParamSpec("WPNAV_SPEED_UP", 250, INT, 10, 1000),  # cm/s
    ParamSpec("WPNAV_SPEED_DN", 150, INT, 10, 500),  # cm/s
    ParamSpec("WPNAV_ACCEL", 250, INT, 50, 500),  # cm/s/s
    ParamSpec("WPNAV_ACCEL_Z", 100, INT, 50, 500),  # cm/s/s
    ParamSpec("WPNAV_RADIUS", 200, INT, 5, 1000),  # cm
    ParamSpec("SIM_WIND_SPD", 0.0, REAL, 0, 40),  # m/s the wind blows at
    ParamSpec("SIM_WIND_DIR", 180.0, REAL, 0, 360),  # deg the wind comes from
    ParamSpec("SIM_WIND_TURB", 0.0, REAL, 0, 10),  # m/s standard deviation of gusts
    ParamSpec("SIM_GPS_NOISE", 0.7, REAL, 0, 20),  # m standard deviation of GPS_RAW_INT
    ParamSpec("SIM_GPS_LCKTIME", 0, INT, 0, 600),  # s after boot before the GPS has a 3D fix
    # geofence (AC_Fence) and rally points (AP_Rally)
    ParamSpec("FENCE_ENABLE", 0, INT, 0, 1),
    ParamSpec("FENCE_TYPE", 7, INT, 0, 15),  # bits: 1 max alt, 2 circle, 4 polygons, 8 min alt
    ParamSpec("FENCE_ACTION", 1, INT, 0, 5),  # 0 report, 1/3 RTL or land, 2/5 land, 4 brake
    ParamSpec("FENCE_ALT_MAX", 100.0, REAL, 10, 1000),  # m above home
    ParamSpec("FENCE_RADIUS", 300.0, REAL, 30, 10000),  # m around home
    ParamSpec("FENCE_MARGIN", 2.0, REAL, 1, 10),  # m
    ParamSpec("RALLY_TOTAL", 0, INT, 0, 255),  # rally points stored (set by an upload)
    ParamSpec("RALLY_LIMIT_KM", 0.3, REAL, 0, 1000),  # a nearer home wins past this distance
    ParamSpec("RALLY_INCL_HOME", 1, INT, 0, 1),  # home counts as a rally point
)

# The telemetry stream groups of ArduPilot's SRn_ parameters (GCS_MAVLink_Parameters.cpp), in
# its order; simulators/streams.py says which messages each carries. Link 0 is the TCP server
# (SITL's SERIAL0, port 5760 + 10 i), link 1 the optional UDP output.
STREAM_GROUP_SUFFIXES = ("RAW_SENS", "EXT_STAT", "RC_CHAN", "RAW_CTRL", "POSITION", "EXTRA1",
                         "EXTRA2", "EXTRA3", "PARAMS")
STREAM_LINKS = 2
# ours: ArduCopter ships 0 (HEARTBEAT only until a ground station asks); 4 Hz is what a ground
# station behind sim_vehicle.py's MAVProxy (--streamrate 4) receives, and what MAVSDK needs to
# report the vehicle healthy without asking.
_DEFAULT_STREAM_HZ = 4


def stream_param(link: int, suffix: str) -> str:
    """The name of link ``link``'s rate parameter for stream group ``suffix`` (``SR0_POSITION``)."""
    return f"SR{link}_{suffix}"


DEFAULT_PARAMS += tuple(
    ParamSpec(stream_param(link, suffix), 0 if suffix == "PARAMS" else _DEFAULT_STREAM_HZ, INT,
              0, 50)
    for link in range(STREAM_LINKS) for suffix in STREAM_GROUP_SUFFIXES
)


class Params:
    """A vehicle's parameter table, in a fixed order so param_index is stable."""

    def __init__(self, specs: tuple[ParamSpec, ...] = DEFAULT_PARAMS, **overrides: float) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._names = [spec.name for spec in specs]
        self._values = {spec.name: float(spec.default) for spec in specs}
        for name, value in overrides.items():
            self.set(name, value)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def index(self, name: str) -> int:
        """Position of ``name`` in PARAM_REQUEST_LIST order."""
        return self._names.index(name)

    def name_at(self, index: int) -> str | None:
        """The name at ``index``, or None when out of range."""
        return self._names[index] if 0 <= index < len(self._names) else None

    def type_of(self, name: str) -> int:
        """MAV_PARAM_TYPE of ``name``."""
        return self._specs[name].type

    def set(self, name: str, value: float) -> float:
        """Store ``value`` (rounded for integer types, clamped to the range); return what is stored."""
        spec = self._specs.get(name)
        if spec is None:
            raise KeyError(f"no parameter named {name!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        value = min(max(float(value), spec.low), spec.high)
        if spec.type != REAL:
            value = float(round(value))
        self._values[name] = value
        return value
