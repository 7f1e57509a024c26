"""Flights as QGroundControl .plan and MAVLink WPL files: written, read back, loaded by MAVSDK."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
import typer
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync
from typer.testing import CliRunner

from dispatch.cli import export_plan
from dispatch.errors import PlanFileError
from dispatch.missions import NAV_RETURN_TO_LAUNCH, NAV_TAKEOFF, NAV_WAYPOINT
from dispatch.plan_files import FlightPlan, dispatch_plan, patrol_plan, read_plan, write_plan
from geofence import Router, sample_town
from tests.dispatch.test_dispatcher import NANYUAN
from tests.mavsdk_gcs import mavsdk_system, until

TOWN = sample_town()
SOUTH = TOWN.dock("dock-south")
SOUTH_DOCK = (SOUTH.lat, SOUTH.lon)


def south_to_nanyuan(hold_s: float = 60.0) -> FlightPlan:
    return dispatch_plan(Router(TOWN.zones, TOWN.frame), SOUTH_DOCK, NANYUAN, alt_rel_m=30.0,
                         hold_s=hold_s)


def square_patrol(side_m: float = 100.0) -> list[tuple[float, float]]:
    east, north = TOWN.frame.to_local(*SOUTH_DOCK)
    return [tuple(map(float, TOWN.frame.to_wgs84(east + de, north + dn)))
            for de, dn in ((0, side_m), (side_m, side_m), (side_m, 0), (0, 0))]


def test_a_dispatch_route_is_the_dispatchers_route_with_a_hold_over_the_scene():
    plan = south_to_nanyuan(hold_s=60.0)
    route = Router(TOWN.zones, TOWN.frame).route(SOUTH_DOCK, NANYUAN)
    # the 714 m route round the school has two turns: takeoff, 2 corners + the scene, RTL
    assert [i.command for i in plan.items] == [NAV_TAKEOFF] + [NAV_WAYPOINT] * 3 + \
        [NAV_RETURN_TO_LAUNCH]
    assert [(i.lat, i.lon) for i in plan.items[1:4]] == list(route.points[1:])
    assert [i.param1 for i in plan.items[1:4]] == [0.0, 0.0, 60.0]  # held only over the scene
    assert {i.alt_m for i in plan.items[:4]} == {30.0}
    assert (plan.home_lat, plan.home_lon) == SOUTH_DOCK


def test_a_plan_file_has_qgroundcontrols_documented_fields_and_reads_back_equal(tmp_path):
    plan = south_to_nanyuan()
    path = write_plan(plan, tmp_path / "south.plan")
    data = json.loads(path.read_text())
    # QGroundControl's Plan File Format: the top level, the mission object, each SimpleItem
    assert (data["fileType"], data["version"]) == ("Plan", 1)
    assert isinstance(data["groundStation"], str)
    assert data["geoFence"] == {"circles": [], "polygons": [], "version": 2}
    assert data["rallyPoints"] == {"points": [], "version": 2}
    mission = data["mission"]
    assert mission["version"] == 2
    assert (mission["firmwareType"], mission["vehicleType"]) == (3, 2)  # ArduPilot, quadrotor
    assert mission["globalPlanAltitudeMode"] == 1
    assert mission["plannedHomePosition"] == [SOUTH.lat, SOUTH.lon, 10.0]
    assert mission["cruiseSpeed"] == 12.0 and mission["hoverSpeed"] == 5.0
    for jump_id, item in enumerate(mission["items"], start=1):
        assert item["type"] == "SimpleItem" and item["doJumpId"] == jump_id
        assert isinstance(item["autoContinue"], bool) and item["autoContinue"]
        assert len(item["params"]) == 7 and all(isinstance(p, float) for p in item["params"])
        if item["command"] != NAV_RETURN_TO_LAUNCH:
            assert (item["frame"], item["AltitudeMode"], item["Altitude"]) == (3, 1, 30.0)
            assert item["AMSLAltAboveTerrain"] is None
    assert read_plan(path) == plan


def test_a_wpl_file_is_what_mavwp_writes_and_reads_back_within_its_precision(tmp_path):
    plan = patrol_plan(SOUTH_DOCK, square_patrol(), alt_rel_m=25.0)
    path = write_plan(plan, tmp_path / "patrol.waypoints")
    lines = path.read_text().splitlines()
    assert lines[0] == "QGC WPL 110"
    assert len(lines) == 1 + 1 + len(plan.items)  # header, home (item 0), the items
    home = lines[1].split("\t")
    assert home[:4] == ["0", "1", "0", "16"]  # seq 0, current, MAV_FRAME_GLOBAL, waypoint
    back = read_plan(path)
    assert (back.home_lat, back.home_lon, back.home_amsl_m) == pytest.approx(
        (SOUTH.lat, SOUTH.lon, 10.0), abs=1e-6)
    assert len(back.items) == len(plan.items)
    for got, sent in zip(back.items, plan.items):
        assert (got.command, got.frame, got.autocontinue) == \
            (sent.command, sent.frame, sent.autocontinue)
        # mavwp writes %f: six decimals, 1e-6 degrees is 0.11 m
        assert (got.lat, got.lon, got.alt_m, got.param1) == pytest.approx(
            (sent.lat, sent.lon, sent.alt_m, sent.param1), abs=1e-6)


@pytest.mark.parametrize("content, message", [
    ({"fileType": "Mission", "version": 1}, "fileType must be \"Plan\""),
    ({"fileType": "Plan", "version": 2}, "Plan version 2 is not 1"),
    ({"fileType": "Plan", "version": 1, "mission": {"version": 2, "items": [
        {"type": "ComplexItem", "complexItemType": "survey"}],
        "plannedHomePosition": [29.5, 120.9, 10]}}, "item 1 is not a SimpleItem"),
    ({"fileType": "Plan", "version": 1, "mission": {"version": 2, "items": [],
                                                    "plannedHomePosition": [29.5, 120.9]}},
     "plannedHomePosition must be [lat, lon, alt_amsl_m]"),
])
def test_plans_that_cannot_be_read_say_why(tmp_path, content, message):
    path = tmp_path / "bad.plan"
    path.write_text(json.dumps(content))
    with pytest.raises(PlanFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_plan(path)


def test_an_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(PlanFileError, match="write a .plan"):
        write_plan(south_to_nanyuan(), tmp_path / "route.kml")


def test_mavsdk_imports_the_plan_and_the_copter_flies_it(sim_fleet, tmp_path):
    fleet = sim_fleet([SOUTH])
    vehicle = fleet.vehicles[0]
    path = write_plan(patrol_plan(SOUTH_DOCK, square_patrol(), alt_rel_m=20.0),
                      tmp_path / "patrol.plan")

    async def main():
        async with mavsdk_system(vehicle.endpoint) as system:
            mission = MissionRawAsync(system)
            imported = await mission.import_qgroundcontrol_mission(str(path))
            await mission.upload_mission(imported.mission_items)
            await ActionAsync(system).arm()
            await mission.start_mission()
            await until(lambda: vehicle.state.mode == "AUTO", 5, "AUTO")
            highest = 0.0
            for _ in range(4000):  # ~80 s at 10x; 400 m of square, climb and landing
                highest = max(highest, vehicle.state.alt_rel_m)
                if not vehicle.state.armed:
                    break
                await asyncio.sleep(0.02)
            return imported, highest

    imported, highest = asyncio.run(asyncio.wait_for(main(), 120))
    items = imported.mission_items
    # MAVSDK adds ArduPilot's home (plannedHomePosition) as item 0, then our six
    assert [i.command for i in items] == [NAV_WAYPOINT, NAV_TAKEOFF] + [NAV_WAYPOINT] * 4 + \
        [NAV_RETURN_TO_LAUNCH]
    assert (items[0].x, items[0].y) == (round(SOUTH.lat * 1e7), round(SOUTH.lon * 1e7))
    state = vehicle.state
    assert not state.armed and state.landed_state == "ON_GROUND"
    assert math.hypot(state.east_m, state.north_m) < 2.0  # back on its dock
    assert highest == pytest.approx(20.0, abs=0.6)


def test_the_cli_writes_a_route_and_refuses_an_ambiguous_request(tmp_path):
    app = typer.Typer()
    app.command()(export_plan)
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(f'[[drone]]\nid = "south"\nurl = "tcp:127.0.0.1:5780"\n'
                          f'dock = [{SOUTH.lat}, {SOUTH.lon}]\n')
    out = tmp_path / "south.plan"
    result = CliRunner().invoke(app, [str(fleet_file), "south", str(out), "--to",
                                      f"{NANYUAN[0]},{NANYUAN[1]}", "--hold-s", "60"])
    assert result.exit_code == 0, result.output
    assert "5 mission items for south" in result.output
    assert read_plan(out) == south_to_nanyuan(hold_s=60.0)
    path_file = tmp_path / "patrol.geojson"
    path_file.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "LineString", "coordinates": [[lon, lat] for lat, lon in square_patrol()]}}))
    patrol_out = tmp_path / "patrol.waypoints"
    result = CliRunner().invoke(app, [str(fleet_file), "south", str(patrol_out),
                                      "--waypoints", str(path_file), "--alt-m", "25"])
    assert result.exit_code == 0, result.output
    expected = patrol_plan(SOUTH_DOCK, square_patrol(), alt_rel_m=25.0)
    assert [(i.command, round(i.lat, 6), round(i.lon, 6), i.alt_m)
            for i in read_plan(patrol_out).items] == \
        [(i.command, round(i.lat, 6), round(i.lon, 6), i.alt_m) for i in expected.items]
    both = CliRunner().invoke(app, [str(fleet_file), "south", str(out), "--to", "29.5,120.9",
                                    "--waypoints", str(fleet_file)])
    assert both.exit_code == 2 and "exactly one of --to" in both.output
    unknown = CliRunner().invoke(app, [str(fleet_file), "north", str(out), "--to", "29.5,120.9"])
    assert unknown.exit_code == 2 and "no drone 'north'" in unknown.output
