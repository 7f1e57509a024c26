"""Hot spots on the evaluator's map and the offence badge on the event page, in real Chromium over a
real server: five stalls confirmed at one corner at 08:10 Shanghai time and three at 17:30."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.conftest import candidate
from tests.web.conftest import WebServer, open_page

CORNER = (29.506766, 120.904641)  # residential block Beiyuan
M_PER_DEG_LAT = 110_843.7  # at 29.5068° (tests/api/test_offences.py)


def _local(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture(scope="module")
def corner_ids(server: WebServer, http: httpx.Client, auth: dict) -> list[int]:
    """The corner's eight stalls, in the order they happened: each confirmed, then dealt with
    (team t2 persuaded the vendor), so each is an earlier offence for the next."""
    times = [(_local(day, 8, 10), north) for day, north in zip(range(1, 6), (-20, -10, 0, 10, 20))]
    times += [(_local(day, 17, 30), north) for day, north in zip(range(1, 4), (-15, 0, 15))]
    ids = []
    for at, north in sorted(times):
        eid = confirmed(http, auth, north, at)
        resolve(http, auth, eid)
        ids.append(eid)
    return ids


def resolve(http: httpx.Client, auth: dict, eid: int, team: str = "t2") -> None:
    """Task `team` with the event, check it in and resolve it (persuaded), as the operator."""
    for path, kw in (("assign", {"json": {"team_id": team}}), ("on-scene", {}),
                     ("resolve", {"data": {"disposition": "persuaded"}})):
        r = http.post(f"/api/v1/events/{eid}/{path}", headers=auth["op"], **kw)
        assert r.status_code == 200, r.text


def confirmed(http: httpx.Client, auth: dict, north_m: float, at: datetime) -> int:
    """A stall `north_m` north of the corner detected `at`, confirmed; its id."""
    body = candidate(lat=CORNER[0] + north_m / M_PER_DEG_LAT, lon=CORNER[1], detected_at=at.isoformat())
    eid = http.post("/api/v1/candidates", json=body, headers=auth["det"]).json()["id"]
    r = http.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=auth["op"])
    assert r.status_code == 200, r.text
    return eid


def test_the_evaluator_map_shows_the_hot_spot_with_its_patrol_times(browser, server: WebServer,
                                                                     corner_ids: list[int]) -> None:
    page = open_page(browser, server, "/ui/evaluate", user="eva")
    spot = page.locator('#hot-map path.hotspot[data-count="8"]')
    spot.wait_for()
    assert page.locator("#hot-map path.hotspot").count() == 1
    # 5 of 8 at 08:xx is below 80 %: 17:xx joins as the second window.
    assert spot.get_attribute("data-windows") == "08:00-09:00,17:00-18:00"
    spot.click()
    popup = page.locator(".hot-popup")
    popup.wait_for()
    assert popup.locator(".windows li").all_inner_texts() == ["08:00–09:00 (5)", "17:00–18:00 (3)"]
    heights = popup.locator(".hb").evaluate_all("bars => bars.map(b => b.style.height)")
    assert heights[8] == "40px" and heights[17] == "24px"  # 3/5 of the tallest bar's 40 px
    assert sum(h != "0px" for h in heights) == 2
    assert page.script_errors == []
    page.context.close()


def test_the_event_page_flags_a_repeat_and_links_the_earlier_events(browser, server: WebServer,
                                                                    corner_ids: list[int]) -> None:
    first, second, third = corner_ids[:3]
    page = open_page(browser, server, f"/ui/event?id={third}", user="op")
    badge = page.locator("#offence-badge")
    badge.wait_for()
    assert badge.get_attribute("data-offence") == "repeat" and badge.inner_text() == "重复 repeat"
    assert "Suggested: referral" in page.locator("#offence").inner_text()
    links = page.locator("#prior-events a")
    assert [int(x) for x in links.evaluate_all("as => as.map(a => a.dataset.id)")] == [second, first]
    links.nth(1).click()
    page.wait_for_url(f"**/ui/event?id={first}")
    page.locator('#offence-badge[data-offence="first"]').wait_for()
    assert page.locator("#offence-badge").inner_text() == "首违 first offence"
    assert "Suggested: a warning" in page.locator("#offence").inner_text()
    assert page.script_errors == []
    page.context.close()


def test_the_team_form_preselects_the_suggested_disposition(browser, server: WebServer, http: httpx.Client,
                                                            auth: dict, corner_ids: list[int]) -> None:
    # Far from the corner (runs after the map test, so its one hot spot stays one): a stall dealt
    # with, then back at its place (a repeat: penalty), and one at a new place (first: warning).
    dealt_with = confirmed(http, auth, 600, _local(10, 9, 0))
    resolve(http, auth, dealt_with)
    second = confirmed(http, auth, 610, _local(12, 9, 0))
    first = confirmed(http, auth, 1200, _local(12, 9, 30))
    for eid in (first, second):
        r = http.post(f"/api/v1/events/{eid}/assign", json={"team_id": "t1"}, headers=auth["op"])
        assert r.status_code == 200, r.text
        assert http.post(f"/api/v1/events/{eid}/on-scene", headers=auth["tm1"]).status_code == 200
    page = open_page(browser, server, "/ui/team", user="tm1")
    for eid, expected in ((first, "persuaded"), (second, "penalised")):
        select = page.locator(f'.task[data-event="{eid}"] form[data-form="resolve"] select[name="disposition"]')
        select.wait_for()
        assert select.input_value() == expected
    assert page.script_errors == []
    page.context.close()
