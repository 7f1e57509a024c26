"""The departments' patrol page in Debian's Chromium against a real server: a department sees its
own request, the merged flight that served it (shared with another department) and what that
flight found; it files a new request from the form, and a bad one is explained."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlmodel import Session

from api.core import db
from api.core.models import PatrolFlight, User
from tests.api.conftest import START, candidate, demo_hash, login, seeded_server
from tests.api.test_patrols import AREA_A, AREA_B, request_body
from tests.web.conftest import WebServer, open_page

# A Monday far from the wall clock: the plan stores every flight of that week as planned.
WEEK = "2030-01-07"
MONDAY_0800 = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


@pytest.fixture(scope="module")
def patrol_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebServer, sa.Engine]]:
    data = tmp_path_factory.mktemp("patrol-web")
    server = seeded_server(data)
    engine = db.create_db_engine(f"sqlite:///{data / 'flyonce.db'}")
    with Session(engine) as session:
        session.add(User(username="mkt", password_hash=demo_hash(), role="department",
                         department="市场监管", created_at=START))
        session.commit()
    yield server, engine
    engine.dispose()
    server.stop()


@pytest.fixture(scope="module")
def http(patrol_server) -> Iterator[httpx.Client]:
    server, _ = patrol_server
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_a_department_sees_its_request_the_merged_flight_and_its_finding(
        browser, patrol_server, http: httpx.Client, shots) -> None:
    server, engine = patrol_server
    mkt, op, det = login(http, "mkt"), login(http, "op"), login(http, "det")
    mine = http.post("/api/v1/patrol-requests", headers=mkt,
                     json=request_body(title="东区早市", area=AREA_A)).json()
    http.post("/api/v1/patrol-requests", headers=op,
              json=request_body(title="城管 east block", department="城管", area=AREA_B))
    plan = http.post(f"/api/v1/patrol-plan?week={WEEK}", headers=op).json()
    assert plan["merged"]["flights"] == 1 and plan["alone"]["flights"] == 2
    [flight] = plan["flights"]
    # The flight flew (by hand here; tests/api/test_patrols.py flies one on a simulator), and
    # its drone's detector found a stall inside the market's block five minutes in.
    with Session(engine) as session:
        row = session.get(PatrolFlight, flight["id"])
        row.state, row.started_at = "done", MONDAY_0800
        row.ended_at = MONDAY_0800 + timedelta(minutes=10)
        session.add(row)
        session.commit()
    found = http.post("/api/v1/candidates", headers=det, json=candidate(
        lat=29.5010, lon=120.9010, drone_id="d1",
        detected_at=(MONDAY_0800 + timedelta(minutes=5)).isoformat()))
    assert found.status_code == 201, found.text

    page = open_page(browser, server, "/ui/patrols", user="mkt")
    expect(page.locator("header.top nav a")).to_have_text(["Patrol requests"])
    items = page.locator("#requests li")
    expect(items).to_have_count(1)  # the 城管 request is not the market department's to see
    expect(items.first.locator(".title")).to_have_text("东区早市")
    items.first.click()
    rows = page.locator("#flights tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(flight["id"]))
    cells = rows.first.locator("td")
    expect(cells.nth(1)).to_have_text("d1")
    expect(cells.nth(2)).to_contain_text("done")
    expect(cells.nth(3)).to_have_text("城管")  # one flight served both departments
    findings = page.locator("#findings li")
    expect(findings).to_have_count(1)
    expect(findings.first).to_have_attribute("data-id", str(found.json()["id"]))
    expect(findings.first).to_contain_text("Street stall")
    assert page.locator("path.leaflet-interactive").count() >= 3  # areas and the flight path
    page.screenshot(path=shots / "patrols.png")
    assert page.script_errors == []
    page.context.close()
    assert mine["department"] == "市场监管"


def test_a_department_files_a_request_by_zone_and_a_bad_one_is_explained(
        browser, patrol_server, http: httpx.Client) -> None:
    server, _ = patrol_server
    page = open_page(browser, server, "/ui/patrols", user="mkt")
    page.wait_for_selector("#request-form:not([hidden])")
    assert not page.locator("#department-row").is_visible()  # it files for its own department
    page.fill("#title", "城东市场 午间")
    page.select_option("#zone", "mkt-chengdong")
    page.fill("#start", "11:00")
    page.fill("#end", "14:00")
    page.click("#file-btn")
    expect(page.locator("#requests li .title", has_text="城东市场 午间")).to_have_count(1)
    expect(page.locator("#detail-title")).to_have_text("城东市场 午间")
    stored = [r for r in http.get("/api/v1/patrol-requests", headers=login(http, "mkt")).json()
              if r["title"] == "城东市场 午间"]
    assert len(stored) == 1
    zone = next(f for f in http.get("/api/v1/map/zones", headers=login(http, "mkt")).json()["features"]
                if f["id"] == "mkt-chengdong")
    assert stored[0]["area"]["coordinates"] == json.loads(json.dumps(zone["geometry"]["coordinates"]))
    assert (stored[0]["window"]["start"], stored[0]["window"]["end"]) == ("11:00", "14:00")
    assert stored[0]["department"] == "市场监管"

    # two corners ~44 km north of the town: the service's reason is shown, nothing is stored
    page.select_option("#zone", "")
    page.fill("#title", "typo")
    page.fill("#corner1", "29.900, 120.900")
    page.fill("#corner2", "29.902, 120.903")
    page.click("#file-btn")
    expect(page.locator("#form-error")).to_contain_text("km from the town's zones")
    titles = [r["title"] for r in http.get("/api/v1/patrol-requests",
                                           headers=login(http, "mkt")).json()]
    assert "typo" not in titles
    assert page.script_errors == []
    page.context.close()


def test_the_department_page_is_not_for_ground_teams(browser, patrol_server) -> None:
    server, _ = patrol_server
    page = open_page(browser, server, "/ui/patrols", user="tm1")
    expect(page.locator("#forbidden")).to_contain_text("may not see this page")
    assert page.locator("#requests").count() == 0
    page.context.close()
