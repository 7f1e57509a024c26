"""GET /api/v1/reachability: shares against hand-computed cases, the cache, roles."""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session

from api.app import create_app
from api.core.auth import create_token
from api.core.models import Drone, User
from api.core.settings import Settings
from api.core.zones import ZoneIndex
from geofence import LocalFrame
from tests.api.conftest import NO_MERGE, START, TEST_SECRET, TEST_TOKEN_TTL_S, demo_hash

DOCK = (29.5, 120.9)
HALF_M = 2000.0  # the square zone's half side


def _reach_m(target_s: float) -> float:
    """The longest straight route an idle drone flies within ``target_s``, by hand.

    Simulated copter (dispatch.model defaults): 0.5 s of commands, then a climb to 30 m at
    2.5 m/s with 1 m/s² (12 s + 2.5 s), then cruise at 12 m/s from rest with 2.5 m/s² to within
    30 m of the scene (d/12 + 12/5 s). 15 + 2.4 + (L - 30)/12 = target.
    """
    return 30.0 + (target_s - 15.0 - 2.4) * 12.0


def _square(path: Path, kind: str = "residential") -> Path:
    frame = LocalFrame(*DOCK)
    corners = [(-HALF_M, -HALF_M), (HALF_M, -HALF_M), (HALF_M, HALF_M), (-HALF_M, HALF_M),
               (-HALF_M, -HALF_M)]
    ring = []
    for east, north in corners:
        lat, lon = frame.to_wgs84(east, north)
        ring.append([float(lon), float(lat)])
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "sq",
        "properties": {"id": "sq", "name": "Square", "kind": kind},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    return path


def _token(username: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(username, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


ROLES = [("op", "operator"), ("adm", "admin"), ("eva", "evaluator"), ("tm", "ground_team"),
         ("det", "detector"), ("dep", "department")]


@contextmanager
def _serving(db_url: str, tmp_path: Path, clock, zones_file: Path | None,
             *, drone: bool = True) -> Iterator[TestClient]:
    """The app over ``zones_file``, one user per role and (``drone``) one drone at DOCK."""
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path,
                        secret_key=TEST_SECRET, zones_file=zones_file, **NO_MERGE)
    with TestClient(create_app(settings, clock=clock)) as client:
        with Session(client.app.state.engine) as session:
            if drone:
                session.add(Drone(id="d1", name="D1", dock_lat=DOCK[0], dock_lon=DOCK[1]))
            for name, role in ROLES:
                session.add(User(username=name, password_hash=demo_hash(), role=role,
                                 team_id=None,
                                 created_at=START))
            session.commit()
        yield client


@pytest.fixture
def square_client(db_url: str, tmp_path: Path, clock) -> Iterator[TestClient]:
    with _serving(db_url, tmp_path, clock, _square(tmp_path / "sq.geojson")) as client:
        yield client


@pytest.mark.parametrize(("kind", "target_s"), [("residential", 180.0), ("forest", 360.0)])
def test_share_is_the_disc_an_idle_drone_reaches_in_time(db_url, tmp_path, clock, kind,
                                                         target_s) -> None:
    with _serving(db_url, tmp_path, clock, _square(tmp_path / "z.geojson", kind)) as client:
        body = client.get("/api/v1/reachability", params={"cell_m": 20},
                          headers=_token("adm", "admin"))
    assert body.status_code == 200, body.text
    data = body.json()
    side = 2 * HALF_M
    r = min(_reach_m(target_s), math.sqrt(2) * HALF_M)
    if r <= HALF_M:
        expected = math.pi * r * r / side ** 2  # the whole disc lies in the square
    else:  # disc clipped by the square's sides: 4 × (two right triangles + a sector)
        h = math.sqrt(r * r - HALF_M * HALF_M)
        theta = math.pi / 2 - 2 * math.acos(HALF_M / r)
        expected = 4 * (HALF_M * h + 0.5 * r * r * theta) / side ** 2
    (zone,) = data["zones"]
    assert zone["zone_id"] == "sq"
    assert zone["target_s"] == target_s
    assert zone["area_m2"] == pytest.approx(side ** 2, rel=0.01)
    assert zone["within_share"] == pytest.approx(expected, abs=0.01)
    (by_kind,) = data["kinds"]
    assert by_kind == {"kind": kind, "targets_s": [target_s], "area_m2": zone["area_m2"],
                       "within_share": zone["within_share"]}
    grid = data["grid"]
    assert grid["cell_m"] == 20
    assert grid["cols"] == pytest.approx(side / 20, abs=1)  # the square's edges, to a cell
    assert grid["rows"] == pytest.approx(side / 20, abs=1)
    (south, west), (north, east) = grid["bounds"]
    assert south < DOCK[0] < north and west < DOCK[1] < east
    cells = sum(b["cells"] for b in data["legend"]) + data["unreachable_cells"]
    assert cells == grid["cols"] * grid["rows"]
    within_cells = sum(b["cells"] for b in data["legend"] if b["within_target"])
    assert within_cells / cells == pytest.approx(expected, abs=0.01)
    png = Image.open(io.BytesIO(base64.b64decode(data["raster"]["data"])))
    assert png.size == (grid["cols"], grid["rows"])


def test_png_overlay_is_one_pixel_per_cell(square_client: TestClient) -> None:
    response = square_client.get("/api/v1/reachability.png", params={"cell_m": 100},
                                 headers=_token("op", "operator"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    cols, rows = Image.open(io.BytesIO(response.content)).size
    assert cols == pytest.approx(40, abs=1) and rows == pytest.approx(40, abs=1)  # 4 km / 100 m


def test_map_is_recomputed_exactly_when_a_drone_or_zone_changes(square_client: TestClient
                                                                ) -> None:
    app = square_client.app
    cache = app.state.reach
    op = _token("op", "operator")

    def get() -> dict:
        response = square_client.get("/api/v1/reachability", params={"cell_m": 100}, headers=op)
        assert response.status_code == 200, response.text
        return response.json()

    first = get()
    again = get()
    assert cache.computed == 1 and again["fingerprint"] == first["fingerprint"]
    # a second drone at the same dock and of the same model: the same map
    square_client.post("/api/v1/drones", headers=_token("adm", "admin"), json={
        "id": "d2", "name": "D2", "dock_lat": DOCK[0], "dock_lon": DOCK[1]})
    assert get()["fingerprint"] == first["fingerprint"] and cache.computed == 1
    # a faster model at that dock reaches farther
    square_client.post("/api/v1/drones", headers=_token("adm", "admin"), json={
        "id": "d3", "name": "D3", "dock_lat": DOCK[0], "dock_lon": DOCK[1],
        "cruise_speed_mps": 16.0})
    faster = get()
    assert cache.computed == 2 and faster["fingerprint"] != first["fingerprint"]
    assert faster["zones"][0]["within_share"] > first["zones"][0]["within_share"]
    # the zones change (reloaded as forest: a laxer target): recomputed, more cells in time
    app.state.zones = ZoneIndex.load(_square(Path(app.state.settings.data_dir) / "f.geojson",
                                             "forest"), default_target_s=300.0)
    laxer = get()
    assert cache.computed == 3 and laxer["kinds"][0]["kind"] == "forest"
    assert laxer["zones"][0]["within_share"] > faster["zones"][0]["within_share"]

@pytest.mark.parametrize(("user", "role", "status"), [
    ("op", "operator", 200), ("eva", "evaluator", 200), ("adm", "admin", 200),
    ("det", "detector", 403), ("tm", "ground_team", 403), ("dep", "department", 403)])
@pytest.mark.parametrize("path", ["/api/v1/reachability", "/api/v1/reachability.png"])
def test_roles(square_client: TestClient, user: str, role: str, status: int, path: str) -> None:
    response = square_client.get(path, params={"cell_m": 200}, headers=_token(user, role))
    assert response.status_code == status, response.text


@pytest.mark.parametrize("cell_m", [5, 10, 20.5, 500])
def test_cell_size_is_one_of_the_cached_sizes(square_client: TestClient, cell_m: float) -> None:
    response = square_client.get("/api/v1/reachability", params={"cell_m": cell_m},
                                 headers=_token("op", "operator"))
    assert response.status_code == 422
    assert response.json()["detail"] == "query.cell_m: Input should be 20, 50, 100 or 200"


def test_no_drones_is_a_conflict_that_says_what_to_do(db_url, tmp_path, clock) -> None:
    with _serving(db_url, tmp_path, clock, None, drone=False) as client:
        response = client.get("/api/v1/reachability", headers=_token("op", "operator"))
    assert response.status_code == 409
    assert "register drones" in response.text
