"""The control room's web pages: HTML, static assets, and the map layers the pages draw.

Pages are plain HTML + ES modules under `api/web/` (no build step); Leaflet and Chart.js are
vendored under `api/web/vendor/`. Each page checks the login kept in the browser and shows only
what the role may do; the REST API enforces the same rules again.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from api.core.basemaps import tiles_for
from api.core.errors import NotFound
from api.core.models import Zone
from api.core.zones import stored_zones
from api.routes.deps import Allowed, ClockDep, SessionDep, SettingsDep

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
PAGES = {"": "login.html", "console": "console.html", "event": "event.html", "team": "team.html",
         "evaluate": "evaluate.html", "patrols": "patrols.html", "sites": "sites.html"}

router = APIRouter(tags=["web"])


class BaseMap(BaseModel):
    url: str
    bounds: list[list[float]]  # [[lat_south, lon_west], [lat_north, lon_east]]


class MapConfig(BaseModel):
    """What a page needs to draw its map and count down against the service's clock."""

    now: str
    tile_url: str | None
    tile_datum: Literal["wgs84", "gcj02"] = Field(
        "wgs84", description="The tiles' datum: gcj02 (AMap, Tencent) has the page shift every "
        "WGS84 position onto them; stored and sent positions stay WGS84.")
    tile_attribution: str | None = None
    tile_subdomains: str | None = None
    tile_overlay_url: str | None = Field(None, description="A labels layer over the tiles (Tianditu).")
    basemap: BaseMap | None
    center: list[float]
    bounds: list[list[float]] | None
    local_tz: str  # IANA zone the pages show times and take dates in (FLYONCE_LOCAL_TZ)


@lru_cache
def _sample_basemap() -> BaseMap | None:
    meta = WEB_DIR / "static" / "basemap" / "sample_town.json"
    if not meta.exists():
        return None
    data = json.loads(meta.read_text())
    return BaseMap(url=f"/ui/static/basemap/{data['image']}", bounds=data["bounds"])


def _zone_bounds(zones: list[Zone]) -> list[list[float]] | None:
    lats, lons = [], []
    for zone in zones:
        _walk(json.loads(zone.geometry_geojson)["coordinates"], lats, lons)
    if not lats:
        return None
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _walk(coords, lats: list[float], lons: list[float]) -> None:
    if coords and isinstance(coords[0], (int, float)):
        lons.append(coords[0])
        lats.append(coords[1])
        return
    for part in coords:
        _walk(part, lats, lons)


@router.get("/api/v1/map/config", response_model=MapConfig, tags=["map"],
            summary="Base layer, view and the service's clock for the web pages")
def map_config(_user: Allowed, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> MapConfig:
    zones = list(stored_zones(session))
    bounds = _zone_bounds(zones)
    # The shipped orthophoto shows the sample town only: with a city's own zones it would mislead.
    tiles = tiles_for(settings)
    basemap = _sample_basemap() if settings.zones_file is None and not tiles.url else None
    center = ([(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
              if bounds else [29.5, 120.9])
    return MapConfig(now=clock.now().isoformat(), tile_url=tiles.url, tile_datum=tiles.datum,
                     tile_attribution=tiles.attribution, tile_subdomains=tiles.subdomains,
                     tile_overlay_url=tiles.overlay_url, basemap=basemap, center=center,
                     bounds=bounds, local_tz=settings.local_tz)


class ZoneCollection(BaseModel):
    """GeoJSON: one Feature per zone, its properties id, name, kind and response_target_s."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


@router.get("/api/v1/map/zones", response_model=ZoneCollection, tags=["map"], summary="The zones as a GeoJSON FeatureCollection")
def map_zones(_user: Allowed, session: SessionDep) -> dict:
    features = [{
        "type": "Feature",
        "id": z.id,
        "properties": {"id": z.id, "name": z.name, "kind": z.kind,
                       "response_target_s": z.response_target_s},
        "geometry": json.loads(z.geometry_geojson),
    } for z in stored_zones(session)]
    return {"type": "FeatureCollection", "features": features}


@router.get("/ui", include_in_schema=False)
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/")


@router.get("/ui/", include_in_schema=False)
def ui_login() -> FileResponse:
    return ui_page("")


@router.get("/ui/{page}", include_in_schema=False)
def ui_page(page: str) -> FileResponse:
    name = PAGES.get(page)
    if name is None:
        raise NotFound(f"no page '/ui/{page}'; the pages are /ui/ (login), /ui/console, "
                       "/ui/team, /ui/evaluate, /ui/patrols and /ui/sites")
    return FileResponse(WEB_DIR / "pages" / name, media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


def install(app: FastAPI, *, responses: dict | None = None) -> None:
    """Add the pages, their static assets (/ui/static, /ui/vendor) and the map layers to `app`."""
    app.mount("/ui/static", StaticFiles(directory=WEB_DIR / "static"), name="web-static")
    app.mount("/ui/vendor", StaticFiles(directory=WEB_DIR / "vendor"), name="web-vendor")
    app.include_router(router, responses=responses)
