"""What a control-room shift costs on this machine (issue 31), as one JSON line.

    python tests/bench/bench_console.py [--events 500] [--drones 20] [--demo-minutes 4] [--no-demo]

- clicks: from a new alert to an assigned drone in Debian's Chromium, counted as the operator
  does them (Confirm, then Assign recommended on the card), against the keyboard path's keys
  (select, C, A) as the baseline;
- console paint: ms from navigation to the console drawn (cards listed, zones named, the fleet
  panel filled) and Chromium's first contentful paint, over a service holding ``--events`` open
  events and ``--drones`` drones, against the same page over an empty service (the baseline);
- demo frames: the share of due patrol frames the demo rendered and scored, at the default 10x
  with ``keep_up`` (the clock slowed to what the cameras manage, as `flyonce demo` runs) against
  the same scenario with ``keep_up`` off (the baseline), with the speed-up each ran at and the
  machine's CPU count.

Never passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def seed_load(url: str, events: int, drones: int) -> None:
    """``events`` alerted events on a 40 m grid round the sample town's origin, ``drones`` more drones."""
    from sqlmodel import Session

    from api.core import db
    from api.core.clock import SystemClock
    from api.core.models import Drone
    from api.core.zones import ZoneIndex
    from api.lifecycle import events as verbs
    from api.lifecycle.schemas import CandidateIn

    engine = db.create_db_engine(url)
    zones = ZoneIndex.load(None, default_target_s=300.0)
    now = SystemClock().now()
    with Session(engine) as session:
        zones.sync(session)
        for i in range(drones):
            session.add(Drone(id=f"load-{i}", name=f"Load {i}", dock_lat=29.49 + 0.001 * i, dock_lon=120.89))
        session.commit()
        side = int(events ** 0.5) + 1
        for i in range(events):
            lat = 29.485 + (i // side) * 0.00036  # ~40 m apart: no merging
            lon = 120.885 + (i % side) * 0.00041
            verbs.ingest_committed(session, CandidateIn(
                source="bench", source_event_id=f"b{i}", type="street_stall", lat=lat, lon=lon,
                confidence=0.8, detected_at=now - timedelta(seconds=events - i)),
                zones=zones, actor="bench", now=now)
    engine.dispose()


def console_paint_ms(browser, server, repeats: int = 3) -> dict:
    from tests.web.conftest import DESK, open_page

    page = open_page(browser, server, "/ui/console", user="op", viewport=DESK)
    page.wait_for_selector('#live-status[data-state="ok"]')  # logged in and settled
    drawn, fcp = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        page.reload()
        page.wait_for_function(
            "() => !!((document.querySelector('#alerts .card') || document.querySelector('#alerts .empty'))"
            " && document.querySelector('.zone-label') && document.querySelector('#fleet-table tbody tr'))",
            timeout=120_000)
        drawn.append((time.perf_counter() - t0) * 1000)
        fcp.append(page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"))
    cards = page.locator("#alerts .card").count()
    page.context.close()
    return {"drawn_ms": round(statistics.median(drawn)), "fcp_ms": round(statistics.median(fcp)),
            "cards": cards}


def clicks(browser, server, http) -> dict:
    from tests.api.conftest import candidate, login
    from tests.web.conftest import DESK, open_page

    det = login(http, "det")
    page = open_page(browser, server, "/ui/console", user="op", viewport=DESK)
    page.wait_for_selector('#live-status[data-state="ok"]')
    out = {}
    for how in ("clicks", "keys"):
        eid = http.post("/api/v1/candidates", json=candidate(lat=29.509, lon=120.9), headers=det).json()["id"]
        card = page.locator(f'.card[data-id="{eid}"]')
        card.wait_for()
        n = 0
        if how == "clicks":
            card.locator('[data-action="confirm"]').click()
            n += 1
            card.locator('[data-action="assign-best"]').wait_for()
            card.locator('[data-action="assign-best"]').click()
            n += 1
        else:
            card.click()  # select: one click
            n += 1
            for key in ("c", "a"):
                if key == "a":
                    page.locator(f'.card[data-id="{eid}"][data-state="confirmed"]').wait_for()
                page.keyboard.press(key)
                n += 1
        page.locator(f'.card[data-id="{eid}"][data-state="assigned"]').wait_for()
        out[how] = n
    page.context.close()
    return out


def demo_frames(minutes: float) -> dict:
    from api.demo import Demo, DemoConfig

    out = {}
    for name, keep_up in (("keep_up", True), ("baseline_no_keep_up", False)):
        config = DemoConfig(seed=7, drones=4, duration_min=minutes, speedup=10.0, keep_up=keep_up,
                            data_dir=Path(tempfile.mkdtemp(prefix="flyonce-bench-demo-")),
                            wind_down_min=2.0, patrol_week=False)
        t0 = time.perf_counter()
        with Demo(config) as run:
            result = run.run()
        card = result.scorecard
        out[name] = {"frame_share": round(card.frame_share or 0.0, 3), "frames": card.frames,
                     "frames_due": round(card.frames_due), "speedup": result.timings.speedup,
                     "frame_s": round(result.timings.frame_s, 3), "placed": card.placed,
                     "covered": card.covered,
                     "recall_covered": card.recall, "recall_placed": card.recall_placed,
                     "wall_s": round(time.perf_counter() - t0)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--drones", type=int, default=20)
    parser.add_argument("--demo-minutes", type=float, default=4.0)
    parser.add_argument("--no-demo", action="store_true", help="skip the demo's frame share (minutes)")
    args = parser.parse_args()

    import httpx
    from playwright.sync_api import sync_playwright

    from tests.api.conftest import ServerProcess, prepare_db, server_env
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    result: dict = {"bench": "console", "cpus": os.cpu_count()}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, events, drones in (("empty", 0, 0), ("loaded", args.events, args.drones)):
            data = Path(tempfile.mkdtemp(prefix=f"flyonce-bench-console-{name}-"))
            url = prepare_db(f"sqlite:///{data / 'flyonce.db'}")
            seed_load(url, events, drones)
            server = ServerProcess(server_env(url, data))
            try:
                result[f"paint_{name}"] = {"events": events, "drones": 2 + drones,
                                           **console_paint_ms(browser, server)}
                if name == "empty":
                    with httpx.Client(base_url=server.url, timeout=10) as http:
                        result["alert_to_assigned"] = clicks(browser, server, http)
            finally:
                server.stop()
        browser.close()
    if not args.no_demo:
        result["demo_frames"] = demo_frames(args.demo_minutes)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
