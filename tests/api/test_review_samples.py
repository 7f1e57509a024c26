"""Every operator verdict on an event with a snapshot is kept as a labelled sample, and the
detector's precision is counted per model version."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.api.conftest import candidate

BOX = [10.0, 20.0, 50.0, 60.0]


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (160, 120), (120, 90, 60)).save(buf, format="JPEG")
    return buf.getvalue()


def post(client, headers, **kw) -> int:
    body = candidate(**{"snapshot_jpeg_b64": base64.b64encode(jpeg()).decode(), "box_xyxy": BOX,
                        "model_version": "aaaaaaaaaaaa", **kw})
    r = client.post("/api/v1/candidates", json=body, headers=headers["det"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def review(client, headers, event_id: int, **body) -> dict:
    r = client.post(f"/api/v1/events/{event_id}/review", json=body, headers=headers["op"])
    assert r.status_code == 200, r.text
    return r.json()


def samples(client, headers) -> dict[int, dict]:
    r = client.get("/api/v1/reviews/samples", headers=headers["eva"])
    assert r.status_code == 200, r.text
    return {s["event_id"]: s for s in r.json()}


def test_confirm_reject_and_corrections_become_samples(client, headers) -> None:
    plain, moved, retyped, rejected = (post(client, headers) for _ in range(4))
    review(client, headers, plain, decision="confirm")
    review(client, headers, moved, decision="confirm", box_xyxy=[12, 22, 58, 70])
    out = review(client, headers, retyped, decision="confirm", type="mobile_fuel_sale")
    assert out["type"] == "mobile_fuel_sale"  # the event takes the operator's class
    review(client, headers, rejected, decision="reject", reason="a parked van")
    got = samples(client, headers)
    assert [(got[e]["verdict"], got[e]["type"], got[e]["detected_type"], got[e]["box_xyxy"],
             got[e]["corrected"]) for e in (plain, moved, retyped, rejected)] == [
        ("confirm", "street_stall", "street_stall", BOX, False),
        ("confirm", "street_stall", "street_stall", [12.0, 22.0, 58.0, 70.0], True),
        ("confirm", "mobile_fuel_sale", "street_stall", BOX, True),
        ("reject", "street_stall", "street_stall", BOX, False),
    ]
    assert {s["model_version"] for s in got.values()} == {"aaaaaaaaaaaa"}
    assert all(s["detected_box_xyxy"] == BOX for s in got.values())
    # the sample's snapshot is the event's evidence image
    r = client.get(got[plain]["snapshot_url"], headers=headers["eva"])
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    audit = client.get(f"/api/v1/events/{retyped}/audit", headers=headers["op"]).json()
    confirmed = next(a for a in audit if a["to_state"] == "confirmed")
    assert confirmed["reason"] == "class corrected: street_stall → mobile_fuel_sale"


def test_no_snapshot_no_sample(client, headers) -> None:
    r = client.post("/api/v1/candidates", json=candidate(box_xyxy=BOX), headers=headers["det"])
    review(client, headers, r.json()["id"], decision="confirm")
    assert samples(client, headers) == {}


@pytest.mark.parametrize("body,message", [
    ({"decision": "reject", "reason": "van", "type": "mobile_fuel_sale"}, "only when confirming"),
    ({"decision": "confirm", "box_xyxy": [50, 20, 10, 60]}, "x1 < x2"),
    ({"decision": "confirm", "type": "parking"}, "street_stall"),
])
def test_bad_corrections_are_refused_and_change_nothing(client, headers, body, message) -> None:
    event_id = post(client, headers)
    r = client.post(f"/api/v1/events/{event_id}/review", json=body, headers=headers["op"])
    assert r.status_code == 422 and message in r.text
    assert client.get(f"/api/v1/events/{event_id}", headers=headers["op"]).json()["state"] == "alerted"
    assert samples(client, headers) == {}


def test_a_refused_review_keeps_no_sample(client, headers) -> None:
    event_id = post(client, headers)
    review(client, headers, event_id, decision="confirm")
    r = client.post(f"/api/v1/events/{event_id}/review",
                    json={"decision": "confirm", "type": "mobile_fuel_sale"}, headers=headers["op"])
    assert r.status_code == 409
    assert len(samples(client, headers)) == 1
    assert client.get(f"/api/v1/events/{event_id}", headers=headers["op"]).json()["type"] == \
        "street_stall"


def test_precision_by_model_version(client, headers) -> None:
    # version a: 3 confirmed, 1 rejected -> 0.75; version b: 1 rejected -> 0.0; one unreviewed
    a = [post(client, headers) for _ in range(4)]
    b = post(client, headers, model_version="bbbbbbbbbbbb")
    post(client, headers, model_version="bbbbbbbbbbbb")
    for e in a[:3]:
        review(client, headers, e, decision="confirm")
    review(client, headers, a[3], decision="reject", reason="shadow")
    review(client, headers, b, decision="reject", reason="umbrella")
    rows = {r["model_version"]: r for r in
            client.get("/api/v1/detection/models", headers=headers["eva"]).json()}
    assert (rows["aaaaaaaaaaaa"]["confirmed"], rows["aaaaaaaaaaaa"]["rejected"],
            rows["aaaaaaaaaaaa"]["precision"]) == (3, 1, 0.75)
    assert (rows["bbbbbbbbbbbb"]["events"], rows["bbbbbbbbbbbb"]["rejected"],
            rows["bbbbbbbbbbbb"]["precision"]) == (2, 1, 0.0)


def test_the_detector_cannot_read_samples(client, headers) -> None:
    assert client.get("/api/v1/reviews/samples", headers=headers["det"]).status_code == 403
    assert client.get("/api/v1/detection/models", headers=headers["tm1"]).status_code == 403
