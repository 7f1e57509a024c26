"""``flyonce fleet`` against simulated copters; ``flyonce docks`` on hand-made towns."""

from __future__ import annotations

import json

import shapely.geometry
import typer
from typer.testing import CliRunner

from dispatch.cli import docks_app, fleet
from tests.dispatch.layouts import ORIGIN, at, square_zone

APP = typer.Typer()
APP.command()(fleet)
DOCKS = docks_app


def test_fleet_reports_each_drone_and_fails_when_one_is_unreachable(sim_fleet, tmp_path):
    sim = sim_fleet([ORIGIN])
    path = tmp_path / "fleet.toml"
    path.write_text(f'[[drone]]\nid = "up"\nurl = "{sim.vehicles[0].endpoint}"\ndock = [29.5, 120.9]\n'
                    '[[drone]]\nid = "down"\nurl = "tcp:127.0.0.1:1"\ndock = [29.5, 120.9]\n')
    result = CliRunner().invoke(APP, [str(path), "--timeout-s", "3"])
    assert result.exit_code == 1
    lines = sorted(result.output.strip().splitlines())
    assert lines[0].startswith("down: unavailable: cannot open tcp:127.0.0.1:1")
    assert lines[1].startswith("up: available; mode STABILIZE, disarmed, on_ground, battery 100 %")


def test_a_bad_fleet_file_exits_2_with_the_reason(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text("nothing = 1\n")
    result = CliRunner().invoke(APP, [str(path)])
    assert result.exit_code == 2
    assert "lists no drones" in result.output


# ---------------------------------------------------------------- flyonce docks …

def _collection(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features})


def _points(**named: tuple[float, float]) -> str:
    return _collection([{"type": "Feature", "properties": {"id": name},
                         "geometry": {"type": "Point", "coordinates": [lon, lat]}}
                        for name, (lat, lon) in named.items()])


def _town(tmp_path):
    # Two 200 m residential blocks 5 km apart: a site between them (2.5 km from each) is past
    # the 1981 m a drone flies in 180 s, so each block needs a dock of its own.
    zones = [square_zone("west", "residential", -2500, 0, 100, target_s=180.0),
             square_zone("east", "residential", 2500, 0, 100, target_s=180.0)]
    path = tmp_path / "zones.geojson"
    path.write_text(_collection([{"type": "Feature",
                                  "properties": {"id": z.id, "kind": z.kind},
                                  "geometry": shapely.geometry.mapping(z.geometry)}
                                 for z in zones]))
    return path


def test_docks_plan_needs_a_dock_per_block_and_draws_both_plans(tmp_path):
    sites = tmp_path / "sites.geojson"
    sites.write_text(_points(W=at(-2400, 0), M=at(0, 0), E=at(2400, 0)))
    out = tmp_path / "plan.png"
    result = CliRunner().invoke(DOCKS, ["plan", "--target-share", "0.99", "--zones",
                                        str(_town(tmp_path)), "--candidates", str(sites),
                                        "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    head = next(x for x in lines if x.startswith("candidates: "))
    assert head.startswith(f"candidates: 3 from {tmp_path / 'sites.geojson'}")
    assert "demand: 0.08 km² of residential 0.08 km²" in head  # two 200 m squares
    milp = lines.index(next(x for x in lines if x.startswith("integer programme (HiGHS)")))
    assert lines[milp].startswith("integer programme (HiGHS): 2 docks, proven fewest")
    rows = lines[milp + 2:milp + 4]
    assert sorted(r.split()[1] for r in rows) == ["E", "W"]
    assert rows[-1].split()[-2:] == ["100.0", "+50.0"]  # the second block, half the area
    assert any(x.startswith("greedy: 2 docks") for x in lines)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_docks_plan_says_when_no_candidates_can_reach_the_share(tmp_path):
    sites = tmp_path / "sites.geojson"
    sites.write_text(_points(M=at(0, 0)))
    result = CliRunner().invoke(DOCKS, ["plan", "--target-share", "0.99", "--zones",
                                        str(_town(tmp_path)), "--candidates", str(sites),
                                        "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "reaches only residential 0.0 % within target, short of 99 %" in result.output


def test_docks_reach_reports_the_sample_town_reached_everywhere(tmp_path):
    out = tmp_path / "reach.png"
    result = CliRunner().invoke(DOCKS, ["reach", "--spacing-m", "40", "--out", str(out)])
    assert result.exit_code == 0, result.output
    kinds = {line.split()[1]: line.split()[-1] for line in result.output.splitlines()
             if line.startswith("all ")}
    assert kinds["residential"] == "100.0%" and kinds["forest"] == "100.0%"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
