"""POST /api/v1/candidates/batch: each candidate stored as if posted alone, answered in order."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.core.models import Event, Sighting
from api.core.settings import Settings
from api.lifecycle.schemas import MAX_BATCH
from tests.api.conftest import TEST_SECRET, live_protocols
from tests.api.test_events_api import jpeg
from tests.api.test_merge import CORNER, M_PER_DEG_LAT, QUIET_S, RADIUS_M, WINDOW_S, at_north

BATCH = "/api/v1/candidates/batch"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key=TEST_SECRET,
                    merge_radius_m=RADIUS_M, merge_window_s=WINDOW_S, reject_quiet_s=QUIET_S)


def stored(client: TestClient) -> tuple[int, int]:
    with Session(client.app.state.engine) as session:
        return (len(session.exec(select(Event.id)).all()),
                len(session.exec(select(Sighting.id)).all()))


def test_a_batch_is_each_candidate_as_if_posted_alone(client: TestClient, headers: dict) -> None:
    # two stalls 100 m apart, then a second look 5 m from the first (inside the 15 m radius)
    batch = [at_north(0), at_north(100), at_north(5)]
    token = headers["op"]["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect("/api/v1/live", subprotocols=live_protocols(token)) as ws:
        assert ws.receive_json()["kind"] == "hello"
        r = client.post(BATCH, json={"candidates": batch}, headers=headers["det"])
        assert r.status_code == 200, r.text
        acks = r.json()["results"]
        assert [a["outcome"] for a in acks] == ["new", "new", "merged"]
        assert acks[2]["id"] == acks[0]["id"] != acks[1]["id"]
        assert set(acks[0]) == {"id", "outcome"}  # a detector learns nothing of the event
        messages = [ws.receive_json() for _ in range(5)]
    # each new event detected then alerted, once; the merged look is a sighting of the first
    first, second = acks[0]["id"], acks[1]["id"]
    assert [(m["event_id"], m["kind"], m["to"]) for m in messages] == [
        (first, "transition", "detected"), (first, "transition", "alerted"),
        (second, "transition", "detected"), (second, "transition", "alerted"),
        (first, "sighting", "alerted")]
    # the sighting's message names the candidate that made it (the event keeps its first's key)
    assert messages[4]["source_event_id"] == batch[2]["source_event_id"]
    assert messages[4]["event"]["source_event_id"] == batch[0]["source_event_id"]
    assert stored(client) == (2, 3)


def test_a_retried_batch_stores_nothing_twice(client: TestClient, headers: dict) -> None:
    batch = [at_north(0), at_north(100)]
    first = client.post(BATCH, json={"candidates": batch}, headers=headers["det"]).json()
    again = client.post(BATCH, json={"candidates": batch}, headers=headers["det"])
    assert again.status_code == 200
    assert [a["outcome"] for a in again.json()["results"]] == ["retry", "retry"]
    assert again.json()["outcomes"] == ["retry", "retry"] and first["outcomes"] == ["new", "new"]
    assert [a["id"] for a in again.json()["results"]] == [a["id"] for a in first["results"]]
    assert stored(client) == (2, 2)


def test_staff_get_each_event(client: TestClient, headers: dict) -> None:
    r = client.post(BATCH, json={"candidates": [at_north(0)]}, headers=headers["op"])
    [event] = r.json()["results"]
    assert event["state"] == "alerted" and r.json()["outcomes"] == ["new"]
    assert event["lat"] == pytest.approx(CORNER[0]) and event["lon"] == pytest.approx(CORNER[1])


def test_a_bad_candidate_refuses_the_batch_before_anything_is_stored(
        client: TestClient, headers: dict) -> None:
    bad = at_north(0)
    bad["lat"] = 91.0
    r = client.post(BATCH, json={"candidates": [at_north(50), bad]}, headers=headers["det"])
    assert r.status_code == 422
    assert any(e["loc"][:4] == ["body", "candidates", 1, "lat"] for e in r.json()["errors"]), r.text
    assert stored(client) == (0, 0)


def test_a_bad_snapshot_is_named_and_refuses_the_batch(client: TestClient, headers: dict) -> None:
    good = at_north(0, snapshot_jpeg_b64=base64.b64encode(jpeg()).decode())
    bad = at_north(100, snapshot_jpeg_b64=base64.b64encode(b"not an image at all").decode())
    r = client.post(BATCH, json={"candidates": [good, bad]}, headers=headers["det"])
    assert r.status_code in (400, 415, 422), r.text
    assert "candidates[1]" in r.json()["detail"]
    assert stored(client) == (0, 0)


@pytest.mark.parametrize("n", [0, MAX_BATCH + 1])
def test_an_empty_or_oversized_batch_is_refused(client: TestClient, headers: dict, n: int) -> None:
    body = {"candidates": [at_north(i * 40 / M_PER_DEG_LAT) for i in range(n)]}
    assert client.post(BATCH, json=body, headers=headers["det"]).status_code == 422


def test_a_ground_team_may_not_post_a_batch(client: TestClient, headers: dict) -> None:
    r = client.post(BATCH, json={"candidates": [at_north(0)]}, headers=headers["tm1"])
    assert r.status_code == 403


def test_two_batches_over_the_same_places_in_opposite_orders_queue_and_never_deadlock(
        db_url: str) -> None:
    """Two workers saw the same two stalls, A and B (100 m apart), and post them at once, one as
    [A, B] and the other as [B, A]. On PostgreSQL each batch stops after its first candidate
    until the other reaches the same point or 2 s pass: with each candidate's place locked as it
    came, both held their first place and waited for the other's (PostgreSQL then failed one of
    them: a deadlock). With the batch's places locked together first, the second batch waits
    for the first to commit, and both land: two events of two sightings each. (SQLite's one
    writer at a time gives the same answer.)"""
    import threading
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from api.core import db
    from api.core.zones import ZoneIndex
    from api.lifecycle import events as verbs
    from api.lifecycle.merge import MergeRules
    from api.lifecycle.schemas import CandidateIn
    from tests.api.conftest import prepare_db

    zones = ZoneIndex.load(None, default_target_s=300)
    rules = MergeRules(RADIUS_M, WINDOW_S, QUIET_S)
    now = datetime.now(UTC)
    a, b = at_north(0), at_north(100)
    orders = {"w1": [a, b], "w2": [b, a]}
    halfway = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    engine = db.create_db_engine(prepare_db(db_url))

    def worker(name: str) -> None:
        def each(i: int, _outcome) -> None:  # noqa: ANN001
            if i == 0:
                try:
                    halfway.wait(timeout=2.0)
                except threading.BrokenBarrierError:
                    pass
        cands = [CandidateIn(**{**c, "source": name}) for c in orders[name]]
        try:
            with Session(engine) as session, db.writing(session):
                outcomes[name] = verbs.ingest_all_committed(
                    session, cands, zones=zones, actor=name, now=now, merge_rules=rules,
                    each=each)
        except sa.exc.OperationalError as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with Session(engine) as session:
        events = session.exec(select(Event)).all()
        sightings = session.exec(select(Sighting)).all()
    engine.dispose()
    assert all(isinstance(outcomes[n], list) for n in orders), outcomes
    assert len(events) == 2 and sorted(e.candidates for e in events) == [2, 2]
    assert len(sightings) == 4
