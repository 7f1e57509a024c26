"""Audit completeness: after a random mix of legal and illegal requests, every event's audit rows
form one unbroken chain from `detected` to its current state — one row per state change."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.core.models import AuditEntry, Event
from tests.api.conftest import candidate

ACTIONS = [
    ("review", {"decision": "confirm"}), ("review", {"decision": "reject", "reason": "no"}),
    ("assign", {"drone_id": "d1"}), ("on-scene", None), ("resolve", "form"), ("evaluate", None),
]


def test_every_state_change_has_exactly_one_audit_row(client: TestClient, headers: dict) -> None:
    rng = random.Random(7)
    ids = [client.post("/api/v1/candidates", json=candidate(), headers=headers["det"]).json()["id"]
           for _ in range(12)]
    accepted = refused = 0
    for _ in range(150):
        eid = rng.choice(ids)
        path, body = rng.choice(ACTIONS)
        if body == "form":
            r = client.post(f"/api/v1/events/{eid}/resolve", data={"disposition": "removed"}, headers=headers["op"])
        else:
            r = client.post(f"/api/v1/events/{eid}/{path}", json=body, headers=headers["op"])
        assert r.status_code in (200, 409), r.text
        accepted += r.status_code == 200
        refused += r.status_code == 409
    assert accepted > 10 and refused > 10  # the mix really exercised both
    with Session(client.app.state.engine) as session:
        for event in session.exec(select(Event)).all():
            rows = session.exec(select(AuditEntry).where(AuditEntry.event_id == event.id)
                                .order_by(AuditEntry.id)).all()
            assert rows[0].from_state is None and rows[0].to_state == "detected"
            for before, after in zip(rows, rows[1:]):
                assert after.from_state == before.to_state
            assert rows[-1].to_state == event.state
