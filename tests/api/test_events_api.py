"""The lifecycle through HTTP: ingest to evaluation, timelines, filters and bad input."""

from __future__ import annotations

import base64
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.api.conftest import ManualClock, candidate

# Representative points of the sample town's zones (geofence/data/sample_town.geojson).
BEIYUAN = (29.506766, 120.904641)  # residential: target 180 s
WOFO = (29.500901, 120.882984)  # forest: 360 s
MARKET = (29.498827, 120.907735)  # permitted market: stalls allowed
ORIGIN = (29.5, 120.9)  # commercial street (240 s) inside a no-vending road (300 s)


def jpeg(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def post(client: TestClient, headers: dict, **overrides):
    return client.post("/api/v1/candidates", json=candidate(**overrides), headers=headers)


def test_full_loop_times_and_timeline(client: TestClient, headers: dict, clock: ManualClock) -> None:
    lat, lon = BEIYUAN
    created = post(client, headers["det"], lat=lat, lon=lon,
                   snapshot_jpeg_b64=base64.b64encode(jpeg()).decode())
    assert created.status_code == 201, created.text
    event = client.get(f"/api/v1/events/{created.json()['id']}", headers=headers["op"]).json()
    assert (event["state"], event["zone_kind"], event["target_s"]) == ("alerted", "residential", 180)
    eid = event["id"]
    clock.advance(20)
    r = client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=headers["op"])
    assert r.json()["state"] == "confirmed"
    clock.advance(10)
    r = client.post(f"/api/v1/events/{eid}/assign", json={"drone_id": "d1", "team_id": "t1", "eta_s": 140},
                    headers=headers["op"])
    assert r.status_code == 200, r.text
    assert {t["kind"] for t in r.json()["tasks"]} == {"drone", "team"}
    clock.advance(120)  # on scene 150 s after the alert: inside the 180 s residential target
    r = client.post(f"/api/v1/events/{eid}/on-scene", headers=headers["op"])
    assert r.json()["state"] == "on_scene"
    clock.advance(600)
    r = client.post(f"/api/v1/events/{eid}/resolve", data={"disposition": "removed", "note": "cleared"},
                    files={"photo": ("after.jpg", jpeg(color=(0, 90, 0)), "image/jpeg")},
                    headers=headers["tm1"])
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["state"] == "evaluated"  # auto_evaluate freezes the figures at once
    assert detail["response_time_s"] == pytest.approx(150.0)
    assert detail["within_target"] is True
    assert detail["time_to_resolve_s"] == pytest.approx(750.0)
    steps = [(row["from_state"], row["to_state"]) for row in detail["timeline"]]
    # The confirmation's second row is no transition: the offence decision (api/lifecycle/offences.py).
    assert steps == [(None, "detected"), ("detected", "alerted"), ("alerted", "confirmed"),
                     ("confirmed", "confirmed"), ("confirmed", "assigned"), ("assigned", "on_scene"),
                     ("on_scene", "resolved"), ("resolved", "evaluated")]
    assert [row["actor"] for row in detail["timeline"]][2:7] == ["op", "system", "op", "op", "tm1"]
    assert sorted(e["kind"] for e in detail["evidence"]) == ["resolution", "snapshot"]
    photo = client.get(detail["evidence"][0]["url"], headers=headers["eva"])
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"


def test_late_arrival_misses_the_forest_target(client: TestClient, headers: dict, clock: ManualClock) -> None:
    eid = post(client, headers["op"], lat=WOFO[0], lon=WOFO[1], type="mobile_fuel_sale").json()["id"]
    client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=headers["op"])
    client.post(f"/api/v1/events/{eid}/assign", json={"drone_id": "d2", "at_risk": True, "eta_s": 400},
                headers=headers["op"])
    clock.advance(361)  # one second past the forest's 6 minutes
    client.post(f"/api/v1/events/{eid}/on-scene", headers=headers["op"])
    r = client.post(f"/api/v1/events/{eid}/resolve", data={"disposition": "penalised"}, headers=headers["op"])
    body = r.json()
    assert (body["target_s"], body["response_time_s"], body["within_target"], body["at_risk"]) == (360, 361, False, True)


def test_strictest_zone_sets_the_target(client: TestClient, headers: dict) -> None:
    body = post(client, headers["op"], lat=ORIGIN[0], lon=ORIGIN[1]).json()
    assert (body["zone_kind"], body["target_s"]) == ("commercial", 240)


@pytest.mark.parametrize(("etype", "expected"), [("street_stall", "rejected"), ("mobile_fuel_sale", "alerted")])
def test_market_zone_permits_stalls_only(client: TestClient, headers: dict, etype: str, expected: str) -> None:
    body = post(client, headers["op"], lat=MARKET[0], lon=MARKET[1], type=etype).json()
    assert body["state"] == expected


def test_retried_post_returns_the_same_event(client: TestClient, headers: dict) -> None:
    body = candidate(source_event_id="same-finding")
    first = client.post("/api/v1/candidates", json=body, headers=headers["det"])
    second = client.post("/api/v1/candidates", json=body, headers=headers["det"])
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    listed = client.get("/api/v1/events", headers=headers["op"]).json()
    assert listed["total"] == 1


def test_illegal_transition_is_409_and_names_the_allowed_states(client: TestClient, headers: dict) -> None:
    eid = post(client, headers["op"]).json()["id"]
    r = client.post(f"/api/v1/events/{eid}/resolve", data={"disposition": "removed"}, headers=headers["op"])
    assert r.status_code == 409
    assert r.json()["allowed_next"] == ["confirmed", "rejected"]
    assert "allowed next states: confirmed, rejected" in r.json()["detail"]
    detail = client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()
    assert detail["state"] == "alerted" and len(detail["timeline"]) == 2


def test_reject_needs_a_reason_and_goes_to_evaluation(client: TestClient, headers: dict) -> None:
    eid = post(client, headers["op"]).json()["id"]
    r = client.post(f"/api/v1/events/{eid}/review", json={"decision": "reject"}, headers=headers["op"])
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = client.post(f"/api/v1/events/{eid}/review", json={"decision": "reject", "reason": "a parked van"},
                    headers=headers["op"])
    assert r.json()["state"] == "rejected" and r.json()["allowed_next"] == ["evaluated"]
    r = client.post(f"/api/v1/events/{eid}/evaluate", headers=headers["op"])
    assert r.json()["state"] == "evaluated" and r.json()["response_time_s"] is None


BAD_CANDIDATES = [
    ({"lat": 91.0}, "lat"),
    ({"lon": -180.5}, "lon"),
    ({"type": "parking"}, "type"),
    ({"confidence": 1.5}, "confidence"),
    ({"detected_at": "2026-11-25T08:00:00"}, "detected_at"),  # no timezone
    ({"snapshot_jpeg_b64": "not base64!"}, "base64"),
    ({"source_event_id": ""}, "source_event_id"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("override", "mentions"), BAD_CANDIDATES, ids=[m for _, m in BAD_CANDIDATES])
def test_bad_candidates_are_refused_with_a_message(client: TestClient, headers: dict, override: dict,
                                                   mentions: str) -> None:
    r = post(client, headers["det"], **override)
    assert r.status_code == 422
    assert mentions in r.json()["detail"]
    assert client.get("/api/v1/events", headers=headers["op"]).json()["total"] == 0


def test_malformed_json_is_422(client: TestClient, headers: dict) -> None:
    r = client.post("/api/v1/candidates", content=b'{"lat": 29.5,', headers={
        **headers["det"], "Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


def test_snapshot_that_is_not_an_image_stores_nothing(client: TestClient, headers: dict) -> None:
    r = post(client, headers["det"], snapshot_jpeg_b64=base64.b64encode(b"GIF89a-but-not-really").decode())
    assert r.status_code == 422 and "not a readable image" in r.json()["detail"]
    assert client.get("/api/v1/events", headers=headers["op"]).json()["total"] == 0


@pytest.mark.parametrize(("payload", "mentions"), [
    (b"plain text, not a photo", "not a readable image"),
    (None, "limit"),  # an oversized image: 200 kB limit in the test settings
    (b"", "empty"),
])
def test_bad_resolution_photo_changes_nothing(client: TestClient, headers: dict, payload: bytes | None,
                                              mentions: str) -> None:
    eid = post(client, headers["op"]).json()["id"]
    for step, body in (("review", {"decision": "confirm"}), ("assign", {"team_id": "t1"})):
        client.post(f"/api/v1/events/{eid}/{step}", json=body, headers=headers["op"])
    client.post(f"/api/v1/events/{eid}/on-scene", headers=headers["tm1"])
    if payload is None:
        payload = Image.effect_noise((600, 600), 80).convert("RGB")
        buf = io.BytesIO()
        payload.save(buf, format="PNG")
        payload = buf.getvalue()
        assert len(payload) > 200_000
    r = client.post(f"/api/v1/events/{eid}/resolve", data={"disposition": "removed"},
                    files={"photo": ("x.jpg", payload, "image/jpeg")}, headers=headers["tm1"])
    assert r.status_code == 422 and mentions in r.json()["detail"]
    assert client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()["state"] == "on_scene"


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/events/9999"),
    ("post", "/api/v1/events/9999/review"),
    ("get", "/api/v1/evidence/9999"),
])
def test_unknown_ids_are_404(client: TestClient, headers: dict, method: str, path: str) -> None:
    kwargs = {"json": {"decision": "confirm"}} if method == "post" else {}
    r = getattr(client, method)(path, headers=headers["op"], **kwargs)
    assert r.status_code == 404 and "9999" in r.json()["detail"]


def test_assign_to_unknown_drone_is_404_and_keeps_state(client: TestClient, headers: dict) -> None:
    eid = post(client, headers["op"]).json()["id"]
    client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=headers["op"])
    r = client.post(f"/api/v1/events/{eid}/assign", json={"drone_id": "ghost"}, headers=headers["op"])
    assert r.status_code == 404 and "ghost" in r.json()["detail"]
    assert client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()["state"] == "confirmed"


def test_filters(client: TestClient, headers: dict, clock: ManualClock) -> None:
    post(client, headers["op"], lat=BEIYUAN[0], lon=BEIYUAN[1], type="street_stall")
    clock.advance(3600)
    post(client, headers["op"], lat=WOFO[0], lon=WOFO[1], type="mobile_fuel_sale")
    late = clock.now().isoformat()

    def total(**params) -> int:
        r = client.get("/api/v1/events", params=params, headers=headers["op"])
        assert r.status_code == 200, r.text
        return r.json()["total"]

    assert total() == 2
    assert total(type="mobile_fuel_sale") == 1
    assert total(zone_kind="residential") == 1
    assert total(state="alerted") == 2 and total(state="confirmed") == 0
    assert total(since=late) == 1
    # A box around the forest only: the forest point is ~2.1 km west of Beiyuan.
    assert total(bbox="120.87,29.49,120.89,29.51") == 1
    r = client.get("/api/v1/events", params={"bbox": "1,2,3"}, headers=headers["op"])
    assert r.status_code == 422 and "four numbers" in r.json()["detail"]
    r = client.get("/api/v1/events", params={"since": "2026-11-25T08:00:00"}, headers=headers["op"])
    assert r.status_code == 422 and "timezone" in r.json()["detail"]


def test_summary_figures(client: TestClient, headers: dict, clock: ManualClock) -> None:
    # Two confirmed residential events reached in 100 s and 200 s, one operator rejection.
    for wait in (100, 200):
        eid = post(client, headers["op"], lat=BEIYUAN[0], lon=BEIYUAN[1]).json()["id"]
        client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=headers["op"])
        client.post(f"/api/v1/events/{eid}/assign", json={"drone_id": "d1"}, headers=headers["op"])
        clock.advance(wait)
        client.post(f"/api/v1/events/{eid}/on-scene", headers=headers["op"])
    eid = post(client, headers["op"]).json()["id"]
    client.post(f"/api/v1/events/{eid}/review", json={"decision": "reject", "reason": "shadow"},
                headers=headers["op"])
    s = client.get("/api/v1/metrics/summary", headers=headers["eva"]).json()
    assert (s["events"], s["reviewed"], s["confirmed"]) == (3, 3, 2)
    assert s["review_precision"] == pytest.approx(2 / 3)
    assert (s["reached"], s["within_target"]) == (2, 1)  # 200 s misses the 180 s target
    assert s["response_time_p50_s"] == pytest.approx(150.0)
    assert s["within_target_share_by_zone_kind"] == {"residential": 0.5}
