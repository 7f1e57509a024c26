"""In a real Chromium: an operator redraws the detector's box on an event's snapshot, changes
its class, confirms, and the verdict is stored as a labelled sample with that box; the
evaluator's page then shows the detector version's precision."""

from __future__ import annotations

import base64
import io
import uuid

from PIL import Image

from tests.web.conftest import open_page

SNAPSHOT_WH = (400, 300)
DETECTOR_BOX = [40.0, 40.0, 100.0, 90.0]


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", SNAPSHOT_WH, (90, 110, 100)).save(buf, format="JPEG")
    return buf.getvalue()


def _post(http, auth, **extra) -> int:
    body = {"source": "detector:drone-9", "source_event_id": uuid.uuid4().hex,
            "type": "street_stall", "lat": 29.4, "lon": 120.7, "confidence": 0.7,
            "snapshot_jpeg_b64": base64.b64encode(_jpeg()).decode(),
            "box_xyxy": DETECTOR_BOX, "model_version": "a1b2c3d4e5f6", **extra}
    r = http.post("/api/v1/candidates", json=body, headers=auth["det"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_operator_redraws_the_box_changes_the_class_and_confirms(browser, server, http, auth):
    event_id = _post(http, auth)
    page = open_page(browser, server, f"/ui/event?id={event_id}", user="op")
    try:
        frame = page.locator("#review-box .snapbox-frame")
        frame.wait_for()
        img = page.locator("#review-box img")
        page.wait_for_function("document.querySelector('#review-box img').naturalWidth > 0")
        shown = img.bounding_box()
        scale = SNAPSHOT_WH[0] / shown["width"]  # snapshot px per CSS px
        # the detector's box is drawn where it said, in the snapshot's own pixels
        assert page.locator("#review-box .snapbox").get_attribute("data-box") == \
            ",".join(f"{v:.1f}" for v in DETECTOR_BOX)
        # drag from (200, 120) to (280, 200) in snapshot px
        start = (shown["x"] + 200 / scale, shown["y"] + 120 / scale)
        end = (shown["x"] + 280 / scale, shown["y"] + 200 / scale)
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        page.mouse.move(*end)
        page.mouse.up()
        page.select_option("#review-type", "mobile_fuel_sale")
        page.click('#ops-actions [data-action="confirm"]')
        page.locator("#event-state").filter(has_text="onfirmed").wait_for()
        assert page.script_errors == []
    finally:
        page.context.close()

    samples = http.get("/api/v1/reviews/samples", headers=auth["eva"]).json()
    sample = next(s for s in samples if s["event_id"] == event_id)
    assert sample["verdict"] == "confirm"
    assert (sample["type"], sample["detected_type"]) == ("mobile_fuel_sale", "street_stall")
    assert sample["detected_box_xyxy"] == DETECTOR_BOX
    # the drag's ends, within a pixel of rounding between CSS and snapshot pixels
    for got, want in zip(sample["box_xyxy"], [200, 120, 280, 200]):
        assert abs(got - want) <= 1.5, sample["box_xyxy"]
    assert sample["corrected"] is True and sample["model_version"] == "a1b2c3d4e5f6"
    event = http.get(f"/api/v1/events/{event_id}", headers=auth["op"]).json()
    assert event["type"] == "mobile_fuel_sale"


def test_one_click_confirm_keeps_the_detectors_box(browser, server, http, auth):
    event_id = _post(http, auth, model_version="0f0f0f0f0f0f")
    page = open_page(browser, server, f"/ui/event?id={event_id}", user="op")
    try:
        page.locator("#review-box .snapbox-frame").wait_for()
        page.click('#ops-actions [data-action="confirm"]')
        page.locator("#event-state").filter(has_text="onfirmed").wait_for()
    finally:
        page.context.close()
    sample = next(s for s in http.get("/api/v1/reviews/samples", headers=auth["eva"]).json()
                  if s["event_id"] == event_id)
    assert (sample["box_xyxy"], sample["type"], sample["corrected"]) == (
        DETECTOR_BOX, "street_stall", False)

    page = open_page(browser, server, "/ui/evaluate", user="eva")
    try:
        row = page.locator('#model-precision tr[data-version="0f0f0f0f0f0f"]')
        row.wait_for()
        # one event of that version, confirmed: 1 / (1 + 0)
        assert row.locator('[data-role="precision"]').inner_text() == "100%"
    finally:
        page.context.close()
