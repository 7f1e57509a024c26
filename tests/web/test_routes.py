"""The pages, assets and map layers as plain HTTP (no browser)."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from fastapi.testclient import TestClient

SAMPLE_ZONES = json.loads((resources.files("geofence") / "data" / "sample_town.geojson").read_text())


@pytest.mark.parametrize(("path", "content_type", "needle"), [
    ("/ui/", "text/html", 'id="login-form"'),
    ("/ui/console", "text/html", 'src="/ui/static/js/console.js"'),
    ("/ui/team", "text/html", 'src="/ui/static/js/team.js"'),
    ("/ui/evaluate", "text/html", "/ui/vendor/chartjs/chart.umd.min.js"),
    ("/ui/event", "text/html", 'src="/ui/static/js/event.js"'),
    ("/ui/vendor/leaflet/leaflet.js", "javascript", "Leaflet"),
    ("/ui/vendor/leaflet/images/marker-icon.png", "image/png", None),
    ("/ui/static/basemap/sample_town.jpg", "image/jpeg", None),
])
def test_pages_and_assets_are_served_locally(client: TestClient, path: str, content_type: str,
                                             needle: str | None) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert content_type in response.headers["content-type"]
    if needle:
        assert needle in response.text


def test_root_leads_to_the_login_page(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (307, "/ui/")


def test_unknown_page_says_which_exist(client: TestClient) -> None:
    response = client.get("/ui/nope")
    assert response.status_code == 404
    assert "/ui/console" in response.json()["detail"]


def test_zones_layer_mirrors_the_sample_town(client: TestClient, headers: dict) -> None:
    layer = client.get("/api/v1/map/zones", headers=headers["eva"]).json()
    expected = {f["properties"]["id"]: f["properties"]["kind"] for f in SAMPLE_ZONES["features"]}
    assert {f["id"]: f["properties"]["kind"] for f in layer["features"]} == expected


def test_map_config_puts_the_orthophoto_over_every_zone(client: TestClient, headers: dict) -> None:
    config = client.get("/api/v1/map/config", headers=headers["tm1"]).json()
    (south, west), (north, east) = config["basemap"]["bounds"]
    (zs, zw), (zn, ze) = config["bounds"]
    assert south < zs and west < zw and north > zn and east > ze  # the town has a 100 m margin
    assert config["now"].startswith("2026-11-25T08:00:00")  # the service's (test) clock
    assert config["tile_url"] is None
    assert config["local_tz"] == "Asia/Shanghai"  # the zone the pages show times in, by default


@pytest.mark.parametrize("path", ["/api/v1/map/zones", "/api/v1/map/config"])
def test_map_layers_need_a_login(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401


def test_a_tile_url_replaces_the_orthophoto(settings, clock) -> None:
    from api.app import create_app
    from tests.api.conftest import seed_fleet

    settings.tile_url = "https://tiles.example.cn/{z}/{x}/{y}.png"
    settings.local_tz = "Europe/London"
    with TestClient(create_app(settings, clock=clock)) as client:
        seed_fleet(client.app.state.engine)
        from tests.api.conftest import login

        config = client.get("/api/v1/map/config", headers=login(client, "op")).json()
    assert (config["tile_url"], config["basemap"]) == ("https://tiles.example.cn/{z}/{x}/{y}.png", None)
    assert config["local_tz"] == "Europe/London"
