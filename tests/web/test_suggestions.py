"""The assign panel's ranking (suggestions.js), run in Chromium on hand-made fleets, and its reading
of the dispatch planner's answer (GET /api/v1/dispatch/events/{id}/suggestions)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.web.conftest import WebServer, open_page

ALERTED = "2026-11-25T08:00:00Z"
ALERTED_MS = 1_795_593_600_000  # the same instant in milliseconds since 1970
EVENT = {"id": 1, "lat": 29.50, "lon": 120.90, "target_s": 180.0, "alerted_at": ALERTED,
         "detected_at": ALERTED}
KM_NORTH = 1000 / 111_195.08  # one kilometre of latitude on the 6371.0088 km sphere, in degrees


def drone(drone_id: str, north_km: float, *, speed: float = 12.0, status: str = "docked") -> dict:
    return {"id": drone_id, "name": drone_id.upper(), "dock_lat": 29.50 + north_km * KM_NORTH,
            "dock_lon": 120.90, "lat": None, "lon": None, "cruise_speed_mps": speed,
            "battery_pct": 90.0, "status": status}


def team(team_id: str, north_km: float) -> dict:
    return {"id": team_id, "name": team_id, "lat": 29.50 + north_km * KM_NORTH, "lon": 120.90,
            "status": "available"}


@pytest.fixture(scope="module")
def page(browser, server: WebServer) -> Iterator[object]:
    page = open_page(browser, server, "/ui/console", user="op")
    page.wait_for_selector("#alerts")
    yield page
    page.context.close()


def rank(page, drones: list[dict], teams: list[dict], waited_s: float) -> dict:
    return page.evaluate(f"""async () => {{
        const m = await import("/ui/static/js/suggestions.js");
        return m.rankStraightLine({json.dumps(EVENT)}, {json.dumps(drones)}, {json.dumps(teams)},
                                  {ALERTED_MS + waited_s * 1000});
    }}""")


@pytest.mark.parametrize(("drones", "waited_s", "expected"), [
    # 1 km at 12 m/s is 83.3 s: within 180 s when fresh, at risk after 100 s of waiting (80 s left).
    ([drone("far", 2.0), drone("near", 1.0)], 0, [("near", 83.3, False), ("far", 166.7, False)]),
    ([drone("far", 2.0), drone("near", 1.0)], 100, [("near", 83.3, True), ("far", 166.7, True)]),
    # A faster drone further away can arrive first: 3 km at 40 m/s is 75 s.
    ([drone("near", 1.0), drone("fast", 3.0, speed=40.0)], 0, [("fast", 75.0, False), ("near", 83.3, False)]),
    # An offline drone is not offered.
    ([drone("off", 0.5, status="offline"), drone("near", 1.0)], 0, [("near", 83.3, False)]),
])
def test_drones_rank_by_straight_line_eta(page, drones: list[dict], waited_s: float,
                                          expected: list[tuple]) -> None:
    plan = rank(page, drones, [], waited_s)
    assert [(d["id"], round(d["eta_s"], 1), d["at_risk"]) for d in plan["drones"]] == expected


def test_teams_rank_by_distance(page) -> None:
    plan = rank(page, [], [team("t-far", 2.5), team("t-near", 0.5)], 0)
    assert [(t["id"], round(t["distance_m"])) for t in plan["teams"]] == [("t-near", 500), ("t-far", 2500)]


def test_the_planners_answer_takes_the_same_shape(page) -> None:
    plan = {"drones": [
        {"drone_id": "d2", "eta_s": 140.0, "route_length_m": 1600.0, "at_risk": False, "feasible": True},
        {"drone_id": "d1", "eta_s": 200.0, "route_length_m": 2300.0, "at_risk": True, "feasible": True},
        {"drone_id": "d3", "eta_s": 90.0, "route_length_m": 900.0, "at_risk": False, "feasible": False,
         "reason": "battery"},
    ], "teams": [{"team_id": "t2", "distance_m": 300.0, "available": False},
                 {"team_id": "t1", "distance_m": 700.0, "available": True}]}
    got = page.evaluate(f"""async () => {{
        const m = await import("/ui/static/js/suggestions.js");
        return m.fromPlanner({json.dumps(plan)}, [{{"id": "d1", "name": "D1"}}, {{"id": "d2", "name": "D2"}}],
                             [{{"id": "t1", "name": "T1"}}]);
    }}""")
    assert got["source"] == "planner"
    assert [(d["id"], d["name"], d["eta_s"], d["at_risk"]) for d in got["drones"]] == [
        ("d2", "D2", 140.0, False), ("d1", "D1", 200.0, True)]  # the infeasible d3 is left out
    assert got["teams"] == [{"id": "t1", "name": "T1", "distance_m": 700.0}]  # busy t2 is left out
