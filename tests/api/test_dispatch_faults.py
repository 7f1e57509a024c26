"""The service when the drone on an event loses its link: the audit trail says why another drone
went, and that the first was recalled once it was heard again (real copters over TCP, 10x).

Beiyuan is 964 m from the northeast dock, 1766 m from the west dock (tests/dispatch).
"""

from __future__ import annotations

import pytest

from tests.api.conftest import candidate, wait_for
from tests.api.test_dispatch import bearer, flying_client  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow  # real copters over TCP, 10-40 wall s each

BEIYUAN = (29.5068, 120.9046)


# One backend: what this test is about (the dispatcher and the drones) does not depend on the
# database; the lifecycle, claims and races are tested on both (CI time, issue 33's budget).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_lost_drone_is_replaced_and_recalled_and_the_audit_says_so(flying_client):  # noqa: F811
    client, fleet = flying_client
    op = bearer("op")
    wait_for(lambda: client.get("/api/v1/dispatch/drones", headers=op).json(),
             lambda ds: len(ds) == 3 and all(d["available"] for d in ds), 20)
    event_id = client.post("/api/v1/candidates", json=candidate(lat=BEIYUAN[0], lon=BEIYUAN[1]),
                           headers=bearer("det")).json()["id"]
    assert client.post(f"/api/v1/events/{event_id}/review", json={"decision": "confirm"},
                       headers=op).status_code == 200
    northeast = fleet.vehicles[1]
    wait_for(lambda: northeast.state.alt_rel_m, lambda alt: alt > 10, 30)  # on its way
    northeast.drop_link(30.0)  # 3 wall s at 10x
    detail = wait_for(lambda: client.get(f"/api/v1/events/{event_id}", headers=op).json(),
                      lambda e: e["state"] == "on_scene", 60)
    reasons = wait_for(
        lambda: [r["reason"] or "" for r in
                 client.get(f"/api/v1/events/{event_id}/audit", headers=op).json()],
        lambda rs: any("recalled" in r for r in rs), 30)
    replaced = [r for r in reasons if r.startswith("drone replaced")]
    assert len(replaced) == 1 and "dock-northeast" in replaced[0]
    assert "no heartbeat" in replaced[0] and "sending dock-west" in replaced[0]
    [recalled] = [r for r in reasons if "recalled" in r]
    assert recalled.startswith("drone dock-northeast recalled") and "returning to launch" in recalled
    assert "MAV_CMD_NAV_RETURN_TO_LAUNCH" in recalled
    wait_for(lambda: northeast.state.mode, lambda m: m == "RTL", 5)
    tasks = {(t["drone_id"], t["state"]) for t in detail["tasks"] if t["kind"] == "drone"}
    assert tasks == {("dock-northeast", "cancelled"), ("dock-west", "on_scene")}
