"""The regulated-sites page and a visit's printable notice in Debian's Chromium against a real
server: the evaluator reads the year's figures, each site's grade with its rule and the visit
plan, and opens a noticed visit's notice from its link; the notice prints without its button."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

import httpx
from playwright.sync_api import expect
from sqlmodel import Session

from api.core import db
from api.core.models import SiteVisit
from tests.api.test_sites import P, Q, feature
from tests.web.conftest import WebServer, open_page


def _seed(server: WebServer, http: httpx.Client, auth: dict) -> str:
    adm = auth["adm"]
    r = http.post("/api/v1/sites/import", headers=adm, json={"geojson": {
        "type": "FeatureCollection", "features": [feature("P", P), feature("Q", Q, "market")]}})
    assert r.status_code == 200, r.text
    ids = {s["ref"]: s["id"] for s in r.json()["sites"]}
    assert http.post("/api/v1/site-grades", params={"year": 2026}, headers=adm).status_code == 200
    for year, grade in ((2025, "D"), (2026, "C")):
        assert http.post(f"/api/v1/sites/{ids['Q']}/grades/{year}/override", headers=adm,
                         json={"grade": grade, "reason": "rectified after coaching"}).status_code == 200
    # Two visits as planning leaves them (the rules and the calendar are tested through the API
    # in tests/api/test_sites.py; the wall clock of this server cannot be moved to 2026).
    code = secrets.token_urlsafe(16)
    engine = db.create_db_engine(server.env["FLYONCE_DATABASE_URL"])
    with Session(engine) as session:
        session.add(SiteVisit(site_id=ids["Q"], visit_day=date(2026, 2, 26), grade="C",
                              basis="complaint", basis_note="hotline", exception="complaint",
                              exception_why="quiet period", approve_by=date(2026, 2, 24),
                              approver="adm", approved_at=datetime(2026, 2, 12, 3, tzinfo=UTC),
                              items="消防通道；油品储存 fire exits; fuel storage",
                              inspectors="李明、赵华", start_time="09:30", state="noticed",
                              notice_code=code, noticed_at=datetime(2026, 2, 12, 4, tzinfo=UTC),
                              created_by="op", created_at=datetime(2026, 2, 12, 2, tzinfo=UTC)))
        session.add(SiteVisit(site_id=ids["P"], visit_day=date(2026, 3, 9), grade="A",
                              basis="grade", items="routine", inspectors="王强", start_time="10:00",
                              state="planned", created_by="op",
                              created_at=datetime(2026, 2, 24, 2, tzinfo=UTC)))
        session.commit()
    engine.dispose()
    return code


def test_the_sites_page_and_the_printable_notice(browser, server: WebServer, http: httpx.Client,
                                                 auth: dict, shots) -> None:
    code = _seed(server, http, auth)
    page = open_page(browser, server, "/ui/sites?year=2026", user="eva")
    expect(page.locator("#tile-visits .v")).to_have_text("2")
    expect(page.locator("#tile-cd .v")).to_have_text("1")  # Q was D in 2025
    expect(page.locator("#tile-up .v")).to_have_text("1")  # and is C in 2026
    expect(page.locator("#per-grade tr[data-grade='C'] .visits")).to_have_text("1")
    expect(page.locator("#per-grade tr[data-grade='D'] td").nth(3)).to_have_text("no cap")
    expect(page.locator("#sites tr[data-ref='P'] .grade")).to_have_text("A")
    expect(page.locator("#sites tr[data-ref='P'] .rule")).to_contain_text("A: no violation")
    expect(page.locator("#sites tr[data-ref='Q'] .rule")).to_contain_text(
        "override: set by adm: rectified after coaching")
    expect(page.locator("#visits tbody tr")).to_have_count(2)
    link = page.locator("#visits a.notice-link")
    expect(link).to_have_count(1)
    assert link.get_attribute("href").endswith(f"/n/{code}")
    page.screenshot(path=str(shots / "sites.png"), full_page=True)
    with page.context.expect_page() as opened:
        link.click()
    notice = opened.value
    notice.wait_for_load_state()
    expect(notice.locator("#items")).to_have_text("消防通道；油品储存 fire exits; fuel storage")
    expect(notice.locator("#visit-day")).to_contain_text("2026-02-26 09:30")
    # Thu 12 Feb to Thu 26 Feb 2026: Fri 13, Sat 14 (worked), then 24, 25, 26 after the festival.
    expect(notice.locator("#ahead")).to_have_text("5")
    expect(notice.locator("#department")).to_have_text("市场监管")
    assert notice.locator(".qr img").evaluate("img => img.complete && img.naturalWidth > 0")
    expect(notice.locator("#print")).to_be_visible()
    notice.emulate_media(media="print")
    expect(notice.locator("#print")).to_be_hidden()
    notice.screenshot(path=str(shots / "site-notice.png"), full_page=True)
    assert page.script_errors == []
    bad = open_page(browser, server, "/n/not-a-notice-code", user=None)
    expect(bad.locator("h1")).to_contain_text("Invalid notice code")
    page.context.close()
    bad.context.close()


def test_a_ground_team_may_not_open_the_sites_page(browser, server: WebServer) -> None:
    page = open_page(browser, server, "/ui/sites", user="tm1")
    expect(page.locator("#forbidden")).to_be_visible()
    page.context.close()
