"""A whole shift in Debian's Chromium over a live simulated fleet: the operator logs in, a live
alert arrives, is confirmed and assigned from its card, the drone flies there, the ground team
resolves it on the phone page with a photo, and the evaluator's figure moves. A screenshot per
step goes to var/shift/ (FLYONCE_SHIFT_SHOTS elsewhere); `python tests/web/make_screenshots.py
--from-shift` makes the README's screenshots from them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.api.conftest import DEMO_PASSWORD, candidate, login
from tests.web.conftest import DESK, PHONE, open_page, png_bytes
from tests.web.test_fleet_console import NANYUAN, flying  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
SHIFT_STEPS = ("01-login", "02-alert", "03-confirmed", "04-assigned", "05-drone-on-scene",
               "06-team-phone", "07-team-resolved", "08-evaluator")


def shift_dir() -> Path:
    path = Path(os.environ.get("FLYONCE_SHIFT_SHOTS") or ROOT / "var" / "shift")
    path.mkdir(parents=True, exist_ok=True)
    return path


def tile(page, figure: str) -> int:
    return int(page.locator(f'.tile[data-figure="{figure}"] .v').inner_text())


def test_a_whole_shift(browser, flying) -> None:  # noqa: F811
    server, http = flying
    shots = shift_dir()
    for old in shots.glob("*.png"):
        old.unlink()
    op, det = login(http, "op"), login(http, "det")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the fleet is linked and parked
        drones = http.get("/api/v1/dispatch/drones", headers=op).json()
        if len(drones) == 3 and all(d["available"] for d in drones):
            break
        time.sleep(0.2)

    evaluator = open_page(browser, server, "/ui/evaluate", user="eva", viewport=DESK, lang="zh")
    evaluator.wait_for_selector('.tile[data-figure="reached"]')
    reached_before = tile(evaluator, "reached")

    # 1. Login.
    console = open_page(browser, server, "/ui/", user=None, viewport=DESK, lang="zh")
    console.fill("#username", "op")
    console.fill("#password", DEMO_PASSWORD)
    console.screenshot(path=shots / "01-login.png")
    console.click("#login-btn")
    console.wait_for_url("**/ui/console")
    console.wait_for_selector('#live-status[data-state="ok"]')
    console.wait_for_selector('#fleet-table tbody tr[data-link="ok"]')
    assert console.locator("#fleet-banner").is_hidden()

    # 2. A live alert arrives.
    eid = http.post("/api/v1/candidates", json=candidate(lat=NANYUAN[0], lon=NANYUAN[1], confidence=0.88),
                    headers=det).json()["id"]
    card = console.locator(f'.card[data-id="{eid}"]')
    card.wait_for()
    console.screenshot(path=shots / "02-alert.png")

    # 3. Confirm from the card: the planner's ranking opens on it.
    clicks = 0
    card.locator('[data-action="confirm"]').click()
    clicks += 1
    console.locator(f'.card[data-id="{eid}"][data-state="confirmed"] [data-panel="assign"] input[name="drone"]').first.wait_for()
    console.screenshot(path=shots / "03-confirmed.png")

    # 4. Assign from the card.
    card.locator('[data-action="assign-best"]').click()
    clicks += 1
    console.locator(f'.card[data-id="{eid}"][data-state="assigned"]').wait_for(timeout=30_000)
    assert clicks <= 3
    console.screenshot(path=shots / "04-assigned.png")

    # 5. The drone flies there (10x mission time) and is on scene.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        detail = http.get(f"/api/v1/events/{eid}", headers=op).json()
        if detail["state"] == "on_scene":
            break
        time.sleep(0.5)
    assert detail["state"] == "on_scene", detail["state"]
    console.locator(f'.card[data-id="{eid}"][data-state="on_scene"]').wait_for()
    console.wait_for_function(
        "[...document.querySelectorAll('#map path.track')]"
        ".some((p) => { const b = p.getBBox(); return b.width + b.height > 20; })")
    console.screenshot(path=shots / "05-drone-on-scene.png")

    # 6-7. The nearest team resolves it on the phone, with a photo.
    team_id = next(t["team_id"] for t in detail["tasks"] if t["kind"] == "team")
    phone = open_page(browser, server, "/ui/team", user={"t1": "tm1", "t2": "tm2"}[team_id], viewport=PHONE, lang="zh")
    task = phone.locator(f'.task[data-event="{eid}"]')
    task.wait_for()
    task.locator('[data-action="accept"]').click()
    phone.locator(f'.task[data-event="{eid}"] [data-action="accept"]').wait_for(state="detached")
    form = phone.locator(f'.task[data-event="{eid}"] form[data-form="resolve"]')
    form.wait_for()
    form.locator('select[name="disposition"]').select_option("removed")
    form.locator('textarea[name="note"]').fill("摊位已移出道路")
    form.locator('input[name="photo"]').set_input_files(
        files=[{"name": "scene.png", "mimeType": "image/png", "buffer": png_bytes((30, 90, 160))}])
    phone.screenshot(path=shots / "06-team-phone.png", full_page=True)
    form.locator('[data-action="resolve"]').click()
    phone.locator(f'.task[data-event="{eid}"][data-state="evaluated"]').wait_for()
    phone.screenshot(path=shots / "07-team-resolved.png", full_page=True)

    # 8. The evaluator's figure moves by itself.
    evaluator.wait_for_function(
        f'document.querySelector(\'.tile[data-figure="reached"] .v\').textContent === "{reached_before + 1}"')
    evaluator.screenshot(path=shots / "08-evaluator.png", full_page=True)

    assert sorted(p.stem for p in shots.glob("*.png")) == list(SHIFT_STEPS)
    for page in (evaluator, console, phone):
        assert page.script_errors == []
        page.context.close()
