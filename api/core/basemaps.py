"""Base-map presets for the pages: where the tiles come from and in which datum they are drawn.

Everything flyonce stores is WGS84. Tianditu's tiles are CGCS2000, within a few centimetres of
WGS84 at the scale of a street, and are drawn as WGS84. AMap's and Tencent's are GCJ-02: the
pages then shift every position onto them (api/web/static/js/chinacoords.js), both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.core.settings import Settings


@dataclass(frozen=True)
class Preset:
    url: str
    datum: str  # wgs84 | gcj02
    attribution: str
    subdomains: str = ""
    overlay_url: str | None = None  # a labels layer drawn over the tiles (Tianditu)


_TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
             "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
             "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")

PRESETS: dict[str, Preset] = {
    "osm": Preset("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "wgs84",
                  "© OpenStreetMap contributors"),
    "tianditu": Preset(_TIANDITU.replace("{layer}", "vec"), "wgs84", "© 天地图 Tianditu",
                       "01234567", overlay_url=_TIANDITU.replace("{layer}", "cva")),
    "amap": Preset("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                   "&style=8&x={x}&y={y}&z={z}", "gcj02", "© 高德地图 AMap", "1234"),
    "tencent": Preset("https://rt{s}.map.gtimg.com/realtimerender?z={z}&x={x}&y={-y}"
                      "&type=vector&style=0", "gcj02", "© 腾讯地图 Tencent", "0123"),
}


@dataclass(frozen=True)
class Tiles:
    url: str | None
    datum: str
    attribution: str | None = None
    subdomains: str | None = None
    overlay_url: str | None = None


def tiles_for(settings: Settings) -> Tiles:
    """The tiles the pages draw, from ``base_map`` and ``tile_url`` (the URL wins)."""
    preset = PRESETS.get(settings.base_map or "")
    key = settings.tianditu_key.get_secret_value() if settings.tianditu_key else ""
    if preset is None:
        return Tiles(settings.tile_url, settings.tile_datum or "wgs84")
    fill = lambda url: url.replace("{key}", key) if url else url  # noqa: E731
    return Tiles(url=settings.tile_url or fill(preset.url),
                 datum=settings.tile_datum or preset.datum, attribution=preset.attribution,
                 subdomains=preset.subdomains or None,
                 overlay_url=None if settings.tile_url else fill(preset.overlay_url))
