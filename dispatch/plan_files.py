"""Flights as files ground stations open: QGroundControl ``.plan`` (JSON) and MAVLink WPL text.

A ``FlightPlan`` is a planned home (WGS84, metres above mean sea level) and its mission items
(``dispatch.missions``). ``dispatch_plan`` makes one of a drone's route to an event (the route
the dispatcher would fly, around the no-fly zones), ``patrol_plan`` one of a patrol flight's
waypoints; ``write_plan``/``read_plan`` choose the format by suffix:

- ``.plan``: QGroundControl's Plan file (docs.qgroundcontrol.com, "Plan File Format": top
  level ``fileType`` "Plan", ``version`` 1, ``groundStation``, ``mission`` version 2 with
  ``plannedHomePosition``, ``firmwareType``, ``vehicleType``, ``cruiseSpeed``,
  ``hoverSpeed``, ``globalPlanAltitudeMode`` and ``items`` of ``SimpleItem``s, and empty
  ``geoFence`` and ``rallyPoints`` of version 2). QGroundControl, MAVSDK's
  ``MissionRaw.import_qgroundcontrol_mission`` and Mission Planner load it.
- ``.waypoints`` / ``.txt``: the "QGC WPL 110" text MAVProxy's ``wp load`` reads, written and
  read with pymavlink's ``mavwp`` (item 0 is home, as ArduPilot keeps it).

Files only: nothing here talks to a drone (that is ``dispatch/link.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatch.errors import PlanFileError
from dispatch.missions import FRAME_GLOBAL, NAV_WAYPOINT, PlanItem, route_items
from geofence import Router

__all__ = ["FlightPlan", "dispatch_plan", "patrol_plan", "read_plan", "write_plan"]

LatLon = tuple[float, float]
_FIRMWARE_ARDUPILOT = 3  # MAV_AUTOPILOT_ARDUPILOTMEGA
_VEHICLE_QUADROTOR = 2  # MAV_TYPE_QUADROTOR
_ALT_MODE_RELATIVE = 1  # QGroundControl's "relative to launch"
_WPL_SUFFIXES = (".waypoints", ".txt")


@dataclass(frozen=True)
class FlightPlan:
    """A planned home (lat, lon, metres AMSL) and the mission items flown from it."""

    home_lat: float
    home_lon: float
    home_amsl_m: float
    items: tuple[PlanItem, ...]
    cruise_speed_mps: float = 12.0  # WPNAV_SPEED of the simulated copters
    hover_speed_mps: float = 5.0


def dispatch_plan(router: Router, dock: LatLon, scene: LatLon, *, alt_rel_m: float,
                  hold_s: float = 0.0, home_amsl_m: float = 10.0) -> FlightPlan:
    """A drone's flight from ``dock`` to ``scene`` as the dispatcher plans it: the route around
    the no-fly zones at ``alt_rel_m``, ``hold_s`` over the scene, then home (NoRouteFound when
    the scene cannot be reached)."""
    route = router.route(dock, scene)
    items = route_items(route.points[1:], alt_rel_m=alt_rel_m, final_hold_s=hold_s,
                        takeoff_at=dock)
    return FlightPlan(float(dock[0]), float(dock[1]), home_amsl_m, items)


def patrol_plan(dock: LatLon, waypoints: Sequence[LatLon], *, alt_rel_m: float,
                home_amsl_m: float = 10.0) -> FlightPlan:
    """A patrol flight (``PlannedFlight.waypoints``) as ``Dispatcher.patrol`` uploads it."""
    items = route_items(waypoints, alt_rel_m=alt_rel_m, takeoff_at=dock)
    return FlightPlan(float(dock[0]), float(dock[1]), home_amsl_m, items)


# ---------------------------------------------------------------- writing


def write_plan(plan: FlightPlan, path: str | Path) -> Path:
    """Write ``plan`` as a QGroundControl ``.plan`` or a WPL ``.waypoints``/``.txt`` file."""
    path = Path(path)
    if path.suffix == ".plan":
        path.write_text(json.dumps(qgc_plan(plan), indent=4) + "\n", encoding="utf-8")
    elif path.suffix in _WPL_SUFFIXES:
        _wpl_loader(plan).save(str(path))
    else:
        raise PlanFileError(f"{path}: write a .plan (QGroundControl) or a .waypoints/.txt "
                            "(MAVLink WPL) file")
    return path


def qgc_plan(plan: FlightPlan) -> dict[str, Any]:
    """``plan`` as QGroundControl's Plan JSON (a dict ready for ``json.dumps``)."""
    items = []
    for jump_id, item in enumerate(plan.items, start=1):
        entry: dict[str, Any] = {
            "autoContinue": item.autocontinue, "command": item.command, "doJumpId": jump_id,
            "frame": item.frame,
            "params": [item.param1, item.param2, item.param3, item.param4, item.lat, item.lon,
                       item.alt_m],
            "type": "SimpleItem",
        }
        if item.frame != 2:  # items with a position carry QGroundControl's altitude fields
            entry.update({"AMSLAltAboveTerrain": None, "Altitude": item.alt_m,
                          "AltitudeMode": _ALT_MODE_RELATIVE})
        items.append(entry)
    return {
        "fileType": "Plan",
        "geoFence": {"circles": [], "polygons": [], "version": 2},
        "groundStation": "flyonce",
        "mission": {
            "cruiseSpeed": plan.cruise_speed_mps,
            "firmwareType": _FIRMWARE_ARDUPILOT,
            "globalPlanAltitudeMode": _ALT_MODE_RELATIVE,
            "hoverSpeed": plan.hover_speed_mps,
            "items": items,
            "plannedHomePosition": [plan.home_lat, plan.home_lon, plan.home_amsl_m],
            "vehicleType": _VEHICLE_QUADROTOR,
            "version": 2,
        },
        "rallyPoints": {"points": [], "version": 2},
        "version": 1,
    }


def _wpl_loader(plan: FlightPlan) -> Any:
    from pymavlink import mavwp
    from pymavlink.dialects.v20 import ardupilotmega as mav

    loader = mavwp.MAVWPLoader()
    home = PlanItem(NAV_WAYPOINT, frame=FRAME_GLOBAL, lat=plan.home_lat, lon=plan.home_lon,
                    alt_m=plan.home_amsl_m)
    for seq, item in enumerate((home, *plan.items)):
        loader.add(mav.MAVLink_mission_item_message(
            0, 0, seq, item.frame, item.command, int(seq == 0), int(item.autocontinue),
            item.param1, item.param2, item.param3, item.param4, item.lat, item.lon, item.alt_m))
    return loader


# ---------------------------------------------------------------- reading


def read_plan(path: str | Path) -> FlightPlan:
    """The ``FlightPlan`` in a ``.plan`` or WPL file; PlanFileError says what is wrong where."""
    path = Path(path)
    if path.suffix == ".plan":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PlanFileError(f"{path}: not a readable JSON .plan file: {exc}") from exc
        return plan_of_qgc(data, where=str(path))
    if path.suffix in _WPL_SUFFIXES:
        return _read_wpl(path)
    raise PlanFileError(f"{path}: read a .plan (QGroundControl) or a .waypoints/.txt "
                        "(MAVLink WPL) file")


def plan_of_qgc(data: object, *, where: str = "plan") -> FlightPlan:
    """The ``FlightPlan`` of QGroundControl Plan JSON (only SimpleItems: no survey patterns)."""
    if not isinstance(data, Mapping) or data.get("fileType") != "Plan":
        raise PlanFileError(f"{where}: fileType must be \"Plan\"")
    if data.get("version") != 1:
        raise PlanFileError(f"{where}: Plan version {data.get('version')!r} is not 1")
    mission = data.get("mission")
    if not isinstance(mission, Mapping) or mission.get("version") != 2:
        raise PlanFileError(f"{where}: needs a mission of version 2")
    home = mission.get("plannedHomePosition")
    if not (isinstance(home, list) and len(home) == 3 and all(_number(v) for v in home)):
        raise PlanFileError(f"{where}: plannedHomePosition must be [lat, lon, alt_amsl_m]")
    items = []
    for index, raw in enumerate(mission.get("items") or []):
        if not isinstance(raw, Mapping) or raw.get("type") != "SimpleItem":
            raise PlanFileError(f"{where}: mission item {index + 1} is not a SimpleItem (survey "
                                "and other complex items are not read; export them from "
                                "QGroundControl as waypoints first)")
        params = raw.get("params")
        if not (isinstance(params, list) and len(params) == 7):
            raise PlanFileError(f"{where}: mission item {index + 1} needs 7 params")
        p = [float(v) if _number(v) else 0.0 for v in params]  # QGroundControl writes null
        items.append(PlanItem(int(raw["command"]), int(raw["frame"]), *p[:4], lat=p[4],
                              lon=p[5], alt_m=p[6], autocontinue=bool(raw.get("autoContinue"))))
    if not items:
        raise PlanFileError(f"{where}: the mission has no items")
    return FlightPlan(float(home[0]), float(home[1]), float(home[2]), tuple(items),
                      float(mission.get("cruiseSpeed", 12.0)), float(mission.get("hoverSpeed", 5.0)))


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _read_wpl(path: Path) -> FlightPlan:
    from pymavlink import mavwp

    loader = mavwp.MAVWPLoader()
    try:
        count = loader.load(str(path))
    except (OSError, mavwp.MAVWPError, ValueError, IndexError) as exc:
        raise PlanFileError(f"{path}: not a readable MAVLink WPL file: {exc}") from exc
    if count < 2:
        raise PlanFileError(f"{path}: a WPL file needs home (item 0) and at least one item")
    home, *rest = (loader.wp(i) for i in range(count))
    items = tuple(PlanItem(w.command, w.frame, w.param1, w.param2, w.param3, w.param4,
                           lat=w.x, lon=w.y, alt_m=w.z, autocontinue=bool(w.autocontinue))
                  for w in rest)
    return FlightPlan(home.x, home.y, home.z, items)
