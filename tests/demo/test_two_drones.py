"""Two drones patrolling one street with the shipped detector, posting to a real service with
merging on: one event per placed violation, with sightings from both drones.

The drones pass over each stall from opposite sides of the street, headings opposed, so each
renders its own frame of it and georeferences it from its own pose; whatever the detector finds
becomes a candidate of that drone. Without merging in the service, each stall would be two
alerts (as it was before one violation, one event).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.auth import create_token
from api.core.settings import Settings
from api.demo.camera import PatrolCameras
from api.demo.scenario import Scenario
from tests.api.conftest import TEST_SECRET, ManualClock, seed_fleet

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
NEAR_M = 10.0  # an event this close to a placed violation is of it


def _bearer(user: str, role: str) -> dict[str, str]:
    # Made when the test runs, not at import: a CI run collects this module twenty minutes
    # before it runs it, and a 10-minute token made then has expired by the time it is sent.
    return {"Authorization": f"Bearer {create_token(user, role, secret=TEST_SECRET, ttl_s=600)}"}


class Drone:
    def __init__(self, frame, east: float, north: float, heading_deg: float) -> None:
        lat, lon = frame.to_wgs84(east, north)
        self.state = SimpleNamespace(mode="AUTO", alt_rel_m=60.0, lat=float(lat), lon=float(lon),
                                     east_m=east, north_m=north, heading_deg=heading_deg)


def test_two_drones_over_one_street_make_one_event_per_stall(tmp_path: Path) -> None:
    scenario = Scenario(seed=7, duration_s=600, zone_ids=["com-gushan"], incidents=3,
                        present_share=1.0)
    clock = {"s": 0.0}
    scenario.start(lambda: clock["s"])
    clock["s"] = max(i.appear_s for i in scenario.incidents) + 1.0
    frame = scenario.town.frame
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'f.db'}",
                        data_dir=tmp_path, secret_key=TEST_SECRET, merge_radius_m=15.0)
    app = create_app(settings, clock=ManualClock(NOW))
    DET, OP = _bearer("det", "detector"), _bearer("op", "operator")
    with TestClient(app) as client:
        seed_fleet(app.state.engine)

        def post(candidates: list) -> int:
            codes = [client.post("/api/v1/candidates", json=c.to_json(), headers=DET).status_code
                     for c in candidates]
            assert set(codes) <= {200, 201}, codes
            return len(codes)

        # Each drone is its own detection worker (its own pipeline, as two `flyonce detect`
        # processes would be): what one has seen, the other's worker does not know.
        for inc in scenario.incidents:
            for drone_id, drone in (
                    ("drone-1", Drone(frame, inc.east_m + 6.0, inc.north_m + 3.0, 75.0)),
                    ("drone-2", Drone(frame, inc.east_m - 5.0, inc.north_m - 4.0, 255.0))):
                cams = PatrolCameras(scenario, [(drone_id, drone)], now=lambda: NOW, post=post,
                                     patrol_alt_m=60.0, post_check=lambda *_: None)
                assert cams.step() is True
        events = client.get("/api/v1/events", headers=OP).json()["items"]
        found: dict[int, dict] = {}
        for e in events:
            east, north = frame.to_local(e["lat"], e["lon"])
            nearest = min(scenario.incidents,
                          key=lambda i: math.hypot(i.east_m - east, i.north_m - north))
            assert math.hypot(nearest.east_m - east, nearest.north_m - north) <= NEAR_M, e
            assert nearest.object_id not in found, "two events for one stall"
            found[nearest.object_id] = e
        assert len(found) == len(scenario.incidents), "a stall the detector never reported"
        for object_id, e in found.items():
            looks = client.get(f"/api/v1/events/{e['id']}/sightings", headers=OP).json()
            assert {s["drone_id"] for s in looks} == {"drone-1", "drone-2"}, (object_id, looks)
            assert e["candidates"] == len(looks) >= 2
