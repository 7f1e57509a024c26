"""The pages render Chinese on a machine with no CJK font: the app serves a subset of Noto Sans
CJK SC cut to the UI's characters, and markers are SVG shapes, not text glyphs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from api.web.fonts.build_subset import FAMILY, FONT_FILE, ui_characters
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, WebServer, open_page


def test_every_character_of_the_ui_is_in_the_served_font() -> None:
    cmap = TTFont(str(FONT_FILE)).getBestCmap()
    missing = sorted(c for c in ui_characters() if ord(c) not in cmap)
    assert missing == [], ("run `python -m api.web.fonts.build_subset` after adding strings; "
                           f"not in the font: {''.join(missing)}")
    # Chinese is in there at all (the check above would pass on an empty UI).
    assert all(ord(c) in cmap for c in "指挥台告警确认驳回派遣无人机地面中队")
    assert FONT_FILE.stat().st_size < 400_000  # a subset, not the 19 MB collection
    assert "SIL OPEN FONT LICENSE Version 1.1" in (FONT_FILE.parent / "OFL.txt").read_text()


@pytest.fixture(scope="module")
def bare_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Chromium that sees only DejaVu (no CJK font), as on a fresh Debian box."""
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("fontconfig")
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    "<dir>/usr/share/fonts/truetype/dejavu</dir>"
                    f"<cachedir>{folder / 'cache'}</cachedir></fontconfig>")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                      env={"FONTCONFIG_FILE": str(conf), "HOME": str(folder)})
        yield chromium
        chromium.close()


# Two different characters drawn in the same font: tofu boxes come out pixel-identical, real
# glyphs do not.
SAME_PIXELS = """(font) => {
  const draw = (ch) => { const c = document.createElement("canvas"); c.width = 40; c.height = 40;
    const x = c.getContext("2d"); x.font = font; x.fillText(ch, 4, 30); return c.toDataURL(); };
  return draw("指") === draw("台");
}"""


def test_chinese_renders_without_a_system_cjk_font(bare_browser, server: WebServer, shots: Path) -> None:
    page = open_page(bare_browser, server, "/ui/console", user="op", lang="zh")
    page.wait_for_selector('#live-status[data-state="ok"]')
    assert page.locator('[data-i18n="alerts"]').inner_text() == "告警"
    page.evaluate("document.fonts.ready")
    page.wait_for_function(f"document.fonts.check('14px \"{FAMILY}\"', '指挥台')")
    # The control: this browser really has no CJK font, so sans-serif draws boxes …
    assert page.evaluate(SAME_PIXELS, "20px sans-serif") is True
    # … and the page's own font stack draws glyphs.
    stack = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert stack.startswith(f'"{FAMILY}"')
    assert page.evaluate(SAME_PIXELS, f"20px {stack}") is False
    # The language button and the map's markers and legend carry no text glyphs of their own.
    assert page.locator("#lang").inner_text() == "EN"
    page.wait_for_selector(".team-icon svg")
    assert page.locator(".team-icon").first.inner_text() == ""
    assert page.locator(".dock-icon").first.inner_text() == ""
    page.screenshot(path=shots / "console-no-cjk-font.png")
    assert page.script_errors == []
    page.context.close()
