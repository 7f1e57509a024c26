"""The service flying a mixed fleet: MAVLink copters and a DJI dock (Cloud API over Mosquitto).

A fleet file names a copter at the west dock (``tcp:…``) and a DJI dock at the northeast
(``dji+mqtt://127.0.0.1:1883/{gateway_sn}``). An event in the Beiyuan block (964 m from the
northeast dock, 1766 m from the west one; tests/dispatch/test_mixed_fleet.py has the ETAs by
hand: 115 s against 162 s) goes to the DJI dock, and the audit trail says over which protocol
and with which method.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.settings import Settings
from geofence import sample_town
from simulators.clock import SimClock
from simulators.fleet import Fleet
from tests.api.conftest import TEST_SECRET, candidate, seed_fleet, wait_for
from tests.api.test_dispatch import bearer
from tests.simulators.dji_cloud import require_broker

TOWN = sample_town()
WEST, NORTHEAST, _ = TOWN.docks
BEIYUAN = (29.5068, 120.9046)


@pytest.fixture
def mixed_client(db_url: str, tmp_path: Path):
    require_broker()
    fleet = Fleet.start([WEST], clock=SimClock(10.0), base_tcp_port=0, dji_docks=[NORTHEAST])
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(
        f'[[drone]]\nid = "copter-west"\nurl = "{fleet.vehicles[0].endpoint}"\n'
        f'dock = [{WEST.lat}, {WEST.lon}]\n\n'
        f'[[drone]]\nid = "dji-northeast"\nurl = "{fleet.docks[0].url}"\n'
        f'dock = [{NORTHEAST.lat}, {NORTHEAST.lon}]\n')
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path,
                        secret_key=TEST_SECRET, fleet_file=fleet_file, auto_assign=True,
                        drone_state_period_s=0.1, fleet_connect_timeout_s=5)
    app = create_app(settings, clock=fleet.clock)
    try:
        with TestClient(app) as client:
            seed_fleet(app.state.engine)
            yield client, fleet
    finally:
        fleet.stop()


# One backend: what this test is about (the dispatcher and the drones) does not depend on the
# database; the lifecycle, claims and races are tested on both (CI time, issue 33's budget).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_confirmed_event_goes_to_the_dji_dock_and_the_audit_names_protocol_and_method(
        mixed_client):
    client, fleet = mixed_client
    drones = wait_for(lambda: client.get("/api/v1/dispatch/drones", headers=bearer("op")).json(),
                      lambda ds: len(ds) == 2 and all(d["available"] for d in ds), 20)
    assert {d["id"]: d["protocol"] for d in drones} == {"copter-west": "mavlink",
                                                        "dji-northeast": "dji"}
    created = client.post("/api/v1/candidates", json=candidate(lat=BEIYUAN[0], lon=BEIYUAN[1]),
                          headers=bearer("det"))
    event_id = created.json()["id"]
    review = client.post(f"/api/v1/events/{event_id}/review", json={"decision": "confirm"},
                         headers=bearer("op"))
    assert review.status_code == 200, review.text
    detail = wait_for(lambda: client.get(f"/api/v1/events/{event_id}", headers=bearer("op")).json(),
                      lambda e: e["state"] == "on_scene", 40)
    tasks = {t["kind"]: t for t in detail["tasks"]}
    assert tasks["drone"]["drone_id"] == "dji-northeast"
    audit = client.get(f"/api/v1/events/{event_id}/audit", headers=bearer("op")).json()
    reasons = [row["reason"] or "" for row in audit]
    assert any("over dji: flight_authority_grab" in r for r in reasons), reasons
    assert any("over dji: takeoff_to_point" in r for r in reasons), reasons
    assert fleet.docks[0].osd["drone_in_dock"] == 0  # it is out there, holding the scene
