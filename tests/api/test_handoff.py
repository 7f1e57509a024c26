"""Hand-off to a city's platforms (api/handoff): signed webhooks against a real HTTP receiver that
checks every signature itself and fails on purpose, the dead-letter list and its replay, and
exports of events and hot spots as GeoJSON (RFC 7946), KML and CSV with the list's filters.

The receiver recomputes HMAC-SHA256 over "<t>.<body>" with the shared secret on its own
(``hmac`` here, not the service's code), so a wrong signature fails the test, not only a
missing one.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.auth import create_token
from api.core.settings import Settings
from api.monitoring import logs
from tests.api.conftest import (
    NO_MERGE,
    TEST_SECRET,
    TEST_TOKEN_TTL_S,
    ManualClock,
    candidate,
    seed_fleet,
    wait_for,
)

HOOK_SECRET = "city-platform-shared-secret"
BACKOFF_S, MAX_ATTEMPTS = 10.0, 3


def auth(name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


OP, ADM, TM1 = auth("op", "operator"), auth("adm", "admin"), auth("tm1", "ground_team")


class Receiver:
    """A city platform's endpoint: checks each signature, answers 503 to the next ``fail`` POSTs."""

    def __init__(self) -> None:
        self.fail = 0
        self.seen: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parts = dict(p.split("=", 1) for p in self.headers["X-Flyonce-Signature"].split(","))
                mac = hmac.new(HOOK_SECRET.encode(), parts["t"].encode() + b"." + body,
                               hashlib.sha256).hexdigest()
                with outer.lock:
                    failing = outer.fail > 0
                    outer.fail -= failing
                    outer.seen.append({
                        "delivery": self.headers["X-Flyonce-Delivery"],
                        "topic": self.headers["X-Flyonce-Topic"], "body": body,
                        "signed": hmac.compare_digest(mac, parts["v1"]),
                        "fresh": abs(time.time() - int(parts["t"])) < 60, "failed": failing})
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, topic: str) -> list[dict]:
        with self.lock:
            return [s for s in self.seen if s["topic"] == topic]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def hooked(db_url: str, tmp_path: Path, receiver: Receiver, clock: ManualClock
           ) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path,
                        secret_key=TEST_SECRET, webhook_urls=[receiver.url],
                        webhook_secret=HOOK_SECRET, webhook_poll_s=0.05,
                        webhook_backoff_s=BACKOFF_S, webhook_max_attempts=MAX_ATTEMPTS, **NO_MERGE)
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        seed_fleet(app.state.engine)
        yield client


def tried(client: TestClient, n: int) -> None:
    """Wait until the one delivery's ``n``-th try is recorded (its next time set from the clock
    as it was then: the test moves the clock only afterwards)."""
    wait_for(lambda: deliveries(client), lambda d: d and d[0]["attempts"] == n, 10)


def confirmed_event(client: TestClient, **where) -> int:
    eid = client.post("/api/v1/candidates", json=candidate(**where), headers=OP).json()["id"]
    assert client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"},
                       headers=OP).status_code == 200
    return eid


def deliveries(client: TestClient, **params) -> list[dict]:
    r = client.get("/api/v1/webhooks/deliveries", params=params, headers=ADM)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_failing_receiver_gets_the_same_signed_body_until_it_answers(
        hooked: TestClient, receiver: Receiver, clock: ManualClock) -> None:
    receiver.fail = 2
    eid = confirmed_event(hooked)
    tried(hooked, 1)
    time.sleep(0.3)  # six more rounds of the sender: the backoff holds the retry back
    assert len(receiver.of("event.confirmed")) == 1
    clock.advance(BACKOFF_S)  # 1st retry after 10 s
    tried(hooked, 2)
    clock.advance(BACKOFF_S)  # the 2nd waits 20 s: not yet after 10
    time.sleep(0.3)
    assert len(receiver.of("event.confirmed")) == 2
    clock.advance(BACKOFF_S)
    tries = wait_for(lambda: receiver.of("event.confirmed"), lambda s: len(s) == 3, 10)
    assert [t["failed"] for t in tries] == [True, True, False]
    assert all(t["signed"] and t["fresh"] for t in tries)
    assert len({t["delivery"] for t in tries}) == 1 and len({t["body"] for t in tries}) == 1
    body = json.loads(tries[0]["body"])
    assert (body["topic"], body["event_id"], body["from"], body["to"]) == (
        "event.confirmed", eid, "alerted", "confirmed")
    [row] = wait_for(lambda: deliveries(hooked), lambda d: d and d[0]["state"] == "delivered", 5)
    assert (row["attempts"], row["last_status"], row["event_id"]) == (3, 204, eid)
    # a change not hooked (detected, alerted) sent nothing; assigning sends event.assigned
    assert {s["topic"] for s in receiver.seen} == {"event.confirmed"}
    assert hooked.post(f"/api/v1/events/{eid}/assign", json={"team_id": "t1"},
                       headers=OP).status_code == 200
    [assigned] = wait_for(lambda: receiver.of("event.assigned"), lambda s: len(s) == 1, 10)
    assert assigned["signed"] and json.loads(assigned["body"])["to"] == "assigned"


def test_given_up_deliveries_are_listed_and_replayed_by_an_admin(
        hooked: TestClient, receiver: Receiver, clock: ManualClock) -> None:
    receiver.fail = MAX_ATTEMPTS
    eid = confirmed_event(hooked)
    for n in range(1, MAX_ATTEMPTS):
        tried(hooked, n)
        clock.advance(BACKOFF_S * 2 ** (n - 1))
    [dead] = wait_for(lambda: deliveries(hooked, state="dead"), lambda d: len(d) == 1, 5)
    assert (dead["event_id"], dead["attempts"], dead["last_status"]) == (eid, MAX_ATTEMPTS, 503)
    assert "503" in dead["last_error"]
    assert hooked.get("/api/v1/webhooks/deliveries", headers=OP).status_code == 403
    assert hooked.post("/api/v1/webhooks/deliveries/999999/replay", headers=ADM).status_code == 404

    r = hooked.post(f"/api/v1/webhooks/deliveries/{dead['id']}/replay", headers=ADM)
    assert r.status_code == 200 and (r.json()["state"], r.json()["attempts"]) == ("pending", 0)
    tries = wait_for(lambda: receiver.of("event.confirmed"),
                     lambda s: len(s) == MAX_ATTEMPTS + 1, 10)
    assert tries[-1]["failed"] is False and tries[-1]["delivery"] == str(dead["id"])
    wait_for(lambda: deliveries(hooked, state="delivered"), lambda d: len(d) == 1, 5)
    # a delivered one is not replayed
    again = hooked.post(f"/api/v1/webhooks/deliveries/{dead['id']}/replay", headers=ADM)
    assert again.status_code == 409


def test_every_log_line_about_the_event_names_it(hooked: TestClient, receiver: Receiver) -> None:
    stream = io.StringIO()
    handler = logs.configure("json", stream=stream)
    try:
        eid = confirmed_event(hooked)
        wait_for(lambda: receiver.of("event.confirmed"), lambda s: len(s) == 1, 10)
        wait_for(lambda: stream.getvalue(), lambda text: "delivered" in text, 5)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    about = [line for line in lines if "delivered" in line["event"]]
    assert about and all(line["event_id"] == eid and line["level"] == "info" for line in about)
    assert all(line["timestamp"].endswith("Z") for line in lines)


# ---------------------------------------------------------------- exports

A, B = (29.4941, 120.9062), (29.5012, 120.8987)  # two corners of the sample town


@pytest.fixture
def two_events(client: TestClient) -> tuple[int, int]:
    first = client.post("/api/v1/candidates", json=candidate(lat=A[0], lon=A[1]),
                        headers=OP).json()["id"]
    second = confirmed_event(client, lat=B[0], lon=B[1], type="mobile_fuel_sale")
    return first, second


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the list's own queries
def test_events_export_as_geojson_lon_lat(client: TestClient, two_events: tuple[int, int]) -> None:
    first, second = two_events
    r = client.get("/api/v1/exports/events", headers=OP)
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    by_id = {f["id"]: f for f in doc["features"]}
    assert set(by_id) == {first, second}
    assert by_id[first]["geometry"] == {"type": "Point", "coordinates": [A[1], A[0]]}  # lon, lat
    assert by_id[second]["properties"]["state"] == "confirmed"
    # the list's filters: state and type
    only = client.get("/api/v1/exports/events", params={"state": "confirmed"}, headers=OP).json()
    assert [f["id"] for f in only["features"]] == [second]
    fuel = client.get("/api/v1/exports/events", params={"type": "street_stall"}, headers=OP).json()
    assert [f["id"] for f in fuel["features"]] == [first]
    # a ground team exports only its tasks' events: none yet
    assert client.get("/api/v1/exports/events", headers=TM1).json()["features"] == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the list's own queries
def test_events_export_as_kml_and_csv(client: TestClient, two_events: tuple[int, int]) -> None:
    first, second = two_events
    kml = client.get("/api/v1/exports/events", params={"format": "kml"}, headers=OP)
    assert kml.headers["content-type"] == "application/vnd.google-earth.kml+xml"
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = ET.fromstring(kml.content).findall(".//k:Placemark", ns)
    coords = {m.get("id"): m.find(".//k:coordinates", ns).text for m in marks}
    assert coords == {f"p{first}": f"{A[1]},{A[0]}", f"p{second}": f"{B[1]},{B[0]}"}

    text = client.get("/api/v1/exports/events", params={"format": "csv", "bbox":
                      f"{A[1] - 1e-3},{A[0] - 1e-3},{A[1] + 1e-3},{A[0] + 1e-3}"},
                      headers=OP).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(int(r["id"]), float(r["lat"]), float(r["lon"]), r["state"]) for r in rows] == [
        (first, A[0], A[1], "alerted")]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the list's own queries
def test_hotspots_export_matches_the_hotspot_list(client: TestClient, clock: ManualClock) -> None:
    for day in range(3):  # three confirmed stalls at one corner, a day apart
        confirmed_event(client, lat=A[0], lon=A[1], detected_at=(
            clock.now() - timedelta(days=day)).isoformat())
    listed = client.get("/api/v1/hotspots", headers=OP).json()["items"]
    doc = client.get("/api/v1/exports/hotspots", headers=OP).json()
    assert len(listed) == len(doc["features"]) == 1
    spot = doc["features"][0]
    assert spot["geometry"]["coordinates"] == [listed[0]["lon"], listed[0]["lat"]]
    assert spot["properties"]["count"] == 3
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/api/v1/exports/hotspots", params={"format": "csv"}, headers=OP).text)))
    assert [int(r["count"]) for r in rows] == [3]
