"""Prometheus /metrics (api/monitoring/metrics.py): what a scrape reads after known requests.

Each expected figure is counted by hand from what the test did: one candidate → one alerted
event, one candidate counted for its source, one alert-latency sample of exactly the time the
candidate waited (its detection time is set 2.5 s before the service's clock), and the
request histogram labelled by the route's template, not the raw path.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.core.auth import create_token
from api.core.settings import Settings
from tests.api.conftest import NO_MERGE, TEST_SECRET, TEST_TOKEN_TTL_S, ManualClock, candidate

OP = {"Authorization": f"Bearer {create_token('op', 'operator', secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_a_scrape_after_one_candidate(client: TestClient, clock: ManualClock) -> None:
    body = candidate(source="detector:cam-7",
                     detected_at=(clock.now() - timedelta(seconds=2.5)).isoformat())
    eid = client.post("/api/v1/candidates", json=body, headers=OP).json()["id"]
    for _ in range(3):
        assert client.get(f"/api/v1/events/{eid}", headers=OP).status_code == 200
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = samples(r.text)
    assert got[("flyonce_events", (("state", "alerted"),))] == 1.0
    assert got[("flyonce_candidates_total", (("source", "detector:cam-7"),))] == 1.0
    assert got[("flyonce_alert_latency_seconds_count", ())] == 1.0
    assert got[("flyonce_alert_latency_seconds_sum", ())] == 2.5
    # 2.5 s falls in the (1, 2.5] bucket: the 1 s bucket holds nothing, the 2.5 s one the sample
    assert got[("flyonce_alert_latency_seconds_bucket", (("le", "1.0"),))] == 0.0
    assert got[("flyonce_alert_latency_seconds_bucket", (("le", "2.5"),))] == 1.0
    route = (("method", "GET"), ("route", "/api/v1/events/{event_id}"), ("status", "200"))
    assert got[("flyonce_http_request_duration_seconds_count", route)] == 3.0
    assert got[("flyonce_leader", (("owner", client.app.state.leader.owner),))] == 1.0
    assert got[("flyonce_webhook_dead_letters", ())] == 0.0


def test_metrics_token_when_set(tmp_path: Path, db_url: str) -> None:
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path,
                        secret_key=TEST_SECRET, metrics_token="scrape-me", **NO_MERGE)
    with TestClient(create_app(settings, clock=ManualClock())) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200 and "flyonce_events" in ok.text


def test_cors_is_off_unless_configured(client: TestClient, tmp_path: Path, db_url: str) -> None:
    origin = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in client.get("/healthz", headers=origin).headers
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path,
                        secret_key=TEST_SECRET, cors_origins=["https://ops.example"], **NO_MERGE)
    with TestClient(create_app(settings, clock=ManualClock())) as other:
        allowed = other.options("/api/v1/events", headers={**origin, "Origin": "https://ops.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://ops.example"
        refused = other.get("/healthz", headers=origin)
        assert "access-control-allow-origin" not in refused.headers


def test_a_detection_workers_report_reaches_the_metrics(client: TestClient) -> None:
    from detection.cli import post_report

    det = {"Authorization": f"Bearer {create_token('det', 'detector', secret=TEST_SECRET, ttl_s=TEST_TOKEN_TTL_S)}"}
    # what `flyonce detect` prints as its stats after a 40 s run over 100 frames
    stats = {"frames_in": 100, "frames_used": 80, "frames_skipped": 20,
             "skipped": {"telemetry": 15, "frame": 5}, "detections": 7, "sightings": 7,
             "inference_s": 30.0, "total_s": 40.0}
    answer = post_report("http://testserver", det["Authorization"][7:], "detector:drone-9", stats,
                         client=client)
    assert answer == {"source": "detector:drone-9", "frames_per_s": 2.0}  # 80 used / 40 s
    got = samples(client.get("/metrics").text)
    frames = {kind: got[("flyonce_detection_frames_total",
                         (("kind", kind), ("source", "detector:drone-9")))]
              for kind in ("in", "used", "skipped_telemetry", "skipped_frame")}
    assert frames == {"in": 100.0, "used": 80.0, "skipped_telemetry": 15.0, "skipped_frame": 5.0}
    assert got[("flyonce_detection_frames_per_second", (("source", "detector:drone-9"),))] == 2.0
    bad = client.post("/api/v1/detection/reports", headers=det, json={
        "source": "x", "frames_in": -1, "frames_used": 0, "total_s": 1})
    assert bad.status_code == 422


def test_a_drone_on_an_event_whose_link_is_lost_reads_as_not_linked() -> None:
    """The map still says on_task (it is on the event), but the gauge and /readyz say not heard."""
    from types import SimpleNamespace

    from api.fleet.dispatcher import DispatchWorker, drone_status, is_heard
    from dispatch.dispatcher import DroneView
    from dispatch.link import Telemetry

    def view(drone_id: str, reason: str) -> DroneView:
        return DroneView(id=drone_id, name=drone_id, url="udp:127.0.0.1:14550", dock_lat=0.0,
                         dock_lon=0.0, telemetry=Telemetry(armed=True, battery_pct=60.0),
                         available=False, reason=reason, incident_id=7, on_patrol=False,
                         stage="en_route")

    lost = view("d1", "link lost (9 s since the last heartbeat)")
    busy = view("d2", "busy with event 7")
    assert drone_status(lost) == "on_task" and not is_heard(lost)
    assert drone_status(busy) == "on_task" and is_heard(busy)
    worker = SimpleNamespace(dispatcher=SimpleNamespace(drones=lambda: [lost, busy]))
    gauges = DispatchWorker.drone_gauges(worker)  # type: ignore[arg-type]
    assert [(g["id"], g["linked"]) for g in gauges] == [("d1", False), ("d2", True)]
