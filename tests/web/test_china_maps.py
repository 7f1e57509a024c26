"""Maps of China (api/web/static/js/chinacoords.js, api/core/basemaps.py): the WGS84 ⇄ GCJ-02
transform the pages run, checked in the real Chromium against published reference points and
against an independent implementation (the `eviltransform` package on PyPI); the projection
that puts WGS84 layers on GCJ-02 tiles; and the pages of a service set to AMap: AMap's tiles,
and the team page's AMap link in GCJ-02.

Reference points: googollee/eviltransform's test table (python/test.py), WGS84 → GCJ-02 in
Shanghai, Shenzhen and Beijing, to 6 decimals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import eviltransform
import httpx
import pytest

from tests.api.conftest import candidate, login, seeded_server
from tests.web.conftest import PHONE, WebServer, open_page

REFERENCE = [  # wgs_lat, wgs_lon, gcj_lat, gcj_lon
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
TOWN = (29.4987, 120.9042)  # the sample town
GRID = [(-5.0 + i * 3.3, 65.0 + j * 4.0) for i in range(20) for j in range(20)]  # China and round it
M_PER_DEG = 111_195.0


@pytest.fixture(scope="module")
def amap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    proc = seeded_server(tmp_path_factory.mktemp("amap"), FLYONCE_BASE_MAP="amap")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def page(browser, amap_server: WebServer):
    page = open_page(browser, amap_server, "/ui/console", user="op")
    page.wait_for_selector(".leaflet-tile-pane img", state="attached")  # no network: never shown
    yield page
    page.context.close()


IMPORT = "const m = await import('/ui/static/js/chinacoords.js');"


def test_the_transform_meets_the_published_points(page) -> None:
    got = page.evaluate(f"""async (refs) => {{ {IMPORT}
        return refs.map(([a, b, c, d]) => [m.wgs84ToGcj02(a, b), m.gcj02ToWgs84(c, d),
                                            m.gcj02ToWgs84(...m.wgs84ToGcj02(a, b))]); }}""",
        REFERENCE)
    for (wlat, wlon, glat, glon), (forward, back, round_trip) in zip(REFERENCE, got):
        assert forward == pytest.approx([glat, glon], abs=5e-7)  # the table's 6 decimals
        assert back == pytest.approx([wlat, wlon], abs=5e-7)
        # the inverse undoes the forward formula to 1e-9 degrees (0.1 mm)
        assert round_trip == pytest.approx([wlat, wlon], abs=1e-9)
        # and the offset is the hundreds of metres the issue speaks of
        assert 300 < M_PER_DEG * math.hypot(glat - wlat, (glon - wlon) * math.cos(math.radians(wlat))) < 800


def test_the_transform_agrees_with_an_independent_implementation(page) -> None:
    got = page.evaluate(f"""async (grid) => {{ {IMPORT}
        return grid.map(([a, b]) => [m.wgs84ToGcj02(a, b), m.outOfChina(a, b)]); }}""", GRID)
    for (lat, lon), (forward, outside) in zip(GRID, got):
        assert forward == pytest.approx(list(eviltransform.wgs2gcj(lat, lon)), abs=1e-9)
        assert outside == eviltransform.outOfChina(lat, lon)
    assert 0 < sum(o for _, o in got) < len(GRID)  # the grid reaches past China's box


def test_wgs84_layers_land_on_gcj02_tiles(page) -> None:
    # The projection the map uses: a WGS84 position is drawn at the pixel of its GCJ-02 twin,
    # and a pixel (a click) reads back as WGS84.
    wgs, gcj = REFERENCE[0][:2], REFERENCE[0][2:]
    drawn, plain, back = page.evaluate(f"""async ([wgs, gcj]) => {{ {IMPORT}
        const crs = m.gcj02Crs(L);
        const p = crs.latLngToPoint(L.latLng(wgs[0], wgs[1]), 17);
        const q = L.CRS.EPSG3857.latLngToPoint(L.latLng(gcj[0], gcj[1]), 17);
        const ll = crs.pointToLatLng(p, 17);
        return [[p.x, p.y], [q.x, q.y], [ll.lat, ll.lng]]; }}""", [wgs, gcj])
    assert drawn == pytest.approx(plain, abs=0.1)  # within a tenth of a pixel at zoom 17
    assert back == pytest.approx(list(wgs), abs=1e-8)


def test_a_service_on_amap_draws_amap_tiles_with_the_shifted_projection(page) -> None:
    sources = page.eval_on_selector_all(".leaflet-tile-pane img", "els => els.map(e => e.src)")
    assert sources and all("autonavi.com/appmaptile" in s for s in sources)
    config = page.evaluate("""async () => {
        const s = JSON.parse(localStorage.getItem('flyonce.session'));
        const r = await fetch('/api/v1/map/config',
                              {headers: {Authorization: 'Bearer ' + s.access_token}});
        return r.json(); }""")
    assert (config["tile_datum"], config["tile_subdomains"]) == ("gcj02", "1234")


def test_the_team_page_links_amap_in_gcj02(browser, amap_server: WebServer) -> None:
    http = httpx.Client(base_url=amap_server.url, timeout=10)
    op, det = login(http, "op"), login(http, "det")
    eid = http.post("/api/v1/candidates", json=candidate(lat=TOWN[0], lon=TOWN[1]),
                    headers=det).json()["id"]
    for path, body in ((f"/api/v1/events/{eid}/review", {"decision": "confirm"}),
                       (f"/api/v1/events/{eid}/assign", {"team_id": "t2", "reason": "test"})):
        assert http.post(path, json=body, headers=op).status_code == 200
    page = open_page(browser, amap_server, "/ui/team", user="tm2", viewport=PHONE)
    link = page.locator(f'.task[data-event="{eid}"] a[data-nav="amap"]')
    href = link.get_attribute("href")
    page.context.close()
    query = parse_qs(urlparse(href).query)
    lon, lat = (float(v) for v in query["position"][0].split(","))
    glat, glon = eviltransform.wgs2gcj(*TOWN)
    assert (lat, lon) == pytest.approx((glat, glon), abs=1e-6)
    assert query["coordinate"] == ["gaode"]
    assert re.match(r"https://uri\.amap\.com/marker\?", href)
