"""Live alerts over WebSocket: in one process, across two processes through the real Redis,
and idempotent ingest under concurrent retries against a real server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect

from api.core.auth import create_token
from tests.api.conftest import (
    REDIS_URL,
    TEST_SECRET,
    TEST_TOKEN_TTL_S,
    ServerProcess,
    candidate,
    live_protocols,
    prepare_db,
    seeded_server,
    server_env,
)


def test_websocket_receives_each_transition(client: TestClient, headers: dict) -> None:
    token = headers["op"]["Authorization"].split()[1]
    with client.websocket_connect("/api/v1/live", subprotocols=live_protocols(token)) as ws:
        assert ws.accepted_subprotocol == "flyonce.v1"
        assert ws.receive_json()["kind"] == "hello"
        eid = client.post("/api/v1/candidates", json=candidate(), headers=headers["det"]).json()["id"]
        first, second = ws.receive_json(), ws.receive_json()
        assert [(m["event_id"], m["from"], m["to"]) for m in (first, second)] == [
            (eid, None, "detected"), (eid, "detected", "alerted")]
        client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=headers["op"])
        third = ws.receive_json()
        assert (third["to"], third["actor"], third["event"]["state"]) == ("confirmed", "op", "confirmed")


def test_websocket_refuses_a_bad_token(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/api/v1/live", subprotocols=live_protocols("garbage")) as ws:
            ws.receive_json()
    assert info.value.code == 1008


def test_the_token_may_come_as_the_first_message(client: TestClient, headers: dict) -> None:
    token = headers["op"]["Authorization"].split()[1]
    with client.websocket_connect("/api/v1/live") as ws:
        ws.send_text(json.dumps({"token": token}))
        hello = ws.receive_json()
        assert (hello["kind"], hello["user"]) == ("hello", "op")
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/api/v1/live") as ws:
            ws.send_text(json.dumps({"token": "garbage"}))
            ws.receive_json()
    assert info.value.code == 1008


def test_a_token_in_the_url_is_refused(client: TestClient, headers: dict,
                                       caplog: pytest.LogCaptureFixture) -> None:
    token = headers["op"]["Authorization"].split()[1]
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect(f"/api/v1/live?token={token}") as ws:
            ws.receive_json()
    assert info.value.code == 1008 and "never the URL" in info.value.reason
    assert "token in its URL" in caplog.text and token not in caplog.text  # never logged


def test_ground_team_stream_carries_only_its_events(client: TestClient, headers: dict) -> None:
    token = headers["tm1"]["Authorization"].split()[1]
    with client.websocket_connect("/api/v1/live", subprotocols=live_protocols(token)) as ws:
        assert ws.receive_json()["kind"] == "hello"
        other = client.post("/api/v1/candidates", json=candidate(), headers=headers["op"]).json()["id"]
        mine = client.post("/api/v1/candidates", json=candidate(), headers=headers["op"]).json()["id"]
        client.post(f"/api/v1/events/{other}/review", json={"decision": "confirm"}, headers=headers["op"])
        client.post(f"/api/v1/events/{mine}/review", json={"decision": "confirm"}, headers=headers["op"])
        client.post(f"/api/v1/events/{mine}/assign", json={"team_id": "t1"}, headers=headers["op"])
        message = ws.receive_json()  # the first thing t1 may see is its own assignment
        assert (message["event_id"], message["to"], message["team_ids"]) == (mine, "assigned", ["t1"])


@pytest.fixture
def prepared_db(db_url: str) -> str:
    return prepare_db(db_url)


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    proc = seeded_server(tmp_path, db_url)
    yield proc
    proc.stop()


def _auth(name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


def test_concurrent_retries_store_one_event(server: ServerProcess) -> None:
    body = candidate(source_event_id=f"retry-{uuid.uuid4().hex}")
    headers = _auth("det", "detector")

    def send(_: int) -> tuple[int, int]:
        r = httpx.post(f"{server.url}/api/v1/candidates", json=body, headers=headers, timeout=30)
        return r.status_code, r.json()["id"]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, range(32)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 31
    assert len({eid for _, eid in results}) == 1
    listed = httpx.get(f"{server.url}/api/v1/events", headers=_auth("op", "operator")).json()
    assert listed["total"] == 1
    audit = httpx.get(f"{server.url}/api/v1/events/{results[0][1]}/audit", headers=_auth("op", "operator"))
    assert [row["to_state"] for row in audit.json()] == ["detected", "alerted"]


def test_two_processes_share_alerts_through_redis(prepared_db: str, tmp_path: Path) -> None:
    channel = f"flyonce:test:{uuid.uuid4().hex}"
    env = server_env(prepared_db, tmp_path, FLYONCE_REDIS_URL=REDIS_URL, FLYONCE_REDIS_CHANNEL=channel)
    a, b = ServerProcess(env), ServerProcess(env)
    try:
        token = _auth("op", "operator")["Authorization"].split()[1]
        ws_url = b.url.replace("http", "ws") + "/api/v1/live"
        with connect(ws_url, open_timeout=10, subprotocols=live_protocols(token)) as ws:
            assert json.loads(ws.recv(timeout=10))["kind"] == "hello"
            r = httpx.post(f"{a.url}/api/v1/candidates", json=candidate(), headers=_auth("det", "detector"))
            assert r.status_code == 201
            got = [json.loads(ws.recv(timeout=10)) for _ in range(2)]
        assert [(m["event_id"], m["to"]) for m in got] == [(r.json()["id"], "detected"),
                                                           (r.json()["id"], "alerted")]
    finally:
        a.stop()
        b.stop()
