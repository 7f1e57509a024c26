"""Hostile and out-of-range input (issue 33): each is refused with its status and a message that
names the problem, before it can overflow the database, be stored, or cost memory."""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.auth import create_token
from api.core.models import AuditEntry
from api.core.settings import Settings
from api.routes.guards import BodyLimit
from tests.api.conftest import (
    TEST_SECRET,
    TEST_TOKEN_TTL_S,
    ManualClock,
    candidate,
    seed_fleet,
    seeded_server,
)

BIG = 2**63  # one past the largest id a database column holds


def token_of(name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(name, role, secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


def post(client: TestClient, headers: dict, **overrides):
    return client.post("/api/v1/candidates", json=candidate(**overrides), headers=headers)


def png_header_only(width: int, height: int) -> bytes:
    """A small valid-looking PNG that declares `width` x `height` (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * ((width + 7) // 8 + 1) * 64, 9)  # 64 blank rows of it
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def detail(response) -> str:
    return response.json()["detail"]


def confirmed(client: TestClient, headers: dict, **overrides) -> int:
    r = post(client, headers["det"], **overrides)
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    r = client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=headers["op"])
    assert r.status_code == 200, r.text
    return eid


# --- integers the database cannot hold ------------------------------------------------------

@pytest.mark.parametrize("path", [f"/api/v1/events/{BIG}", f"/api/v1/events/{BIG}/audit",
                                  f"/api/v1/evidence/{BIG}", f"/api/v1/tasks/{BIG}/qr.svg",
                                  f"/api/v1/events?offset={BIG}"])
def test_an_integer_past_64_bits_is_a_422_naming_it(client: TestClient, headers: dict,
                                                    path: str) -> None:
    r = client.get(path, headers=headers["op"])
    assert r.status_code == 422, r.text
    assert ("offset" if "offset" in path else "_id") in detail(r)
    assert "less than or equal to 9223372036854775807" in detail(r)


def test_sightings_of_1e30_is_refused_not_a_500(client: TestClient, headers: dict) -> None:
    r = post(client, headers["det"], sightings=1e30)
    assert r.status_code == 422 and "sightings" in detail(r)
    r = post(client, headers["det"], sightings=10**30)
    assert r.status_code == 422 and "sightings" in detail(r)


# --- lax coercion ---------------------------------------------------------------------------

@pytest.mark.parametrize(("override", "names"), [
    ({"lon": False}, "lon"), ({"lat": "29.5"}, "lat"), ({"confidence": True}, "confidence"),
    ({"detected_at": 1764057600.0}, "detected_at"), ({"detected_at": 1764057600}, "detected_at"),
])
def test_no_lax_coercion_of_numbers_booleans_and_times(client: TestClient, headers: dict,
                                                       override: dict, names: str) -> None:
    r = post(client, headers["det"], **override)
    assert r.status_code == 422, r.text
    assert names in detail(r)


# --- times ----------------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
                                  "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z",
                                  "9999-12-31T23:59:59-12:00"])
def test_a_time_outside_2000_to_2100_is_refused(client: TestClient, headers: dict, when: str) -> None:
    r = post(client, headers["det"], detected_at=when)
    assert r.status_code == 422, r.text
    assert "detected_at" in detail(r) and "2000-01-01 to 2100-01-01" in detail(r)


def test_a_time_at_minus_12_is_stored_in_utc_and_confirms(client: TestClient, headers: dict) -> None:
    eid = confirmed(client, headers, detected_at="2026-11-24T20:00:00-12:00")
    event = client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()
    assert event["detected_at"].startswith("2026-11-25T08:00:00")  # 20:00 at -12:00 is 08:00 UTC
    assert event["state"] == "confirmed"


def test_query_times_are_bounded_too(client: TestClient, headers: dict) -> None:
    r = client.get("/api/v1/events", params={"since": "0001-01-01T00:00:00+14:00"},
                   headers=headers["op"])
    assert r.status_code == 422 and "since" in detail(r)


# --- images ---------------------------------------------------------------------------------

BOMB = png_header_only(30_000, 30_000)


def test_a_decompression_bomb_snapshot_is_413_before_decoding(client: TestClient,
                                                              headers: dict) -> None:
    assert len(BOMB) < 10_000
    r = post(client, headers["det"], snapshot_jpeg_b64=base64.b64encode(BOMB).decode())
    assert r.status_code == 413, r.text
    assert "900000000 pixels" in detail(r) and "48 MP limit" in detail(r)
    assert client.get("/api/v1/events", headers=headers["op"]).json()["total"] == 0


def test_a_decompression_bomb_as_evidence_or_resolution_photo_is_413(client: TestClient,
                                                                     headers: dict) -> None:
    eid = confirmed(client, headers)
    r = client.post(f"/api/v1/events/{eid}/evidence", headers=headers["op"],
                    files={"photo": ("bomb.png", BOMB, "image/png")})
    assert r.status_code == 413 and "48 MP limit" in detail(r)
    assert client.post(f"/api/v1/events/{eid}/assign", json={"team_id": "t1"},
                       headers=headers["op"]).status_code == 200
    assert client.post(f"/api/v1/events/{eid}/on-scene", headers=headers["tm1"]).status_code == 200
    r = client.post(f"/api/v1/events/{eid}/resolve", headers=headers["tm1"],
                    data={"disposition": "persuaded"},
                    files={"photo": ("bomb.png", BOMB, "image/png")})
    assert r.status_code == 413 and "pixels" in detail(r)
    event = client.get(f"/api/v1/events/{eid}", headers=headers["op"]).json()
    assert event["state"] == "on_scene" and event["evidence"] == []


# --- free text that reaches the audit trail -------------------------------------------------

@pytest.mark.parametrize(("verb", "body"), [
    ("assign", {"team_id": "t1", "reason": "x" * 1_000_000}),
    ("review", {"decision": "reject", "reason": "x" * 1_000_000}),
])
def test_a_megabyte_reason_is_refused_and_not_audited(client: TestClient, headers: dict,
                                                      verb: str, body: dict) -> None:
    eid = post(client, headers["det"]).json()["id"]
    if verb == "assign":
        client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=headers["op"])
    audit_before = client.get(f"/api/v1/events/{eid}/audit", headers=headers["op"]).json()
    r = client.post(f"/api/v1/events/{eid}/{verb}", json=body, headers=headers["op"])
    assert r.status_code == 422 and "reason" in detail(r) and "at most 2000" in detail(r)
    assert client.get(f"/api/v1/events/{eid}/audit", headers=headers["op"]).json() == audit_before
    with client.app.state.engine.connect() as conn:
        assert max(len(a.reason or "") for a in conn.execute(AuditEntry.__table__.select())) < 2000


# --- the body: size limit and token first ---------------------------------------------------

@pytest.fixture
def small_client(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    """The service with a 1 MB body limit (its own users: use `token_of`, not `headers`)."""
    app = create_app(settings.model_copy(update={"max_body_bytes": 1_000_000}), clock=clock)
    with TestClient(app) as test_client:
        seed_fleet(app.state.engine)
        yield test_client


def test_a_body_over_the_limit_is_413_naming_the_setting(small_client: TestClient) -> None:
    big = candidate(note="n", snapshot_jpeg_b64="A" * 2_000_000)
    r = small_client.post("/api/v1/candidates", json=big, headers=token_of("det", "detector"))
    assert r.status_code == 413, r.text
    assert "FLYONCE_MAX_BODY_BYTES" in detail(r) and "1.0 MB" in detail(r)


def test_a_streamed_body_is_cut_off_at_the_limit_not_read_whole() -> None:
    """Chunks without a Content-Length: the guard stops reading just past the limit."""
    chunk, chunks, sent = b"x" * 65_536, 5_000, []  # 300 MB if read whole
    replies: list[dict] = []

    async def receive() -> dict:
        sent.append(1)
        return {"type": "http.request", "body": chunk, "more_body": len(sent) < chunks}

    async def send(message: dict) -> None:
        replies.append(message)

    async def app(scope, receive_, send_) -> None:  # reads the whole body
        while (await receive_()).get("more_body"):
            pass

    scope = {"type": "http", "method": "POST", "path": "/api/v1/candidates", "headers": []}
    asyncio.run(BodyLimit(app, max_bytes=1_000_000)(scope, receive, send))
    assert replies[0]["status"] == 413
    assert len(sent) == 1_000_000 // 65_536 + 1  # 16 chunks, about 1 MB, of 5000
    assert b"FLYONCE_MAX_BODY_BYTES" in replies[1]["body"]


@pytest.mark.parametrize("body", [b"{not json", b"[" * 100_000, b'{"source": 1}'])
def test_without_a_token_a_malformed_body_is_401_not_422(client: TestClient, body: bytes) -> None:
    r = client.post("/api/v1/candidates", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 401, r.text
    assert "Not authenticated" in detail(r) and r.headers["WWW-Authenticate"] == "Bearer"
    r = client.post("/api/v1/candidates", content=body, headers={
        "Content-Type": "application/json", "Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and "invalid token" in detail(r)


def test_without_a_token_a_body_over_the_limit_is_401(small_client: TestClient) -> None:
    r = small_client.post("/api/v1/events/1/evidence",
                          files={"photo": ("big.jpg", b"x" * 2_000_000, "image/jpeg")})
    assert r.status_code == 401, r.text


def test_public_routes_still_read_their_body_without_a_token(client: TestClient) -> None:
    r = client.post("/api/v1/public/tasks/nosuchcode/feedback", json={"rating": 5})
    assert r.status_code == 404
    r = client.post("/api/v1/auth/token", data={"username": "op", "password": "wrong-password"})
    assert r.status_code == 401 and "wrong username or password" in detail(r)


# --- one error body, declared ---------------------------------------------------------------

def test_405_names_every_method_of_the_path(client: TestClient, headers: dict) -> None:
    r = client.delete("/api/v1/drones", headers=headers["adm"])
    assert r.status_code == 405
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert isinstance(detail(r), str)


def test_every_error_status_is_declared_with_the_one_error_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    ref = "#/components/schemas/ErrorBody"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            codes = operation["responses"]
            for code in ("400", "413", "422"):
                assert codes[code]["content"]["application/json"]["schema"]["$ref"] == ref, (
                    method, path, code)
            needs_login = bool(operation.get("security"))
            assert needs_login == ("401" in codes and "403" in codes) or not needs_login, (
                method, path)
            for code, response in codes.items():
                if code.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"]["$ref"] == ref, (
                        method, path, code)


def test_the_422_body_is_the_declared_shape(client: TestClient, headers: dict) -> None:
    r = post(client, headers["det"], lat=91)
    body = r.json()
    assert r.status_code == 422
    assert isinstance(body["detail"], str) and body["detail"].startswith("lat:")
    assert body["errors"][0]["loc"] == ["body", "lat"] and body["errors"][0]["type"]


def test_a_300_mb_chunked_body_is_413_from_a_real_server(tmp_path: Path) -> None:
    """Over real HTTP (uvicorn), no Content-Length: refused as it streams, the server unharmed."""
    server = seeded_server(tmp_path, FLYONCE_MAX_BODY_BYTES="1000000")
    try:
        def body() -> Iterator[bytes]:
            chunk = b"x" * 65_536
            for _ in range(300_000_000 // len(chunk)):
                yield chunk

        r = httpx.post(f"{server.url}/api/v1/public/tasks/abc/feedback", content=body(),
                       headers={"Content-Type": "application/json"}, timeout=60)
        assert r.status_code == 413 and "FLYONCE_MAX_BODY_BYTES" in detail(r)
        r = httpx.post(f"{server.url}/api/v1/candidates", content=b"{" * 500_000,
                       headers={"Content-Type": "application/json"}, timeout=60)
        assert r.status_code == 401 and "Not authenticated" in detail(r)
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    finally:
        server.stop()
