"""How fast a new candidate reaches the operator's screen.

    python tests/bench/bench_web_alerts.py [--n 20]

Posts candidates to a real server and times, for each, the first WebSocket message a plain
Python client receives (the baseline: bus + socket) and the moment its card is in the console's
DOM in Debian's Chromium (the page's own cost on top: parsing, list rendering, markers).
Prints one JSON line; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="candidates to post")
    args = parser.parse_args()

    import httpx
    from playwright.sync_api import sync_playwright
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from tests.api.conftest import candidate, login, seeded_server
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, DESK, open_page

    server = seeded_server(Path(tempfile.mkdtemp(prefix="flyonce-bench-web-")))
    socket_ms: list[float] = []
    page_ms: list[float] = []
    try:
        http = httpx.Client(base_url=server.url, timeout=10)
        detector, operator = login(http, "det"), login(http, "op")
        token = operator["Authorization"].split()[1]
        arrivals: dict[int, float] = {}
        ws = connect(f"ws://127.0.0.1:{server.port}/api/v1/live",
                     subprotocols=["flyonce.v1", f"bearer.{token}"])
        ws.recv()  # hello

        def listen() -> None:
            while True:
                try:
                    msg = json.loads(ws.recv())
                except ConnectionClosed:  # closed at the end of the run
                    return
                if msg.get("to") == "alerted":
                    arrivals.setdefault(msg["event_id"], time.perf_counter())

        threading.Thread(target=listen, daemon=True).start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = open_page(browser, server, "/ui/console", user="op", viewport=DESK)
            page.wait_for_selector('#live-status[data-state="ok"]')
            for i in range(args.n):
                started = time.perf_counter()
                eid = http.post("/api/v1/candidates", headers=detector, json=candidate(
                    lat=29.495 + 0.0005 * i, lon=120.895 + 0.0005 * i)).json()["id"]
                page.wait_for_selector(f'.card[data-id="{eid}"]', timeout=10_000)
                shown = time.perf_counter()
                deadline = time.monotonic() + 5
                while eid not in arrivals and time.monotonic() < deadline:
                    time.sleep(0.001)
                socket_ms.append((arrivals[eid] - started) * 1000)
                page_ms.append((shown - started) * 1000)
            browser.close()
        ws.close()
    finally:
        server.stop()

    def summary(values: list[float]) -> dict:
        ordered = sorted(values)
        return {"p50_ms": round(statistics.median(ordered), 1),
                "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1), "max_ms": round(ordered[-1], 1)}

    print(json.dumps({"bench": "web_alerts", "n": args.n,
                      "baseline_websocket_client": summary(socket_ms),
                      "console_card_in_dom": summary(page_ms)}))


if __name__ == "__main__":
    main()
