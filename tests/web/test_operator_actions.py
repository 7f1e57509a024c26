"""What an operator does on the console's cards and on the event page, in Debian's Chromium:
confirm, reject, assign from the ranked drones and teams (at-risk ones marked); the fleet panel
and its banner; zone names and a legend of their kinds; counts that match the cards; one date
format. From a new alert to an assigned drone in at most 3 clicks or keys (the keyboard's
select, C, A is test_closed_loop's path)."""

from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from tests.api.conftest import candidate
from tests.web.conftest import DESK, WebServer, open_page

# seed_fleet: drone d1 and team t1 at (29.50, 120.90), d2 and t2 at (29.49, 120.91); 12 m/s.
NORTH_DEG = 0.009  # ~1 km north of d1: d1 is first, at 83 s, well inside any target
FAR_NORTH_DEG = 0.05  # 5.6 km north: d1 needs 463 s, d2 more; past the 300 s default target
M_PER_DEG = math.pi / 180 * 6371008.8


class Clicks:
    """Counts what the operator does: clicks and key presses."""

    def __init__(self, page) -> None:
        self.page, self.n = page, 0

    def click(self, locator) -> None:
        self.n += 1
        locator.click()

    def press(self, key: str) -> None:
        self.n += 1
        self.page.keyboard.press(key)


def post(http: httpx.Client, auth: dict, north_deg: float) -> int:
    body = candidate(lat=29.50 + north_deg, lon=120.90, confidence=0.8)
    r = http.post("/api/v1/candidates", json=body, headers=auth["det"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_new_alert_is_assigned_in_two_clicks_from_its_card(browser, server: WebServer,
                                                             http: httpx.Client, auth: dict) -> None:
    page = open_page(browser, server, "/ui/console", user="op", viewport=DESK)
    page.wait_for_selector('#live-status[data-state="ok"]')
    eid = post(http, auth, NORTH_DEG)
    card = page.locator(f'.card[data-id="{eid}"]')
    card.wait_for()
    ops = Clicks(page)
    ops.click(card.locator('[data-action="confirm"]'))
    page.locator(f'.card[data-id="{eid}"][data-state="confirmed"]').wait_for()
    # The confirmed card shows the ranking at once: d1 (1 km) first, nobody at risk.
    panel = card.locator('[data-panel="assign"]')
    panel.locator('input[name="drone"]').first.wait_for()
    assert panel.locator('input[name="drone"]').first.get_attribute("value") == "d1"
    assert panel.locator("[data-at-risk]").count() == 0
    ops.click(card.locator('[data-action="assign-best"]'))
    page.locator(f'.card[data-id="{eid}"][data-state="assigned"]').wait_for()
    assert ops.n == 2 <= 3
    tasks = http.get(f"/api/v1/events/{eid}", headers=auth["op"]).json()["tasks"]
    assert sorted((t["kind"], t["drone_id"] or t["team_id"]) for t in tasks) == [("drone", "d1"), ("team", "t1")]
    assert page.script_errors == []
    page.context.close()


def test_the_event_page_confirms_and_assigns_a_chosen_drone_at_risk(browser, server: WebServer,
                                                                   http: httpx.Client, auth: dict) -> None:
    eid = post(http, auth, FAR_NORTH_DEG)
    page = open_page(browser, server, f"/ui/event?id={eid}", user="op", viewport=DESK)
    page.locator("#ops [data-action='confirm']").click()
    page.wait_for_function("document.getElementById('event-state')?.textContent === 'confirmed'")
    panel = page.locator("#ops [data-panel='assign']")
    panel.locator('input[name="drone"]').first.wait_for()
    # Both drones land past the 300 s target: both are marked, neither hidden.
    d1_eta_s = FAR_NORTH_DEG * M_PER_DEG / 12.0
    assert 463 <= d1_eta_s <= 464
    options = panel.locator("label[data-option]")
    assert [options.nth(i).get_attribute("data-option") for i in range(options.count())][:2] == ["d1", "d2"]
    assert panel.locator('label[data-option="d1"][data-at-risk="true"] .risk').inner_text() == "at risk"
    assert panel.locator('label[data-option="d2"][data-at-risk="true"]').count() == 1
    panel.locator('input[name="drone"][value="d2"]').check()
    panel.locator('input[name="team"][value=""]').check()
    panel.locator('[data-action="assign-selected"]').click()
    page.wait_for_function("document.getElementById('event-state')?.textContent === 'assigned'")
    detail = http.get(f"/api/v1/events/{eid}", headers=auth["op"]).json()
    assert [(t["kind"], t["drone_id"], t["at_risk"]) for t in detail["tasks"]] == [("drone", "d2", True)]
    assert page.locator("#ops").is_hidden()  # nothing left to review or assign
    page.context.close()


def test_the_event_page_rejects_with_a_reason(browser, server: WebServer, http: httpx.Client, auth: dict) -> None:
    eid = post(http, auth, NORTH_DEG)
    page = open_page(browser, server, f"/ui/event?id={eid}", user="op", viewport=DESK)
    page.locator("#ops [data-action='reject']").click()
    page.fill("#ops input[data-role='reason']", "a parked van, no sale")
    page.locator("#ops [data-action='send-reject']").click()
    page.wait_for_function("document.getElementById('event-state')?.textContent === 'rejected'")
    detail = http.get(f"/api/v1/events/{eid}", headers=auth["op"]).json()
    assert detail["state"] == "rejected"
    assert detail["timeline"][-1]["reason"] == "a parked van, no sale"
    page.context.close()


def test_an_evaluator_sees_no_actions_on_the_event_page(browser, server: WebServer, http: httpx.Client,
                                                       auth: dict) -> None:
    eid = post(http, auth, NORTH_DEG)
    page = open_page(browser, server, f"/ui/event?id={eid}", user="eva", viewport=DESK)
    page.wait_for_selector("#event-state")
    assert page.locator("#ops").is_hidden()
    assert page.locator("#ops button").count() == 0
    page.context.close()


def test_counts_fleet_panel_zones_and_dates(browser, server: WebServer, http: httpx.Client, auth: dict) -> None:
    eid = post(http, auth, NORTH_DEG)
    page = open_page(browser, server, "/ui/console", user="op", viewport=DESK)
    page.locator(f'.card[data-id="{eid}"]').wait_for()
    cards = page.locator("#alerts .card")
    alerted = page.locator('#alerts .card[data-state="alerted"]').count()
    assert page.locator("#alert-count").inner_text() == str(cards.count())
    assert page.locator("#review-count").get_attribute("data-n") == str(alerted)
    assert page.locator("#review-count").inner_text() == f"{alerted} to review"

    # The seeded service has drones in its registry but no fleet link: the banner says so and
    # the panel lists every drone, none linked.
    drones = http.get("/api/v1/drones", headers=auth["op"]).json()
    rows = page.locator("#fleet-table tbody tr")
    page.wait_for_function(f"document.querySelectorAll('#fleet-table tbody tr').length === {len(drones)}")
    assert sorted(rows.nth(i).get_attribute("data-drone") for i in range(rows.count())) == sorted(d["id"] for d in drones)
    assert page.locator('#fleet-table tbody tr[data-link="none"]').count() == len(drones)
    banner = page.locator("#fleet-banner")
    assert banner.is_visible() and banner.get_attribute("data-reason") == "no_fleet"
    assert "FLYONCE_FLEET_FILE" in banner.inner_text()
    assert page.locator("#fleet-summary").inner_text() == f"0 of {len(drones)} linked"

    # Every zone's name on the map, and one legend row per kind present.
    zones = http.get("/api/v1/map/zones", headers=auth["op"]).json()["features"]
    labels = page.locator("#map .zone-label span")
    assert sorted(labels.nth(i).inner_text() for i in range(labels.count())) == sorted(
        f["properties"]["name"] for f in zones)
    legend = page.locator("#map-kinds [data-kind]")
    assert sorted(legend.nth(i).get_attribute("data-kind") for i in range(legend.count())) == sorted(
        {f["properties"]["kind"] for f in zones})
    page.context.close()

    # Dates: YYYY-MM-DD HH:mm:ss in the service's zone (Asia/Shanghai), in both languages.
    detected = http.get(f"/api/v1/events/{eid}", headers=auth["op"]).json()["detected_at"]
    expected = datetime.fromisoformat(detected).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    for lang in ("en", "zh"):
        event_page = open_page(browser, server, f"/ui/event?id={eid}", user="op", lang=lang)
        event_page.wait_for_selector("#facts dd")
        facts = event_page.locator("#facts dd")
        texts = [facts.nth(i).inner_text() for i in range(facts.count())]
        assert expected in texts, texts
        first_row = event_page.locator("#timeline tbody tr td").first.inner_text()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first_row)
        event_page.context.close()
    evaluator = open_page(browser, server, "/ui/evaluate", user="eva")
    assert evaluator.locator('#filters input[name="since"]').get_attribute("placeholder") == "YYYY-MM-DD"
    evaluator.context.close()


def test_day_filters_are_days_of_the_services_zone_not_the_browsers(browser, server: WebServer, http: httpx.Client,
                                                                   auth: dict) -> None:
    # 2026-03-10 17:30 UTC is 2026-03-11 01:30 in Shanghai (and 13:30 on the 10th in New York).
    body = candidate(lat=29.50 + NORTH_DEG, lon=120.91, detected_at="2026-03-10T17:30:00+00:00")
    r = http.post("/api/v1/candidates", json=body, headers=auth["det"])
    assert r.status_code == 201, r.text
    page = open_page(browser, server, "/ui/evaluate", user="eva", timezone_id="America/New_York")
    page.wait_for_selector('.tile[data-figure="events"]')

    def show(since: str, until: str, expected: str) -> None:
        page.fill('#filters input[name="since"]', since)
        page.fill('#filters input[name="until"]', until)
        page.click('#filters button[type="submit"]')
        page.wait_for_function(
            f"document.querySelector('.tile[data-figure=events] .v').textContent === '{expected}'")

    assert int(page.locator('.tile[data-figure="events"] .v').inner_text()) > 1  # all days first
    show("2026-03-11", "2026-03-11", "1")  # its Shanghai day
    show("2026-03-10", "2026-03-10", "0")  # its UTC and New York day
    page.context.close()
