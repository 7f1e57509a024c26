"""The "reach within target" layer on the console and the evaluator's map, in real Chromium over
a real server (two drones at docks near the sample town's middle: tests/api/conftest.seed_fleet)."""

from __future__ import annotations

import pytest

from tests.web.conftest import WebServer, open_page


@pytest.mark.parametrize(("user", "path", "lang", "toggle", "title", "misses"), [
    ("op", "/ui/console", "en", "Reach within target", "ETA / target", None),
    # the evaluator's tiles also say why late arrivals were late: none here yet
    ("eva", "/ui/evaluate", "zh", "时限内可达范围", "预计到达时间 / 到场时限", "无"),
])
def test_the_layer_appears_with_its_legend(browser, server: WebServer, shots, user: str,
                                           path: str, lang: str, toggle: str, title: str,
                                           misses: str | None) -> None:
    page = open_page(browser, server, path, user=user, lang=lang)
    try:
        page.get_by_text(toggle, exact=True).click()
        overlay = page.locator("img.reach-overlay")
        overlay.wait_for(state="attached", timeout=20_000)
        assert overlay.get_attribute("src").startswith("data:image/png;base64,")
        box = overlay.bounding_box()
        assert box["width"] > 50 and box["height"] > 50  # spread over the town, not a dot
        legend = page.locator(".reach-legend")
        assert title in legend.inner_text()
        # seven bins (four in time, three late) and "no dock reaches"
        assert page.locator(".reach-legend .reach-bin").count() == 8
        assert page.locator(".reach-legend .reach-bin[data-within=true]").count() == 4
        # the residential share, from the same answer the API gives
        assert page.locator(".reach-share[data-kind=residential]").count() == 1
        page.screenshot(path=shots / f"reach_{user}_{lang}.png")
        # switched off: the image and its legend go
        page.get_by_text(toggle, exact=True).click()
        page.locator("img.reach-overlay").wait_for(state="detached", timeout=5_000)
        assert page.locator(".reach-legend").count() == 0
        if misses is not None:
            tile = page.locator("[data-figure=misses] .v")
            assert tile.inner_text() == misses
        assert page.script_errors == []
    finally:
        page.context.close()
