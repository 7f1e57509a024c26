"""One simulated DJI dock and its aircraft: the services they answer, how they fly, what osd says.

No MQTT here (``simulators.dji.endpoint`` carries it): ``handle(method, data)`` answers a
service with (result code, output), ``step(dt_s)`` moves the dock's timeline and the aircraft on,
``events()`` drains the progress events due, ``dock_osd()`` / ``aircraft_osd()`` are the osd
payloads. The aircraft is a ``simulators.vehicle.Vehicle`` (the MAVLink copters' physics, modes
and battery) that the dock drives through its verbs: GUIDED, arm, takeoff, goto, RTL. Its
``mode_code`` is derived from what that vehicle does (DJI's DroneModeCode): 1 while the dock
prepares, 4 climbing, 17 flying a take-off or fly-to target (live flight controls), 9 returning,
10 landing, 3 when a pilot holds it, 0 idle.

A take-off: the cover opens (``cover_open_s``, cover_state 2 then 1; a jammed cover ends the
task with 514107), the aircraft readies (``ready_s``), climbs to ``security_takeoff_height``,
flies to the target; the cover closes behind it. ``return_home`` opens the cover, the aircraft
flies home at ``rth_altitude`` and lands; in the dock it powers off and charges at
``charge_pct_per_min``. Refusals come with DJI's codes (``Code``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from simulators.dji.payloads import LiveStream, Refused, Speaker
from simulators.dji.thing import PROGRESS_PERIOD_S, Code
from simulators.errors import CommandDenied, CommandFailed
from simulators.vehicle import LandedState, Mode, Vehicle

__all__ = ["Dock", "DockConfig"]

_FLIGHT_ID = re.compile(r'^[^<>:"/|?*._\\]+$')  # the id pattern of takeoff_to_point / fly_to_point
_ARRIVED_M = 1.0  # the dock reports wayline_ok within this of the target
_PASS_M = 3.0  # a fly-to passes an intermediate point within this
_IN_DOCK_M = 1.5
_CLOSE_AFTER_UP_M = 5.0  # the cover closes once the aircraft is this high


@dataclass
class DockConfig:
    """What differs between docks; times in mission seconds."""

    gateway_sn: str
    aircraft_sn: str
    cover_open_s: float = 10.0
    cover_close_s: float = 10.0
    ready_s: float = 10.0  # aircraft power-on and self-check once the cover is open
    charge_pct_per_min: float = 2.2  # DJI Dock 2: 20 % to 90 % in about 32 min
    prepare_capacity_pct: int = 30  # flighttask_prepare_capacity: no take-off below it
    distance_limit_m: float = 7000.0  # the dock's flight area: no target farther than this
    geo_zones: tuple[Any, ...] = ()  # shapely Polygons in (lon, lat): a route may not cross them
    psdk_index: int = 2
    product_type: str = "0-91-0"  # {domain-type-subtype}: a Matrice 3D


@dataclass
class _Task:
    kind: str  # "takeoff_to_point" | "fly_to_point"
    task_id: str
    points: list[tuple[float, float, float]]  # (lat, lon, alt above the dock)
    stage: str = "cover"  # takeoff: cover, ready, climb, cruise; fly-to: cruise
    since_s: float = 0.0
    index: int = 0
    next_report_s: float = 0.0
    climb_m: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Dock:
    """A dock (gateway ``config.gateway_sn``) with ``vehicle`` as its aircraft, at its home."""

    def __init__(self, config: DockConfig, vehicle: Vehicle, clock: Any = None) -> None:
        self.config = config
        self.clock = clock  # the fleet's (now() -> datetime), to stamp speaker plays
        self.vehicle = vehicle
        self.home = vehicle.home
        self.speaker = Speaker(config.psdk_index)
        self.live = LiveStream()
        self.cover_state = 0
        self.drone_in_dock = True
        self.powered = False  # the aircraft's power: off in the closed dock, so no aircraft osd
        self.authority = ""  # "cloud" once flight_authority_grab succeeded, "rc" when a pilot holds it
        self.cover_jammed = False
        self.task: _Task | None = None
        self._cover_target = 0
        self._cover_until_s = 0.0
        self._outbox: list[tuple[str, dict[str, Any], bool]] = []
        self.vehicle.params.set("DISARM_DELAY", 0)  # the dock powers it down itself

    # ---------------------------------------------------------------- services

    def handle(self, method: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one service: (0, output) or (DJI result code, {}); never raises."""
        now = self.vehicle.time_s
        try:
            if method == "flight_authority_grab":
                if self.authority == "rc":
                    raise Refused(Code.DEVICE_LOCKED, "a remote controller holds control")
                self.authority = "cloud"
            elif method == "takeoff_to_point":
                self._takeoff(data, now)
            elif method == "fly_to_point":
                self._fly_to(data, now)
            elif method == "fly_to_point_stop":
                self._stop_fly_to()
            elif method == "return_home":
                self._return_home(now)
            elif method.startswith("speaker_"):
                lat, lon = self.vehicle.estimate_latlon()
                where = {"lat": lat, "lon": lon, "alt_rel_m": self.vehicle.estimate_enu()[2],
                         "at": self.clock.now() if self.clock is not None else None}
                self.speaker.handle(method, data, now, self.powered, where)
            elif method in ("live_start_push", "live_stop_push"):
                self.live.handle(method, data, self.config.aircraft_sn, self.powered)
            else:
                return Code.COMMAND_NOT_SUPPORTED, {}
        except Refused as exc:
            return exc.code, {}
        except (CommandDenied, CommandFailed):
            return Code.PREPARATION_FAILED, {}
        return Code.OK, {}

    def _takeoff(self, data: dict[str, Any], now: float) -> None:
        need = {"flight_id": str, "target_latitude": float, "target_longitude": float,
                "target_height": float, "security_takeoff_height": float, "rth_altitude": float,
                "max_speed": int, "commander_flight_height": float}
        _check_fields(data, need)
        if not (_FLIGHT_ID.match(data["flight_id"]) and 2 <= data["target_height"] <= 10000 and
                20 <= data["security_takeoff_height"] <= 1500 and
                2 <= data["rth_altitude"] <= 1500 and 1 <= data["max_speed"] <= 15):
            raise Refused(Code.PARAMETER_ERROR, "a field is out of its documented range")
        if self.authority != "cloud":
            raise Refused(Code.NO_FLIGHT_AUTHORITY, "grab flight authority first")
        if not self.drone_in_dock or self.task is not None or self.vehicle.armed:
            raise Refused(Code.DOCK_PERFORMING_OTHER_TASK, "the aircraft is out or busy")
        if self.vehicle.battery.remaining_pct < self.config.prepare_capacity_pct:
            raise Refused(Code.BATTERY_BELOW_SET_VALUE, "battery below the take-off threshold")
        target = (data["target_latitude"], data["target_longitude"],
                  data["target_height"] - self.home.amsl_m)
        self._check_area([(self.home.lat, self.home.lon), target[:2]])
        self.vehicle.set_param("WPNAV_SPEED", data["max_speed"] * 100)
        self.vehicle.set_param("RTL_ALT", max(200, data["rth_altitude"] * 100))
        self.task = _Task("takeoff_to_point", data["flight_id"], [target], since_s=now,
                          climb_m=data["security_takeoff_height"], next_report_s=now)
        self.powered = True
        self._move_cover(1, now)
        self._report("task_ready", 0)

    def _fly_to(self, data: dict[str, Any], now: float) -> None:
        _check_fields(data, {"fly_to_id": str, "max_speed": int, "points": list})
        points = data["points"]
        if not (_FLIGHT_ID.match(data["fly_to_id"]) and 1 <= data["max_speed"] <= 15 and points):
            raise Refused(Code.PARAMETER_ERROR, "fly_to_id, max_speed 1-15 and points")
        for p in points:
            if not isinstance(p, dict):
                raise Refused(Code.PARAMETER_ERROR, "a point is not an object")
            _check_fields(p, {"latitude": float, "longitude": float, "height": float})
            if not 2 <= p["height"] <= 10000:
                raise Refused(Code.PARAMETER_ERROR, "height must be 2-10000 m")
        if self.authority != "cloud":
            raise Refused(Code.NO_FLIGHT_AUTHORITY, "grab flight authority first")
        task = self.task
        if task is not None and task.kind == "takeoff_to_point" and task.stage in ("cover",
                                                                                   "ready"):
            raise Refused(Code.TASK_IN_PREPARATION, "the take-off is still being prepared")
        if self.vehicle.landed or self.drone_in_dock:
            raise Refused(Code.FLYTO_TASK_FAILED, "the aircraft is not flying")
        if self.vehicle.mode != Mode.GUIDED:
            raise Refused(Code.DOCK_PERFORMING_OTHER_TASK, f"the aircraft is in {self.vehicle.mode.name}")
        lat, lon = self.vehicle.estimate_latlon()
        path = [(lat, lon)] + [(p["latitude"], p["longitude"]) for p in points]
        self._check_area(path)
        if task is not None:  # a new target supersedes the task under way
            self._report("task_finish" if task.kind == "takeoff_to_point" else "wayline_cancel",
                         0)
        self.vehicle.set_param("WPNAV_SPEED", data["max_speed"] * 100)
        self.task = _Task("fly_to_point", data["fly_to_id"],
                          [(p["latitude"], p["longitude"], p["height"] - self.home.amsl_m)
                           for p in points], stage="cruise", since_s=now, next_report_s=now)
        self._goto_current()

    def _stop_fly_to(self) -> None:
        if self.task is None or self.task.kind != "fly_to_point":
            raise Refused(Code.FLYTO_TASK_FAILED, "no fly-to under way")
        east, north, up = self.vehicle.estimate_enu()
        lat, lon = self.vehicle.frame.to_wgs84(east, north)
        self.vehicle.goto(lat, lon, up)
        self._report("wayline_cancel", 0)
        self.task = None

    def _return_home(self, now: float) -> None:
        if self.drone_in_dock or self.vehicle.landed:
            raise Refused(Code.RETURN_NOT_FLYING, "the aircraft has not taken off")
        if self.task is not None:
            self._report("wayline_cancel", 0)
            self.task = None
        self.vehicle.set_mode(Mode.RTL)
        self._move_cover(1, now)

    def _check_area(self, path: list[tuple[float, float]]) -> None:
        """DISTANCE_LIMIT for a point beyond the flight area, GEO_ZONE for a leg across a zone."""
        for lat, lon in path[1:]:
            east, north = self.vehicle.frame.to_local(lat, lon)
            if math.hypot(east, north) > self.config.distance_limit_m:
                raise Refused(Code.DISTANCE_LIMIT, "beyond the dock's flight area")
        if self.config.geo_zones:
            from shapely.geometry import LineString

            line = LineString([(lon, lat) for lat, lon in path])
            if any(zone.intersects(line) for zone in self.config.geo_zones):
                raise Refused(Code.GEO_ZONE, "the flight would cross a GEO zone")

    # ---------------------------------------------------------------- faults

    def take_over(self) -> None:
        """A pilot with the remote controller takes the aircraft: it hovers, mode_code 3."""
        self.authority = "rc"
        self.task = None
        if self.vehicle.flying:
            self.vehicle.set_mode(Mode.LOITER)

    # ---------------------------------------------------------------- time

    def step(self, dt_s: float) -> None:
        """Advance the vehicle's physics and the dock's timeline by ``dt_s`` mission seconds."""
        self.vehicle.step(dt_s)
        now = self.vehicle.time_s
        self._run_cover(now)
        task = self.task
        if task is not None:
            self._run_task(task, now)
        v = self.vehicle
        if self.drone_in_dock and not v.landed:
            self.drone_in_dock = False
        if v.landed and not v.armed and not self.drone_in_dock and self.task is None:
            east, north, _ = v.estimate_enu()
            if math.hypot(east, north) <= _IN_DOCK_M:
                self.drone_in_dock = True
                self._move_cover(0, now)
        if self.drone_in_dock and self.cover_state == 0 and self.task is None:
            self.powered = False
            battery = v.battery  # the dock feeds the avionics too: the net is the charge rate
            drawn_mah = battery.current_a * dt_s / 3.6
            battery.consumed_mah = max(0.0, battery.consumed_mah - drawn_mah - battery.capacity_mah
                                       * self.config.charge_pct_per_min / 6000.0 * dt_s)
        elif not self.drone_in_dock and v.up_m > _CLOSE_AFTER_UP_M and self.cover_state == 1 \
                and v.mode != Mode.RTL:
            self._move_cover(0, now)
        self._outbox += self.speaker.progress(now)

    def _move_cover(self, target: int, now: float) -> None:
        if self.cover_state == target and self._cover_target == target:
            return
        self._cover_target = target
        self.cover_state = 2
        duration = self.config.cover_open_s if target == 1 else self.config.cover_close_s
        self._cover_until_s = now + duration

    def _run_cover(self, now: float) -> None:
        if self.cover_state == 2 and now >= self._cover_until_s:
            self.cover_state = 3 if self.cover_jammed and self._cover_target == 1 else \
                self._cover_target

    def _run_task(self, task: _Task, now: float) -> None:
        v = self.vehicle
        if task.stage == "cover":
            if self.cover_state == 3:
                self._fail(Code.OPEN_COVER_FAILED)
                return
            if self.cover_state == 1:
                task.stage, task.since_s = "ready", now
        if task.stage == "ready" and now - task.since_s >= self.config.ready_s:
            v.set_mode(Mode.GUIDED)
            try:
                v.arm()
                v.takeoff(task.climb_m)
            except CommandFailed:
                self._fail(Code.PREPARATION_FAILED)
                return
            task.stage = "climb"
        if task.stage == "climb" and v.landed_state != LandedState.TAKEOFF and not v.landed:
            task.stage = "cruise"
            self._goto_current()
        if task.stage == "cruise" and v.mode == Mode.GUIDED:
            lat, lon, alt = task.points[task.index]
            east, north, up = v.estimate_enu()
            t_e, t_n = v.frame.to_local(lat, lon)
            flat_m = math.hypot(t_e - east, t_n - north)
            last = task.index == len(task.points) - 1
            if not last and flat_m <= _PASS_M:
                task.index += 1
                self._goto_current()
            elif last and flat_m <= _ARRIVED_M and abs(alt - up) <= _ARRIVED_M:
                self._report("wayline_ok", 0)
                if task.kind == "takeoff_to_point":
                    self._report("task_finish", 0)
                self.task = None
                return
        if now >= task.next_report_s - 1e-6 and self.task is task:  # a 1 s grid from its start
            task.next_report_s = max(task.next_report_s + PROGRESS_PERIOD_S, now)
            self._report("wayline_progress", 0)

    def _goto_current(self) -> None:
        task = self.task
        assert task is not None
        lat, lon, alt = task.points[task.index]
        self.vehicle.goto(lat, lon, alt)

    def _fail(self, code: int) -> None:
        self._report("wayline_failed", code)
        self.task = None
        if self.cover_state != 3:  # a jammed cover stays abnormal (cover_state 3) until fixed
            self._move_cover(0, self.vehicle.time_s)

    def _remaining_m(self, task: _Task) -> float:
        east, north, up = self.vehicle.estimate_enu()
        here = (east, north)
        total = 0.0 if task.stage in ("cruise",) else max(task.climb_m - up, 0.0)
        for lat, lon, _ in task.points[task.index:]:
            point = self.vehicle.frame.to_local(lat, lon)
            total += math.dist(here, point)
            here = point
        return total

    def _report(self, status: str, result: int) -> None:
        task = self.task
        assert task is not None
        remaining = self._remaining_m(task)
        speed = max(self.vehicle.params["WPNAV_SPEED"] / 100.0, 0.1)
        data: dict[str, Any] = {
            "status": status, "result": result, "way_point_index": task.index,
            "remaining_distance": round(remaining, 1), "remaining_time": round(remaining / speed, 1),
        }
        if task.kind == "takeoff_to_point":
            data["flight_id"] = task.task_id
            data["track_id"] = task.task_id
        else:
            data["fly_to_id"] = task.task_id
        final = status in ("wayline_ok", "wayline_failed", "wayline_cancel", "task_finish")
        self._outbox.append((f"{task.kind}_progress", data, final))

    def events(self) -> list[tuple[str, dict[str, Any], bool]]:
        """The events due since the last call: (method, data, need_reply), oldest first."""
        out, self._outbox = self._outbox, []
        return out

    # ---------------------------------------------------------------- osd

    def mode_code(self) -> int:
        """The aircraft's DroneModeCode now."""
        v, task = self.vehicle, self.task
        if self.authority == "rc" and v.flying:
            return 3
        if task is not None and task.stage in ("cover", "ready"):
            return 1
        if v.mode == Mode.RTL:
            return 9
        if v.mode == Mode.LAND:
            return 11 if v.battery.remaining_frac <= 0.0 else 10
        if v.landed_state == LandedState.TAKEOFF:
            return 4
        if v.flying:
            return 17
        return 0

    def dock_osd(self) -> dict[str, Any]:
        """The dock's osd: position, mode, cover, the aircraft in it and its charge."""
        working = self.task is not None or not self.drone_in_dock
        charging = self.drone_in_dock and not self.powered
        return {
            "latitude": self.home.lat, "longitude": self.home.lon, "height": self.home.amsl_m,
            "mode_code": 4 if working else 0, "cover_state": self.cover_state,
            "drone_in_dock": int(self.drone_in_dock),
            "drone_charge_state": {"state": int(charging and
                                                self.vehicle.battery.remaining_pct < 100.0),
                                   "capacity_percent": round(self.vehicle.battery.remaining_pct)},
            "flighttask_prepare_capacity": self.config.prepare_capacity_pct,
            "sub_device": {"device_sn": self.config.aircraft_sn,
                           "product_type": self.config.product_type,
                           "device_online_status": int(self.powered), "device_paired": 1},
        }

    def aircraft_osd(self) -> dict[str, Any] | None:
        """The aircraft's osd, or None while it is powered off in the dock."""
        if not self.powered:
            return None
        v = self.vehicle
        lat, lon = v.estimate_latlon()
        _, _, up = v.estimate_enu()
        battery = v.battery
        head = (v.yaw_deg + 180.0) % 360.0 - 180.0
        roll, pitch, _ = v.attitude_rad()
        return {
            "mode_code": self.mode_code(), "latitude": round(lat, 7), "longitude": round(lon, 7),
            "height": round(self.home.amsl_m + up, 2), "elevation": round(up, 2),
            "horizontal_speed": round(math.hypot(v.vel_e, v.vel_n), 2),
            "vertical_speed": round(v.vel_u, 2), "attitude_head": round(head, 1),
            "attitude_pitch": round(math.degrees(pitch), 1),
            "attitude_roll": round(math.degrees(roll), 1),
            "home_distance": round(math.hypot(v.east_m, v.north_m), 1),
            "battery": {"capacity_percent": round(battery.remaining_pct),
                        "remain_flight_time": int(min(battery.time_remaining_s(), 3600.0)),
                        "return_home_power": 25, "landing_power": 10},
        }


def _check_fields(data: dict[str, Any], need: dict[str, type]) -> None:
    for name, kind in need.items():
        value = data.get(name)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
            math.isfinite(value) if kind is float else isinstance(value, kind) and \
            not isinstance(value, bool)
        if not ok:
            raise Refused(Code.PARAMETER_ERROR, f"{name} must be a {kind.__name__}")
    for name in ("target_latitude", "latitude"):
        if name in need and not -90 <= data[name] <= 90:
            raise Refused(Code.PARAMETER_ERROR, f"{name} out of range")
    for name in ("target_longitude", "longitude"):
        if name in need and not -180 <= data[name] <= 180:
            raise Refused(Code.PARAMETER_ERROR, f"{name} out of range")
