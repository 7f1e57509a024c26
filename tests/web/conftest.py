"""A real `flyonce serve` app in uvicorn over a fresh SQLite database, and Debian's Chromium
driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.api.conftest import ServerProcess, login, seeded_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


# The web tests restart the server to test reconnection; the API tests' server process can.
WebServer = ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    proc = seeded_server(tmp_path_factory.mktemp("web-data"))
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def http(server: WebServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as session:
        yield session


@pytest.fixture(scope="module")
def auth(http: httpx.Client) -> dict[str, dict[str, str]]:
    """Bearer headers by test user (op, eva, tm1, tm2, det), from real logins."""
    return {name: login(http, name) for name in ("op", "adm", "eva", "tm1", "tm2", "det")}


# One Chromium per test module, not per session: while Playwright's sync API is open, its event
# loop is the running loop of the thread, and a later module's asyncio.run() (the dispatch and
# MAVSDK tests) in the same pytest-xdist worker would fail with "cannot be called from a running
# event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pages' screenshots go (FLYONCE_WEB_SHOTS, or the test run's temporary folder)."""
    target = os.environ.get("FLYONCE_WEB_SHOTS")
    if target:
        path = Path(target)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


def png_bytes(colour: tuple[int, int, int] = (200, 120, 40), size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real PNG image."""
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def open_page(browser, server: WebServer, path: str, *, user: str | None, viewport=DESK, lang: str = "en",
              **context_args):
    """A fresh browser context logged in as `user` (through the login form), showing `path`."""
    from tests.api.conftest import DEMO_PASSWORD

    context = browser.new_context(viewport=viewport, base_url=server.url, **context_args)
    context.add_init_script(f"if (!localStorage.getItem('flyonce.lang')) localStorage.setItem('flyonce.lang', '{lang}')")
    page = context.new_page()
    # Script errors fail the tests that look at them (page.script_errors).
    page.script_errors = []
    page.on("pageerror", lambda exc: page.script_errors.append(str(exc)))
    if user is not None:
        page.goto("/ui/?next=" + path)
        page.fill("#username", user)
        page.fill("#password", DEMO_PASSWORD)
        page.click("#login-btn")
        page.wait_for_url(f"**{path}")
    else:
        page.goto(path)
    return page


# The service fixtures (a TestClient app on a fresh database with a user per role), for tests
# of the routes that need no browser.
from tests.api.conftest import client, clock, db_url, headers, settings  # noqa: F401
