"""The console over a live simulated fleet: the planner ranks the drones (the south dock's route
detours round the school), one key flies the first, and the map shows it moving."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import TEST_SECRET, candidate, free_port, login, seed_fleet
from tests.web.conftest import DESK, open_page

NANYUAN = (29.4941, 120.9062)  # inside the Nanyuan residential block (180 s target)


class ThreadServer:
    """uvicorn in a thread, for an app that must share a SimClock with the fleet in this process."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy in 60 s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def flying(tmp_path: Path) -> Iterator[tuple[ThreadServer, httpx.Client]]:
    from api.app import create_app
    from api.core.settings import Settings
    from geofence import sample_town
    from simulators.clock import SimClock
    from simulators.fleet import Fleet

    town = sample_town()
    fleet = Fleet.start(town.docks, clock=SimClock(10.0), base_tcp_port=0)
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text("".join(
        f'[[drone]]\nid = "{d.id}"\nurl = "{v.endpoint}"\ndock = [{d.lat}, {d.lon}]\n\n'
        for d, v in zip(town.docks, fleet.vehicles, strict=True)))
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'flyonce.db'}",
                        data_dir=tmp_path, secret_key=TEST_SECRET, fleet_file=fleet_file,
                        auto_assign=False, drone_state_period_s=0.5, fleet_connect_timeout_s=5)
    app = create_app(settings, clock=fleet.clock)
    server = ThreadServer(app)
    server.fleet = fleet  # tests that break a drone's link reach its simulator here
    try:
        seed_fleet(app.state.engine)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            yield server, http
    finally:
        server.stop()
        fleet.stop()


def test_one_key_flies_the_planners_first_drone(browser, flying) -> None:
    server, http = flying
    op, det = login(http, "op"), login(http, "det")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        drones = http.get("/api/v1/dispatch/drones", headers=op).json()
        if len(drones) == 3 and all(d["available"] for d in drones):
            break
        time.sleep(0.2)
    page = open_page(browser, server, "/ui/console", user="op", viewport=DESK)
    page.wait_for_selector('#live-status[data-state="ok"]')
    eid = http.post("/api/v1/candidates", json=candidate(lat=NANYUAN[0], lon=NANYUAN[1]),
                    headers=det).json()["id"]
    card = page.locator(f'.card[data-id="{eid}"]')
    card.click()
    page.keyboard.press("c")
    panel = card.locator('[data-panel="assign"]')
    panel.locator('input[name="drone"]').first.wait_for()
    assert panel.locator(".why").inner_text() == "ranked by the dispatch planner"
    # The south dock is nearest even with its 714 m detour round the school.
    assert panel.locator('input[name="drone"]').first.get_attribute("value") == "dock-south"
    page.keyboard.press("a")
    page.locator(f'.card[data-id="{eid}"][data-state="assigned"]').wait_for(timeout=30_000)
    tasks = http.get(f"/api/v1/events/{eid}", headers=op).json()["tasks"]
    assert [t["drone_id"] for t in tasks if t["kind"] == "drone"] == ["dock-south"]
    # Live drone states move the marker: a route to the event, and a track once it has moved.
    page.wait_for_selector("#map path.route")
    page.wait_for_function(
        "[...document.querySelectorAll('#map path.track')]"
        ".some((p) => { const b = p.getBBox(); return b.width + b.height > 20; })", timeout=30_000)
    assert page.script_errors == []
    page.context.close()


def test_the_banner_names_a_drone_whose_link_is_lost(browser, flying) -> None:
    server, _http = flying
    page = open_page(browser, server, "/ui/console", user="op", viewport=DESK)
    page.wait_for_function("document.querySelectorAll('#fleet-table tbody tr[data-link=\"ok\"]').length === 3")
    assert page.locator("#fleet-banner").is_hidden()
    from geofence import sample_town

    # The fixture's fleet file names vehicle i after the town's dock i.
    lost, lost_id = server.fleet.vehicles[0], sample_town().docks[0].id
    # silent for 120 mission s (12 s here), past the dispatcher's 3 s link timeout
    lost.drop_link(120.0)
    banner = page.locator('#fleet-banner[data-reason="lost"]')
    banner.wait_for(timeout=15_000)
    assert banner.inner_text().startswith("1 drone(s) unreachable: ")
    assert page.locator(f'#fleet-table tbody tr[data-drone="{lost_id}"]').get_attribute("data-link") == "lost"
    assert page.locator('#fleet-table tbody tr[data-link="ok"]').count() == 2
    assert page.locator("#fleet-summary").inner_text() == "2 of 3 linked"
    page.context.close()
