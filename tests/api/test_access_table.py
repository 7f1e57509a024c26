"""The access table (api/routes/access.py) against the service, generated from the app's routes.

Every route the app serves must have an entry (a new route without one fails here), and every
entry a route. Then each route is called by every role and by no one, with a plausible request
on seeded objects: a role the table admits is never answered 401/403; a role it leaves out gets
403 (401 without a token); and where the role's scope is its own team or department, another's
object is answered 404 with exactly the body of an id that does not exist.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, select
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.core.auth import Role, create_token
from api.core.models import Sighting, Task, User
from api.core.settings import Settings
from api.routes.access import ACCESS, MOUNT, WEBSOCKET, Rule, Scope, render_markdown
from api.routes.deps import Allowed
from tests.api.conftest import (
    NO_MERGE,
    ROOT,
    START,
    TEST_SECRET,
    TEST_TOKEN_TTL_S,
    ManualClock,
    candidate,
    demo_hash,
    live_protocols,
    seed_fleet,
)

# One principal per role, and no token; tm1 is team t1's, mkt the market department's.
PRINCIPALS = {"op": "operator", "adm": "admin", "eva": "evaluator", "tm1": "ground_team",
              "det": "detector", "mkt": "department", None: None}
MISSING = 987654


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route the app serves, routers included."""
    for route in app.routes:
        # FastAPI keeps an included router whole and matches through its contexts.
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") \
            else [route]
        for ctx in contexts:
            target = getattr(ctx, "starlette_route", None) or ctx
            if isinstance(target, APIWebSocketRoute):
                yield WEBSOCKET, target.path
            elif isinstance(target, Mount):
                yield MOUNT, target.path
            else:
                for method in sorted(set(ctx.methods or ()) - {"HEAD"}):
                    yield method, ctx.path


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    return buf.getvalue()


def _bearer(name: str | None) -> dict[str, str]:
    if name is None:
        return {}
    token = create_token(name, PRINCIPALS[name], secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)
    return {"Authorization": f"Bearer {token}"}


class World:
    """A seeded service: for each kind of id in a path, (own, another's, missing) values."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        engine = client.app.state.engine
        with Session(engine) as session:
            for name, dept in (("mkt", "市场监管"), ("cg", "城管")):
                session.add(User(username=name, password_hash=demo_hash(), role="department",
                                 department=dept, created_at=START))
            session.commit()
        adm = _bearer("adm")
        own, other = self._assigned(adm, "t1"), self._assigned(adm, "t2")
        own_evidence, other_evidence = (
            client.post(f"/api/v1/events/{e}/evidence", headers=adm,
                        files={"photo": ("p.png", _png(), "image/png")}).json()["id"]
            for e in (own, other))
        area = {"type": "Polygon", "coordinates": [[[120.900, 29.500], [120.903, 29.500],
                                                    [120.903, 29.502], [120.900, 29.502],
                                                    [120.900, 29.500]]]}
        requests = [client.post("/api/v1/patrol-requests", headers=adm, json={
            "title": f"{dept} mornings", "department": dept, "area": area,
            "looks_for": ["street_stall"], "window": {"start": "08:00", "end": "12:00"},
            "weekdays": ["mon"], "per_day": 1}).json()["id"] for dept in ("市场监管", "城管")]
        site = client.post("/api/v1/sites", headers=adm, json=SITE).json()["id"]
        visit = client.post("/api/v1/site-visits", headers=adm, json={**VISIT, "site_id": site})
        assert visit.status_code == 201, visit.text
        with Session(engine) as session:
            own_task, other_task = (session.exec(select(Task).where(
                Task.event_id == e, Task.kind == "team")).one() for e in (own, other))
            sighting = session.exec(select(Sighting).where(Sighting.event_id == own)).first()
        self.ids = {
            "event_id": (own, other, MISSING),
            "evidence_id": (own_evidence, other_evidence, MISSING),
            "task_id": (own_task.id, other_task.id, MISSING),
            "team_id": ("t1", "t2", "t999"),
            "request_id": (requests[0], requests[1], MISSING),
            "sighting_id": (sighting.id, sighting.id, MISSING),
            "drone_id": ("d1", "d1", "d999"),
            "code": (own_task.code, other_task.code, "no-such-code"),
            "code:path": (own_task.code, other_task.code, "no-such-code"),
            "page": ("console", "console", "no-such-page"),
            "site_id": (site, site, MISSING),
            "visit_id": (visit.json()["id"], visit.json()["id"], MISSING),
            "year": (2026, 2026, 2026),
            # no webhook is configured here: every delivery id is missing (404 for an admin)
            "delivery_id": (MISSING, MISSING, MISSING),
        }

    def _assigned(self, headers: dict, team: str) -> int:
        c = self.client
        eid = c.post("/api/v1/candidates", json=candidate(), headers=headers).json()["id"]
        assert c.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"},
                      headers=headers).status_code == 200
        assert c.post(f"/api/v1/events/{eid}/assign", json={"team_id": team},
                      headers=headers).status_code == 200
        return eid

    def url(self, path: str, which: int) -> str:
        """``path`` with its ids filled in: 0 own, 1 another's, 2 missing."""
        return re.sub(r"\{([^}]+)\}", lambda m: str(self.ids[m.group(1)][which]), path)


SITE = {"ref": "S-1", "name": "城东加油站", "kind": "fuel_depot", "department": "应急管理",
        "contact": "王经理", "geometry": {"type": "Point", "coordinates": [120.9, 29.5]}}
# Planned on START (Wednesday 2026-11-25): five working days on is Wednesday 2 December.
VISIT = {"visit_day": "2026-12-02", "start_time": "09:30", "basis": "complaint",
         "note": "12345 hotline", "items": "fuel storage", "inspectors": "Li, Zhao"}


# A plausible request per route (a body it would accept); routes not named need none.
def _requests() -> dict[tuple[str, str], dict]:
    user = {"username": "someone-new", "password": "long-enough-pw", "role": "operator"}
    return {
        ("POST", "/api/v1/auth/token"): {"data": {"username": "op", "password": "flyonce-demo"}},
        ("POST", "/api/v1/users"): {"json": user},
        ("POST", "/api/v1/candidates"): {"json": candidate()},
        ("POST", "/api/v1/events/{event_id}/sightings/{sighting_id}/split"):
            {"json": {"reason": "two stalls"}},
        ("POST", "/api/v1/events/{event_id}/review"): {"json": {"decision": "confirm"}},
        ("POST", "/api/v1/events/{event_id}/assign"): {"json": {"team_id": "t1"}},
        ("POST", "/api/v1/events/{event_id}/resolve"): {"data": {"disposition": "removed"}},
        ("POST", "/api/v1/events/{event_id}/evidence"):
            {"files": {"photo": ("p.png", _png(), "image/png")}},
        ("POST", "/api/v1/events/{event_id}/persuade"): {"json": {"clip_id": 1}},
        ("POST", "/api/v1/events/{event_id}/scene-checks"): {"json": {"present": True}},
        ("POST", "/api/v1/drones"): {"json": {"id": "d9", "name": "D9", "dock_lat": 29.5,
                                              "dock_lon": 120.9}},
        ("POST", "/api/v1/teams"): {"json": {"id": "t9", "name": "T9", "lat": 29.5,
                                             "lon": 120.9}},
        ("PUT", "/api/v1/teams/{team_id}/position"): {"json": {"lat": 29.5, "lon": 120.9}},
        ("POST", "/api/v1/dispatch/drones/{drone_id}/patrol"): {"json": {"zone_id": "dongyuan"}},
        ("POST", "/api/v1/public/tasks/{code}/feedback"): {"json": {"rating": 5}},
        ("POST", "/api/v1/patrol-requests"): {"json": {
            "title": "t", "area": {"type": "Polygon", "coordinates": [[
                [120.900, 29.500], [120.901, 29.500], [120.901, 29.501], [120.900, 29.500]]]},
            "looks_for": ["street_stall"], "window": {"start": "08:00", "end": "12:00"},
            "weekdays": ["mon"], "per_day": 1, "department": "市场监管"}},
        ("POST", "/api/v1/patrol-plan"): {"params": {"week": "2026-11-30"}},
        ("POST", "/api/v1/sites"): {"json": {**SITE, "ref": "S-2"}},
        ("POST", "/api/v1/sites/import"): {"json": {"geojson": {
            "type": "FeatureCollection", "features": [{
                "type": "Feature", "geometry": SITE["geometry"],
                "properties": {k: v for k, v in SITE.items() if k != "geometry"}}]}}},
        ("GET", "/api/v1/sites"): {"params": {"year": 2026}},
        ("GET", "/api/v1/sites/{site_id}"): {"params": {"year": 2026}},
        ("POST", "/api/v1/sites/{site_id}/patrol-request"): {"json": {
            "window": {"start": "09:00", "end": "11:00"}}},
        ("POST", "/api/v1/site-grades"): {"params": {"year": 2026}},
        ("POST", "/api/v1/sites/{site_id}/grades/{year}/override"): {"json": {
            "grade": "B", "reason": "rectified in full"}},
        ("POST", "/api/v1/site-scores"): {"json": [{"site_ref": "S-1", "year": 2025,
                                                    "source": "应急管理", "score": 88}]},
        ("POST", "/api/v1/site-visits"): {"json": {**VISIT, "site_id": 1}},
        ("GET", "/api/v1/site-visits"): {"params": {"year": 2026}},
        ("POST", "/api/v1/site-visits/{visit_id}/approve"): {"json": {"note": "ok"}},
        ("GET", "/api/v1/site-exceptions"): {"params": {"year": 2026}},
        ("GET", "/api/v1/site-figures"): {"params": {"year": 2026}},
        ("GET", "/api/v1/events/{event_id}/penalty-baseline"): {"params": {"amount_cny": 200}},
        ("POST", "/api/v1/events/{event_id}/penalty"): {"json": {"amount_cny": 200}},
    }


# A file under each mount, to fetch.
MOUNT_FILES = {"/ui/static": "/ui/static/js/common.js", "/ui/vendor": "/ui/vendor/README.md"}


def _unlisted(_user: Allowed) -> dict:
    return {}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("access")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp / 'flyonce.db'}",
                        data_dir=tmp, secret_key=TEST_SECRET, max_upload_bytes=200_000,
                        **NO_MERGE)
    app = create_app(settings, clock=ManualClock())
    with TestClient(app) as client:
        seed_fleet(app.state.engine)
        yield World(client)


def test_every_route_has_an_entry_and_every_entry_a_route(world: World) -> None:
    served = set(app_routes(world.client.app))
    assert len(served) > 50  # the walk over the routers found them all
    assert sorted(served - set(ACCESS)) == [], "routes with no entry in api/routes/access.py"
    assert sorted(set(ACCESS) - served) == [], "entries for routes the app does not serve"


def test_the_docs_page_is_the_table() -> None:
    page = ROOT / "docs" / "roles.md"
    assert page.read_text(encoding="utf-8") == render_markdown(), \
        "docs/roles.md is stale: python -m api.routes.access > docs/roles.md"


def _normalised(text: str, value: object) -> str:
    return re.sub(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])", "{id}", text)


HTTP_ROUTES = sorted(k for k in ACCESS if k[0] != WEBSOCKET)
SCOPED_ID = {Scope.OWN_TEAM: {"event_id", "task_id", "evidence_id", "team_id"},
             Scope.OWN_DEPARTMENT: {"request_id"}}


def _call(world: World, method: str, path: str, who: str | None,
          which: int = 0) -> httpx.Response:
    if method == MOUNT:
        return world.client.get(MOUNT_FILES[path], headers=_bearer(who))
    kwargs = _requests().get((method, path), {})
    return world.client.request(method, world.url(path, which), headers=_bearer(who), **kwargs,
                                follow_redirects=False)


@pytest.mark.parametrize(("method", "path"), HTTP_ROUTES, ids=[f"{m} {p}" for m, p in HTTP_ROUTES])
def test_each_role_gets_what_the_table_says(world: World, method: str, path: str) -> None:
    rule: Rule = ACCESS[(method, path)]
    for who, role in PRINCIPALS.items():
        r = _call(world, method, path, who)
        said = f"{method} {path} as {who}: {r.status_code} {r.text[:200]}"
        scope = rule.scope_of(role) if role else None
        if rule.public or scope is not None:
            assert r.status_code not in (401, 403), said
        elif who is None:
            assert r.status_code == 401, said
        else:
            assert r.status_code == 403 and "may not" in r.json()["detail"], said
        if scope == Scope.ACK and r.status_code < 300:
            assert set(r.json()) <= {"id", "event_id", "outcome"}, said
        names = set(re.findall(r"\{([^}]+)\}", path)) & SCOPED_ID.get(scope, set())
        if names:  # another's object: the answer of one that does not exist
            (name,) = names
            theirs, missing = _call(world, method, path, who, 1), _call(world, method, path, who, 2)
            assert (theirs.status_code, missing.status_code) == (404, 404), said
            assert _normalised(theirs.text, world.ids[name][1]) == \
                _normalised(missing.text, world.ids[name][2]), said


@pytest.mark.parametrize("who", [w for w in PRINCIPALS if w])
def test_the_live_stream_admits_the_roles_the_table_names(world: World, who: str) -> None:
    token = _bearer(who)["Authorization"].removeprefix("Bearer ")
    protocols = live_protocols(token)
    if ACCESS[(WEBSOCKET, "/api/v1/live")].scope_of(Role(PRINCIPALS[who])) is not None:
        with world.client.websocket_connect("/api/v1/live", subprotocols=protocols) as ws:
            assert ws.receive_json()["kind"] == "hello"
    else:
        with pytest.raises(WebSocketDisconnect) as closed, \
                world.client.websocket_connect("/api/v1/live", subprotocols=protocols):
            pass
        assert closed.value.code == 1008


def test_no_token_may_not_watch_the_live_stream(world: World) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, \
            world.client.websocket_connect("/api/v1/live") as ws:
        ws.send_text("{}")  # a first message without a token
        ws.receive_json()
    assert closed.value.code == 1008


def test_a_route_missing_from_the_table_is_refused_to_everyone(world: World) -> None:
    """What a new route gets until it has an entry: 403 for every role (and this test fails)."""
    app = world.client.app
    app.get("/api/v1/not-in-the-table")(_unlisted)
    try:
        for who in ("op", "adm"):
            r = world.client.get("/api/v1/not-in-the-table", headers=_bearer(who))
            assert r.status_code == 403, r.text
    finally:
        app.router.routes.pop()


def test_every_role_of_the_readme_is_in_the_table() -> None:
    named = {role for rule in ACCESS.values() for role in rule.roles}
    assert named == set(Role)
    assert Path(ROOT / "README.md").read_text(encoding="utf-8").count("docs/roles.md") >= 1
