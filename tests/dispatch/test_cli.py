"""``flyonce fleet`` (dispatch.cli.fleet) against simulated copters."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from dispatch.cli import fleet
from tests.dispatch.layouts import ORIGIN

APP = typer.Typer()
APP.command()(fleet)


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
