"""The discretion baseline of penalties and the reminder slip of a first minor offence."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.core.models import AuditEntry, Event, Penalty
from tests.api.conftest import START, candidate


def fuel_event(session: Session, k: int, zone_kind: str | None = "residential") -> Event:
    event = Event(type="mobile_fuel_sale", state="confirmed", lat=29.5, lon=120.9,
                  confidence=0.9, source="test", source_event_id=f"f{k}", target_s=180,
                  detected_at=START - timedelta(days=k), zone_kind=zone_kind, offence="repeat")
    session.add(event)
    session.flush()
    return event


def seed_history(client: TestClient) -> int:
    """Five earlier penalties in residential zones, two in forest; the id of a new event."""
    with Session(client.app.state.engine) as session:
        for k, (amount, kind) in enumerate([(1000, "residential"), (2000, "residential"),
                                            (2000, "residential"), (3000, "residential"),
                                            (5000, "residential"), (200, "forest"),
                                            (400, "forest")], start=1):
            e = fuel_event(session, k, kind)
            session.add(Penalty(event_id=e.id, event_type=e.type, zone_kind=kind,
                                amount_cny=amount, baseline_scope="none", baseline_n=0,
                                decided_by="adm", at=START))
        new = fuel_event(session, 99).id
        forest = fuel_event(session, 98, "forest").id
        session.commit()
    return new, forest


def test_the_baseline_flags_a_departure_and_wants_a_reason(client: TestClient,
                                                           headers: dict) -> None:
    new, forest = seed_history(client)
    op = headers["op"]
    # Residential amounts sorted 1000, 2000, 2000, 3000, 5000: median 2000, 25th percentile
    # 2000 (the 2nd value), 75th 3000 (the 4th). Departs above 4000 or below 1000.
    r = client.get(f"/api/v1/events/{new}/penalty-baseline", params={"amount_cny": 1500},
                   headers=headers["eva"])
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["scope"], b["n"], b["median_cny"], b["p25_cny"], b["p75_cny"], b["departs"]) == \
        ("type+zone", 5, 2000, 2000, 3000, False)
    assert client.get(f"/api/v1/events/{new}/penalty-baseline", params={"amount_cny": 4500},
                      headers=op).json()["departs"] is True
    assert client.get(f"/api/v1/events/{new}/penalty-baseline", params={"amount_cny": 900},
                      headers=op).json()["departs"] is True
    # Two forest penalties are too few: the baseline widens to all seven of the type:
    # 200, 400, 1000, 2000, 2000, 3000, 5000 → median 2000, 25th 700 (between 400 and 1000),
    # so 500 — usual in the forest — is below 2000 / 2 and flagged against the wider baseline.
    w = client.get(f"/api/v1/events/{forest}/penalty-baseline", params={"amount_cny": 500},
                   headers=op).json()
    assert (w["scope"], w["n"], w["median_cny"], w["p25_cny"], w["departs"]) == \
        ("type", 7, 2000, 700, True)
    r = client.post(f"/api/v1/events/{new}/penalty", json={"amount_cny": 4500}, headers=op)
    assert r.status_code == 422 and "departs from the baseline" in r.json()["detail"]
    r = client.post(f"/api/v1/events/{new}/penalty", headers=op,
                    json={"amount_cny": 4500, "reason": "200 litres sold next to a school"})
    assert r.status_code == 201, r.text
    assert (r.json()["departs"], r.json()["baseline_median_cny"]) == (True, 2000)
    assert client.post(f"/api/v1/events/{new}/penalty", json={"amount_cny": 2000},
                       headers=op).status_code == 409
    with Session(client.app.state.engine) as session:
        audit = session.exec(select(AuditEntry.reason).where(AuditEntry.event_id == new)).all()
    assert audit == ["penalty 4500 CNY against median 2000 CNY, middle half 2000–3000 CNY over "
                     "5 earlier penalties (type+zone); DEPARTS (×2): 200 litres sold next to a school"]


def test_a_first_minor_offence_gets_the_reminder_slip_not_a_penalty(client: TestClient,
                                                                    headers: dict) -> None:
    op = headers["op"]
    eid = client.post("/api/v1/candidates", json=candidate(), headers=op).json()["id"]
    r = client.post(f"/api/v1/events/{eid}/review", json={"decision": "confirm"}, headers=op)
    assert r.status_code == 200 and r.json()["offence"] == "first", r.text
    r = client.post(f"/api/v1/events/{eid}/penalty", json={"amount_cny": 200}, headers=op)
    assert r.status_code == 409 and "reminder slip" in r.json()["detail"]
    slip = client.get(f"/api/v1/events/{eid}/reminder-slip", headers=op)
    assert slip.status_code == 200 and "不予行政处罚" in slip.text and "占道经营" in slip.text
    assert slip.headers["content-type"].startswith("text/html")
    # A fuel sale is never minor: no slip for it.
    with Session(client.app.state.engine) as session:
        fuel = fuel_event(session, 1)
        fuel.offence = "first"
        session.commit()
        fid = fuel.id
    assert client.get(f"/api/v1/events/{fid}/reminder-slip", headers=op).status_code == 409
    assert client.get(f"/api/v1/events/{fid}/penalty-baseline", params={"amount_cny": 500},
                      headers=op).json()["scope"] == "none"
