"""Task codes in Debian's Chromium against a real server: the team's phone shows a QR that scans
to the public page, the public page opens without a login and takes feedback, and the audit
trail shows the view and the feedback."""

from __future__ import annotations

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.api.conftest import candidate
from tests.web.conftest import DESK, PHONE, WebServer, open_page

# Inside the sample town's Dongyuan residential block.
LAT, LON = 29.50271, 120.91186


@pytest.fixture(scope="module")
def task(http: httpx.Client, auth: dict) -> dict:
    """A real team task: a stall detected, confirmed and given to team t1."""
    eid = http.post("/api/v1/candidates", json=candidate(lat=LAT, lon=LON),
                    headers=auth["det"]).json()["id"]
    assert http.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"},
                     headers=auth["op"]).status_code == 200
    assert http.post(f"/api/v1/events/{eid}/assign", json={"team_id": "t1"},
                     headers=auth["op"]).status_code == 200
    return next(t for t in http.get("/api/v1/tasks", headers=auth["op"]).json() if t["event_id"] == eid)


def _audit(http: httpx.Client, auth: dict, event_id: int) -> list[dict]:
    return http.get(f"/api/v1/events/{event_id}/audit", headers=auth["op"]).json()


def test_the_team_phone_shows_a_qr_that_scans_to_the_public_page(browser, server: WebServer,
                                                                 task: dict) -> None:
    page = open_page(browser, server, "/ui/team", user="tm1", viewport=PHONE, device_scale_factor=2)
    qr = page.locator(f'img[data-qr="{task["id"]}"]')
    qr.wait_for()
    page.wait_for_function(f'document.querySelector(\'img[data-qr="{task["id"]}"]\').naturalWidth > 0')
    image = cv2.imdecode(np.frombuffer(qr.screenshot(), np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert text == f"{server.url}/c/{task['code']}"
    link = page.locator(f'article[data-task="{task["id"]}"] a[data-code-link]')
    assert link.get_attribute("href") == f"/c/{task['code']}"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.script_errors == []
    page.context.close()


def test_the_event_page_links_the_code_page(browser, server: WebServer, task: dict) -> None:
    page = open_page(browser, server, f"/ui/event?id={task['event_id']}", user="op", viewport=DESK)
    link = page.locator("#tasks a[data-code-link]")
    link.wait_for()
    assert link.get_attribute("href") == f"/c/{task['code']}"
    page.context.close()


def test_the_public_page_takes_feedback_and_the_audit_trail_shows_it(
        browser, server: WebServer, http: httpx.Client, auth: dict, task: dict) -> None:
    page = open_page(browser, server, f"/c/{task['code']}", user=None, viewport=PHONE)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    expect(page.locator("#team")).to_have_text("T1")
    expect(page.locator("#department")).to_have_text("城管执法")
    expect(page.locator("#checked")).to_contain_text("占道经营")
    expect(page.locator("#place")).to_contain_text("Dongyuan residential block")
    expect(page.locator("#result")).to_contain_text("已派员，处理中")
    assert "tm1" not in page.content()  # no username of the team's members
    views = [a for a in _audit(http, auth, task["event_id"])
             if a["actor"] == "public" and a["reason"].startswith("task code viewed")]
    assert len(views) == 1

    # Sending without a rating is explained, and nothing is sent.
    page.click("#send")
    expect(page.locator("#feedback-status")).to_contain_text("Please choose a rating")
    assert not [a for a in _audit(http, auth, task["event_id"]) if (a["reason"] or "").startswith("feedback")]

    page.get_by_label("4", exact=True).check()
    page.fill("#comment", "来得很快，态度很好")
    page.click("#send")
    expect(page.locator("#feedback-status")).to_contain_text("Thank you")
    expect(page.locator("#comment")).to_be_disabled()
    rows = [a for a in _audit(http, auth, task["event_id"]) if (a["reason"] or "").startswith("feedback")]
    assert [(r["actor"], r["reason"], r["from_state"], r["to_state"]) for r in rows] == \
        [("public", "feedback 4/5: 来得很快，态度很好", "assigned", "assigned")]
    assert page.script_errors == [] and errors == []
    page.context.close()

    # Staff see it in the event's timeline.
    page = open_page(browser, server, f"/ui/event?id={task['event_id']}", user="op", viewport=DESK)
    expect(page.locator("#timeline tbody tr").filter(has_text="feedback 4/5")).to_contain_text("public")
    page.context.close()


def test_an_unknown_code_opens_a_page_that_says_it_is_not_valid(browser, server: WebServer,
                                                                 task: dict) -> None:
    context = browser.new_context(viewport=PHONE, base_url=server.url)
    page = context.new_page()
    near = task["code"][:-1] + ("B" if task["code"][-1] != "B" else "C")
    response = page.goto(f"/c/{near}")
    assert response.status == 404
    expect(page.locator("#invalid")).to_contain_text("This task code is not valid")
    assert page.locator("#feedback").count() == 0
    context.close()
