"""Screenshots of every page over the demo control room, for the README and for looking at.

    python tests/web/make_screenshots.py [OUT_DIR] [--lang zh|en]

Seeds a fresh database like `flyonce demo` (sample town, drones at the docks, four events at
different stages), adds a few live alerts, and saves console / event / team (phone) / evaluator
PNGs at 1366x768 and 390x844 into OUT_DIR (default docs/screenshots).
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--from-shift", type=Path, nargs="?", const=ROOT / "var" / "shift", default=None,
                        help="make the README's screenshots from the whole-shift walkthrough's "
                             "(tests/web/test_shift.py, default var/shift) instead of a seeded room")
    args = parser.parse_args()
    if args.from_shift is not None:
        for target in from_shift(args.from_shift, args.out_dir):
            print(target)
        return

    import httpx
    from playwright.sync_api import sync_playwright
    from sqlmodel import Session

    import geofence
    from api.core import db
    from api.core.clock import SystemClock
    from api.core.zones import ZoneIndex
    from api.demo.seed import seed
    from tests.api.conftest import TEST_SECRET, candidate, login
    from tests.web.conftest import (
        CHROMIUM,
        CHROMIUM_ARGS,
        DESK,
        PHONE,
        WebServer,
        open_page,
        png_bytes,
    )

    data_dir = Path(tempfile.mkdtemp(prefix="flyonce-shots-"))
    url = f"sqlite:///{data_dir / 'flyonce.db'}"
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    zones = ZoneIndex.load(None, default_target_s=300.0)
    with Session(engine) as session:
        zones.sync(session)
        seed(session, zones, SystemClock())
    engine.dispose()
    server = WebServer({"FLYONCE_DATABASE_URL": url, "FLYONCE_DATA_DIR": str(data_dir),
                        "FLYONCE_SECRET_KEY": TEST_SECRET})
    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        http = httpx.Client(base_url=server.url, timeout=10)
        town = geofence.sample_town()
        snap = base64.b64encode(png_bytes((150, 110, 70), (160, 120))).decode()
        detector = login(http, "detector")
        for zone_id, etype, conf in (("res-dongyuan", "street_stall", 0.93), ("forest-wofo", "mobile_fuel_sale", 0.78),
                                     ("com-gushan", "street_stall", 0.66)):
            spot = town.zones.get(zone_id).geometry.centroid
            http.post("/api/v1/candidates", headers=detector, json=candidate(
                lat=spot.y, lon=spot.x, type=etype, confidence=conf, snapshot_jpeg_b64=snap))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for name, path, user, viewport in (
                ("console", "/ui/console", "operator", DESK), ("event", "/ui/event?id=3", "operator", DESK),
                ("evaluate", "/ui/evaluate", "evaluator", DESK), ("team", "/ui/team", "team1", PHONE),
                ("console-phone", "/ui/console", "operator", PHONE),
            ):
                page = open_page(browser, server, path, user=user, viewport=viewport, lang=args.lang)
                page.wait_for_selector('#live-status[data-state="ok"]')
                if name == "console":
                    page.locator(".card").first.click()
                page.wait_for_timeout(1200)
                target = args.out_dir / f"{name}.png"
                page.screenshot(path=target)
                print(target)
                page.context.close()
            browser.close()
    finally:
        server.stop()


# README image <- the walkthrough's step (tests/web/test_shift.py SHIFT_STEPS)
README_FROM_SHIFT = {"console.jpg": "03-confirmed", "team.png": "06-team-phone", "evaluate.png": "08-evaluator"}


def from_shift(shift_dir: Path, out_dir: Path) -> list[Path]:
    """The README's screenshots converted from the walkthrough's PNGs; SystemExit names a missing step."""
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, step in README_FROM_SHIFT.items():
        source = shift_dir / f"{step}.png"
        if not source.exists():
            raise SystemExit(f"{source} is missing: run pytest tests/web/test_shift.py first")
        target = out_dir / name
        with Image.open(source) as img:
            if target.suffix == ".jpg":
                img.convert("RGB").save(target, quality=82, optimize=True)
            else:
                img.save(target, optimize=True)
        written.append(target)
    return written


if __name__ == "__main__":
    main()
