"""Roles, language, triage by keyboard, the map's layers, CSV export and a lost connection,
in Debian's Chromium against a real server."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.api.conftest import DEMO_PASSWORD, candidate
from tests.web.conftest import DESK, PHONE, WebServer, open_page

EVALUATE_CSV_COLUMNS = 24  # evaluate.js CSV_COLUMNS


@pytest.mark.parametrize(("user", "home", "nav"), [
    ("op", "/ui/console", ["Console", "Evaluation", "Sites"]),
    ("adm", "/ui/console", ["Console", "Evaluation", "Sites"]),
    ("eva", "/ui/evaluate", ["Evaluation", "Sites"]),
    ("tm1", "/ui/team", ["My tasks"]),
])
def test_login_lands_on_the_roles_page_with_only_its_links(browser, server: WebServer, user: str,
                                                           home: str, nav: list[str]) -> None:
    page = open_page(browser, server, "/ui/", user=None)
    page.fill("#username", user)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-btn")
    page.wait_for_url(f"**{home}")
    expect(page.locator("header.top nav a")).to_have_text(nav)
    page.context.close()


@pytest.mark.parametrize(("user", "path"), [
    ("tm1", "/ui/console"), ("eva", "/ui/console"), ("tm1", "/ui/evaluate"), ("op", "/ui/team"),
])
def test_a_page_outside_the_role_says_so(browser, server: WebServer, user: str, path: str) -> None:
    page = open_page(browser, server, path, user=user)
    message = page.locator("#forbidden")
    message.wait_for()
    assert "may not see this page" in message.inner_text()
    assert page.locator("#alerts, #task-list, #tiles").count() == 0
    page.context.close()


def test_a_wrong_password_is_explained(browser, server: WebServer) -> None:
    page = open_page(browser, server, "/ui/", user=None)
    page.fill("#username", "op")
    page.fill("#password", "not-the-password")
    page.click("#login-btn")
    page.locator("#login-error").filter(has_text="wrong").wait_for()
    assert page.locator("#login-error").inner_text() == "Login failed: wrong username or password"
    assert page.url.endswith("/ui/")
    page.context.close()


def test_the_language_switch_relabels_the_page(browser, server: WebServer) -> None:
    page = open_page(browser, server, "/ui/console", user="op", lang="en")
    title = page.locator("#alerts-title")
    expect(title).to_have_text("Alerts")  # labels arrive with the page's script
    page.click("#lang")
    assert (title.inner_text(), page.locator("header nav a").first.inner_text()) == ("告警", "指挥台")
    page.reload()  # the choice is remembered
    expect(page.locator("#alerts-title")).to_have_text("告警")
    page.click("#lang")
    assert title.inner_text() == "Alerts"
    page.context.close()


def test_reject_by_keyboard_needs_and_keeps_a_reason(browser, server: WebServer, http: httpx.Client,
                                                     auth: dict) -> None:
    page = open_page(browser, server, "/ui/console", user="op")
    page.wait_for_selector('#live-status[data-state="ok"]')
    eid = http.post("/api/v1/candidates", json=candidate(lat=29.4995, lon=120.9005),
                    headers=auth["det"]).json()["id"]
    card = page.locator(f'.card[data-id="{eid}"]')
    card.click()
    page.keyboard.press("r")
    reason = card.locator('input[data-role="reason"]')
    reason.fill("a parked delivery tricycle")
    reason.press("Enter")
    card.wait_for(state="detached")
    event = http.get(f"/api/v1/events/{eid}", headers=auth["op"]).json()
    assert (event["state"], event["reject_reason"]) == ("rejected", "a parked delivery tricycle")
    page.context.close()


def test_review_from_the_map_popup(browser, server: WebServer, http: httpx.Client, auth: dict) -> None:
    page = open_page(browser, server, "/ui/console", user="op")
    page.wait_for_selector('#live-status[data-state="ok"]')
    eid = http.post("/api/v1/candidates", json=candidate(lat=29.5003, lon=120.8997),
                    headers=auth["det"]).json()["id"]
    page.locator(f"path.event-{eid}").click()
    page.locator('.leaflet-popup [data-action="map-confirm"]').click()
    page.locator(f'.card[data-id="{eid}"][data-state="confirmed"]').wait_for()
    assert http.get(f"/api/v1/events/{eid}", headers=auth["op"]).json()["state"] == "confirmed"
    # … and assigned from the map as well
    page.locator(f"path.event-{eid}").click()
    page.locator('.leaflet-popup [data-action="map-assign-best"]').click()
    page.locator(f'.card[data-id="{eid}"][data-state="assigned"]').wait_for()
    assert http.get(f"/api/v1/events/{eid}", headers=auth["op"]).json()["state"] == "assigned"
    assert page.script_errors == []
    page.context.close()


def test_the_map_draws_every_zone_and_hatches_the_no_fly_ones(browser, server: WebServer, http: httpx.Client,
                                                              auth: dict) -> None:
    zones = http.get("/api/v1/map/zones", headers=auth["op"]).json()["features"]
    no_fly = sum(1 for z in zones if z["properties"]["kind"] == "no_fly")
    page = open_page(browser, server, "/ui/console", user="op")
    page.wait_for_selector("#map path.zone")
    fills = page.eval_on_selector_all("#map path.zone", "ps => ps.map(p => p.getAttribute('fill'))")
    assert len(fills) == len(zones)  # the sample town's zones are single polygons: one path each
    assert fills.count("url(#hatch-nofly)") == no_fly
    assert page.locator("#map img.basemap").count() == 1
    page.context.close()


def test_the_evaluator_exports_the_events_as_csv(browser, server: WebServer, http: httpx.Client,
                                                 auth: dict) -> None:
    total = http.get("/api/v1/events?limit=1", headers=auth["eva"]).json()["total"]
    page = open_page(browser, server, "/ui/evaluate", user="eva")
    page.wait_for_selector('.tile[data-figure="events"]')
    with page.expect_download() as info:
        page.click("#export")
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows[0]) == EVALUATE_CSV_COLUMNS and rows[0][:3] == ["id", "type", "state"]
    assert len(rows) - 1 == total
    page.context.close()


def test_the_phone_page_fits_a_390_px_screen(browser, server: WebServer) -> None:
    page = open_page(browser, server, "/ui/team", user="tm2", viewport=PHONE)
    page.wait_for_selector("#task-list")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("document.querySelector('header.top').scrollWidth") <= PHONE["width"]
    page.context.close()


def _team_task_on_scene(http: httpx.Client, auth: dict, lat: float, lon: float) -> int:
    """A confirmed stall with team t2 assigned and checked in: its resolve form is on tm2's phone."""
    eid = http.post("/api/v1/candidates", json=candidate(lat=lat, lon=lon),
                    headers=auth["det"]).json()["id"]
    for path, body in ((f"/api/v1/events/{eid}/review", {"decision": "confirm"}),
                       (f"/api/v1/events/{eid}/assign", {"team_id": "t2", "reason": "test"})):
        r = http.post(path, json=body, headers=auth["op"])
        assert r.status_code == 200, r.text
    r = http.post(f"/api/v1/events/{eid}/on-scene", json={"reason": "team checked in"},
                  headers=auth["tm2"])
    assert r.status_code == 200, r.text
    return eid


def test_a_started_resolve_form_survives_a_live_update(browser, server: WebServer,
                                                        http: httpx.Client, auth: dict) -> None:
    # A team member picks a disposition and looks away (the select loses focus); a live update
    # (a second task for the team) redraws the list: the choice must still be there.
    first = _team_task_on_scene(http, auth, 29.4993, 120.9011)
    page = open_page(browser, server, "/ui/team", user="tm2", viewport=PHONE)
    page.wait_for_selector('#live-status[data-state="ok"]')
    form = page.locator(f'.task[data-event="{first}"] form[data-form="resolve"]')
    form.locator('select[name="disposition"]').select_option("removed")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    second = _team_task_on_scene(http, auth, 29.5011, 120.8993)
    page.locator(f'.task[data-event="{second}"]').wait_for()  # the list was redrawn
    assert form.locator('select[name="disposition"]').input_value() == "removed"
    # the new task's form is fresh, with the suggested disposition (a first offence: persuaded)
    fresh = page.locator(f'.task[data-event="{second}"] select[name="disposition"]')
    assert fresh.input_value() == "persuaded"
    assert page.script_errors == []
    page.context.close()


def test_the_phone_reports_where_the_team_is(browser, server: WebServer, http: httpx.Client,
                                             auth: dict) -> None:
    spot = {"latitude": 29.4987, "longitude": 120.9042}
    page = open_page(browser, server, "/ui/team", user="tm2", viewport=PHONE, geolocation=spot,
                     permissions=["geolocation"])
    page.wait_for_selector('#live-status[data-state="ok"]')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        team = next(t for t in http.get("/api/v1/teams", headers=auth["op"]).json() if t["id"] == "t2")
        if (team["lat"], team["lon"]) == (spot["latitude"], spot["longitude"]):
            break
        time.sleep(0.2)
    assert (team["lat"], team["lon"]) == (29.4987, 120.9042)
    page.context.close()


def test_the_evaluator_narrows_the_figures_to_one_zone(browser, server: WebServer, http: httpx.Client,
                                                       auth: dict) -> None:
    gushan = next(z for z in http.get("/api/v1/map/zones", headers=auth["eva"]).json()["features"]
                  if z["id"] == "com-gushan")
    lon0, lat0 = gushan["geometry"]["coordinates"][0][0]
    lon2, lat2 = gushan["geometry"]["coordinates"][0][2]
    inside = {"lat": (lat0 + lat2) / 2, "lon": (lon0 + lon2) / 2}
    for _ in range(2):
        http.post("/api/v1/candidates", json=candidate(**inside), headers=auth["det"])
    http.post("/api/v1/candidates", json=candidate(lat=lat2 + 0.004, lon=lon2), headers=auth["det"])
    in_zone = http.get("/api/v1/events?zone_id=com-gushan&limit=1", headers=auth["eva"]).json()["total"]
    everywhere = http.get("/api/v1/events?limit=1", headers=auth["eva"]).json()["total"]
    assert in_zone >= 2 and everywhere > in_zone
    page = open_page(browser, server, "/ui/evaluate", user="eva")
    page.locator(f'.tile[data-figure="events"] .v:text-is("{everywhere}")').wait_for()
    page.select_option("#zone-id", "com-gushan")
    page.click('#filters button[type="submit"]')
    page.locator(f'.tile[data-figure="events"] .v:text-is("{in_zone}")').wait_for()
    by_zone = json.loads(page.get_attribute("#c-zone", "data-values"))
    assert by_zone == [[in_zone]]  # one bar: the chosen zone
    page.context.close()


def test_a_lost_connection_is_announced_and_recovered(browser, server: WebServer, http: httpx.Client,
                                                      auth: dict) -> None:
    page = open_page(browser, server, "/ui/console", user="op", viewport=DESK)
    status = page.locator("#live-status")
    page.wait_for_selector('#live-status[data-state="ok"]')
    server.stop()
    page.wait_for_selector('#live-status[data-state="lost"]', timeout=10_000)
    assert "reconnecting" in status.inner_text()
    server.start()
    page.wait_for_selector('#live-status[data-state="ok"]', timeout=30_000)
    assert status.inner_text() == "Reconnected"
    # And alerts flow again on the new connection.
    eid = http.post("/api/v1/candidates", json=candidate(lat=29.5012, lon=120.8991),
                    headers=auth["det"]).json()["id"]
    page.locator(f'.card[data-id="{eid}"]').wait_for(timeout=5000)
    page.context.close()
