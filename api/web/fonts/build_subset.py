"""Cut the web pages' font: Noto Sans CJK SC (SIL OFL 1.1) reduced to the characters the UI uses.

    apt-get install fonts-noto-cjk        # once, on the machine that builds the subset
    python -m api.web.fonts.build_subset  # writes api/web/static/fonts/ui-sans-sc.woff2 + OFL.txt

The pages default to Chinese and a control-room PC or a fresh Debian box may have no CJK font at
all: every label would be an empty box. The app serves this subset (a few hundred KB instead of
the 19 MB collection) through @font-face, so nothing is downloaded at run time. Run it again after
adding a string with new characters; tests/web/test_fonts.py fails until you do.

Needs fontTools (a matplotlib dependency) and brotli (the [test] extra) for WOFF2.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parents[1]
OUT_DIR = WEB_DIR / "static" / "fonts"
FONT_FILE = OUT_DIR / "ui-sans-sc.woff2"
FAMILY = "flyonce UI Sans"  # a derivative's own name (OFL: no reserved names; Noto declares none)
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_INDEX = 2  # the collection's "Noto Sans CJK SC"
LICENCE_SOURCE = Path("/usr/share/doc/fonts-noto-cjk/copyright")


# Besides the pages' own files: the example control room's names (its teams are 巡查中队 N) and the
# public task-code page's wording. A city's own zone or team names with other characters fall
# back, character by character, to whatever font the machine has.
EXTRA_SOURCES = ("demo/seed.py", "routes/codes.py")


def ui_sources(web_dir: Path = WEB_DIR) -> list[Path]:
    """The files whose strings reach the pages: HTML pages and templates, the ES modules, and
    the example data's names."""
    return sorted([*web_dir.glob("pages/*.html"), *web_dir.glob("templates/*.html"),
                   *web_dir.glob("static/js/*.js"),
                   *(web_dir.parent / extra for extra in EXTRA_SOURCES)])


def ui_characters(web_dir: Path = WEB_DIR) -> set[str]:
    """Every character outside ASCII in the UI's files, plus printable ASCII."""
    chars = {chr(c) for c in range(0x20, 0x7F)}
    for path in ui_sources(web_dir):
        chars |= {c for c in path.read_text(encoding="utf-8") if ord(c) >= 0x80 and c.isprintable()}
    return chars


def ofl_text(copyright_file: Path = LICENCE_SOURCE) -> str:
    """The SIL OFL 1.1 text as Debian ships it with the font, de-indented."""
    text = copyright_file.read_text(encoding="utf-8")
    block = re.search(r"^License: SIL-1\.1\n((?: .*\n)+)", text, re.M)
    if block is None:
        raise SystemExit(f"no SIL-1.1 licence text in {copyright_file}")
    lines = [("" if line.strip() == "." else line[1:]) for line in block.group(1).splitlines()]
    return ("Noto Sans CJK SC, Copyright 2014-2021 Adobe (http://www.adobe.com/) and Google "
            "(https://www.google.com/), with Reserved Font Name 'Source'.\n"
            f"Subset to the flyonce web pages' characters and renamed '{FAMILY}' by "
            "api/web/fonts/build_subset.py.\n\n" + "\n".join(lines) + "\n")


def build(source: Path = SOURCE, out: Path = FONT_FILE) -> tuple[int, int, list[str]]:
    """Write the subset; returns (characters kept, bytes written, characters the font lacks)."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    font = TTCollection(str(source)).fonts[SOURCE_INDEX]
    cmap = font.getBestCmap()
    wanted = ui_characters()
    missing = sorted(c for c in wanted if ord(c) not in cmap)
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False  # CFF hints are kept by the browser's rasteriser anyway; smaller file
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in wanted if ord(c) in cmap])
    subsetter.subset(font)
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName(FAMILY.replace(" ", "") + "-Regular", 6, record.platformID,
                          record.platEncID, record.langID)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff2"
    font.save(str(out))
    (out.parent / "OFL.txt").write_text(ofl_text(), encoding="utf-8")
    return len(wanted) - len(missing), out.stat().st_size, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args()
    if not args.source.exists():
        sys.exit(f"{args.source} is missing: apt-get install fonts-noto-cjk")
    kept, size, missing = build(args.source)
    print(f"{FONT_FILE}: {kept} characters, {size / 1024:.0f} KiB")
    if missing:
        print("not in the font (use another character in the UI):", " ".join(f"U+{ord(c):04X} {c}" for c in missing))
        sys.exit(1)


if __name__ == "__main__":
    main()
