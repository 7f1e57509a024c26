"""One violation, one event, in real Chromium over a real server with merging on: the console card
counts the looks, the event page lists every sighting and splits a wrong merge, and the evaluator
reads sightings per event."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import candidate, seeded_server
from tests.web.conftest import WebServer, open_page

CORNER = (29.506766, 120.904641)  # residential block Beiyuan
M_PER_DEG_LAT = 110_843.7  # at 29.5068° (tests/api/test_offences.py)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    proc = seeded_server(tmp_path_factory.mktemp("web-merge"), FLYONCE_MERGE_RADIUS_M="15")
    yield proc
    proc.stop()


def look(http: httpx.Client, auth: dict, north_m: float, status: int, **fields) -> dict:
    body = candidate(lat=CORNER[0] + north_m / M_PER_DEG_LAT, lon=CORNER[1], **fields)
    r = http.post("/api/v1/candidates", json=body, headers=auth["det"])
    assert r.status_code == status, r.text
    return r.json()


def test_the_looks_are_counted_listed_and_a_wrong_merge_is_split(
        browser, server: WebServer, http: httpx.Client, auth: dict) -> None:
    eid = look(http, auth, 0, 201, drone_id="drone-1")["id"]
    look(http, auth, 4, 200, drone_id="drone-2")
    look(http, auth, 11, 200, drone_id="drone-3", confidence=0.7)

    console = open_page(browser, server, "/ui/console", user="op")
    seen = console.locator(f'#alerts li[data-id="{eid}"] .seen')
    seen.wait_for()
    assert seen.get_attribute("data-seen") == "3" and seen.inner_text() == "seen 3 times"
    assert console.locator("#alert-count").inner_text() == "1"
    console.context.close()

    page = open_page(browser, server, f"/ui/event?id={eid}", user="op")
    rows = page.locator("#sightings tbody tr")
    rows.nth(2).wait_for()
    assert [rows.nth(i).get_attribute("data-kind") for i in range(3)] == ["first", "merged",
                                                                         "merged"]
    assert "drone-2" in rows.nth(1).inner_text() and "4.0 m" in rows.nth(1).inner_text()
    page.on("dialog", lambda dialog: dialog.accept("a second stall across the lane"))
    rows.nth(2).locator("button.split").click()
    page.locator('#sightings tbody tr[data-kind="first"]').wait_for()
    page.wait_for_function("document.querySelectorAll('#sightings tbody tr').length === 2")
    assert page.script_errors == []
    page.context.close()

    events = http.get("/api/v1/events", headers=auth["op"]).json()["items"]
    assert sorted(e["candidates"] for e in events) == [1, 2]
    split = next(e for e in events if e["id"] != eid)
    assert split["detector_drone_id"] == "drone-3" and split["state"] == "alerted"

    evaluator = open_page(browser, server, "/ui/evaluate", user="eva")
    tile = evaluator.locator('[data-figure="sightings"] .v')
    tile.wait_for()
    # two events from three looks: 3 / 2 = 1.50 per event, one of them merged
    assert tile.inner_text() == "1.50 (1 merged)"
    evaluator.context.close()
