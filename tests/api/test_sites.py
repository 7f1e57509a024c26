"""Regulated sites in the service: imports, grades recomputed from seeded records with the rule
shown, overrides in the audit trail, visits across the 2026 Spring Festival and an adjusted
working Saturday, an exception with its approver, a cap reached, the notice and its public
code, the oversight view and the evaluator's figures. SQLite, and PostgreSQL when configured."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.core.models import Event, PatrolFlight, PatrolServe, SiteAudit
from api.evaluation.site_figures import report_section

YEAR = 2026


def rect(west: float, south: float, east: float, north: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


def feature(ref: str, geometry: dict, kind: str = "factory") -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": {
        "ref": ref, "name": f"site {ref}", "kind": kind, "department": "市场监管",
        "contact": f"contact of {ref}"}}


# Four 290 m x 220 m blocks north-east of drone d1's dock (29.50, 120.90), 300 m apart.
P = rect(120.9000, 29.5000, 120.9030, 29.5020)
Q = rect(120.9060, 29.5000, 120.9090, 29.5020)
R = rect(120.9000, 29.5050, 120.9030, 29.5070)
S = {"type": "Point", "coordinates": [120.9075, 29.5060]}


def local(y: int, m: int, d: int, hh: int = 10) -> datetime:
    """hh:00 Beijing time (UTC+8) as UTC."""
    return datetime(y, m, d, hh - 8, 0, tzinfo=UTC)


def seed_sites(client: TestClient, adm: dict) -> dict[str, int]:
    body = {"geojson": {"type": "FeatureCollection", "features": [
        feature("P", P), feature("Q", Q), feature("R", R), feature("S", S, "fuel_depot")]}}
    r = client.post("/api/v1/sites/import", json=body, headers=adm)
    assert r.status_code == 200, r.text
    return {s["ref"]: s["id"] for s in r.json()["sites"]}


def add_event(session: Session, lat: float, lon: float, detected: datetime, *,
              state: str = "resolved", offence: str | None = "first",
              resolved_days: float | None = 2, flight_id: int | None = None) -> Event:
    n = session.exec(select(Event)).all()
    event = Event(type="street_stall", state=state, lat=lat, lon=lon, confidence=0.9,
                  source="test", source_event_id=f"e{len(n)}", target_s=180, detected_at=detected,
                  offence=offence, patrol_flight_id=flight_id,
                  resolved_at=None if resolved_days is None
                  else detected.fromtimestamp(detected.timestamp() + resolved_days * 86400, UTC))
    session.add(event)
    session.commit()
    return event


def test_import_geojson_and_csv_all_or_nothing(client: TestClient, headers: dict) -> None:
    adm = headers["adm"]
    ids = seed_sites(client, adm)
    assert len(ids) == 4
    csv = ("ref,name,kind,department,contact,lat,lon\n"
           "S,Depot S renamed,fuel_depot,应急管理,Ms Wang,29.5061,120.9075\n"
           "T,Market T,market,市场监管,Mr Li,29.5065,120.9010\n")
    r = client.post("/api/v1/sites/import", json={"csv": csv}, headers=adm)
    assert r.status_code == 200, r.text
    assert (r.json()["imported"], r.json()["new"]) == (2, 1)
    renamed = next(s for s in r.json()["sites"] if s["ref"] == "S")
    assert (renamed["id"], renamed["name"], renamed["lat"]) == (ids["S"], "Depot S renamed", 29.5061)
    bad = csv.replace("T,Market T,market", "U,Yard U,spaceport") + "V,,factory,d,c,29.5,120.9\n"
    r = client.post("/api/v1/sites/import", json={"csv": bad}, headers=adm)
    assert r.status_code == 422
    assert "row 3: kind 'spaceport'" in r.json()["detail"] and "row 4: name missing" in r.json()["detail"]
    far = {"geojson": {"type": "FeatureCollection", "features": [
        feature("W", {"type": "Point", "coordinates": [121.5, 29.5]})]}}
    r = client.post("/api/v1/sites/import", json=far, headers=adm)
    assert r.status_code == 422 and "site 'W'" in r.json()["detail"], r.text
    listed = client.get("/api/v1/sites", params={"year": YEAR}, headers=headers["eva"]).json()
    assert sorted(s["ref"] for s in listed) == ["P", "Q", "R", "S", "T"]
    assert client.post("/api/v1/sites/import", json={"csv": csv},
                       headers=headers["op"]).status_code == 403


def test_grades_recomputed_from_seeded_records_show_their_rule(client: TestClient,
                                                               headers: dict) -> None:
    adm = headers["adm"]
    ids = seed_sites(client, adm)
    with Session(client.app.state.engine) as session:
        # P: three violations in 2025, two of them repeats → D by rule D1.
        for k, offence in enumerate(["first", "repeat", "repeat"]):
            add_event(session, 29.5010, 120.9015, local(2025, 3 + k, 10), offence=offence)
        # Q: one first offence resolved in 2 days → B by rule B1. Not counted for Q: one
        # outside its block, one rejected, one in 2026.
        add_event(session, 29.5010, 120.9075, local(2025, 6, 1))
        add_event(session, 29.5030, 120.9075, local(2025, 6, 2))
        add_event(session, 29.5010, 120.9076, local(2025, 6, 3), state="rejected",
                  resolved_days=None)
        add_event(session, 29.5010, 120.9077, local(2026, 1, 5))
        # The point site S: one violation 30 m from it, resolved after 40 days → C by rule C2.
        add_event(session, 29.5063, 120.9075, local(2025, 9, 1), resolved_days=40)
    # R: no violation, an external score of 70 → C by rule C4.
    r = client.post("/api/v1/site-scores", headers=adm, json=[
        {"site_ref": "R", "year": 2025, "source": "市场监管", "score": 70, "complaints": 0}])
    assert r.status_code == 200 and r.json() == {"imported": 1}
    r = client.post("/api/v1/site-grades", params={"year": YEAR}, headers=adm)
    assert r.status_code == 200, r.text
    got = {g["site_id"]: g for g in r.json()["graded"]}
    expected = {"P": ("D", "D1", 3, 2), "Q": ("B", "B1", 1, 0), "R": ("C", "C4", 0, 0),
                "S": ("C", "C2", 1, 0)}
    for ref, (grade, rule, violations, repeats) in expected.items():
        g = got[ids[ref]]
        assert (g["grade"], g["rule_id"], g["record"]["violations"], g["record"]["repeats"]) \
            == (grade, rule, violations, repeats), ref
    assert got[ids["R"]]["record"]["external_score"] == 70
    assert got[ids["S"]]["record"]["late"] == 1
    listed = {s["ref"]: s for s in client.get("/api/v1/sites", params={"year": YEAR},
                                              headers=headers["eva"]).json()}
    assert listed["P"]["grade_rule"].startswith("D1: repeated violations")
    # An admin override with a reason: in force, in the audit trail, kept by a recompute.
    r = client.post(f"/api/v1/sites/{ids['P']}/grades/{YEAR}/override", headers=adm,
                    json={"grade": "C", "reason": "all three stalls cleared; new manager"})
    assert r.status_code == 200 and r.json()["rule_id"] == "override"
    assert client.post(f"/api/v1/sites/{ids['P']}/grades/{YEAR}/override", headers=headers["op"],
                       json={"grade": "A", "reason": "friendly"}).status_code == 403
    again = client.post("/api/v1/site-grades", params={"year": YEAR}, headers=adm).json()
    assert again["skipped_overridden"] == [ids["P"]]
    detail = client.get(f"/api/v1/sites/{ids['P']}", params={"year": YEAR},
                        headers=headers["eva"]).json()
    assert detail["grade"] == "C"
    assert [g["source"] for g in detail["grades"]] == ["override", "computed"]
    audit = [a for a in detail["audit"] if a["action"] == "grade override"]
    assert len(audit) == 1 and audit[0]["actor"] == "adm"
    assert audit[0]["reason"] == "2026: D (D1) -> C: all three stalls cleared; new manager"


def plan(client: TestClient, who: dict, site_id: int, day: str, **kw) -> object:
    body = {"site_id": site_id, "visit_day": day, "start_time": "09:30", "basis": "complaint",
            "note": "12345 hotline #88", "items": "fire exits; storage",
            "inspectors": "Li Ming, Zhao Hua", **kw}
    return client.post("/api/v1/site-visits", json=body, headers=who)


def test_a_visit_across_the_spring_festival_with_an_approved_exception(
        client: TestClient, headers: dict, clock) -> None:  # noqa: ANN001
    op, adm = headers["op"], headers["adm"]
    site = seed_sites(client, adm)["Q"]  # ungraded: planned as C (quiet from the 21st)
    clock.t = local(2026, 2, 12)  # Thursday before the festival
    # Five working days from Thu 12 Feb: Fri 13, Sat 14 (worked), [15–23 off], Tue 24, Wed 25,
    # Thu 26. Wednesday 25 is too soon.
    r = plan(client, op, site, "2026-02-25", exception="complaint")
    assert r.status_code == 409 and "from 2026-02-26 on" in r.json()["detail"], r.text
    r = plan(client, op, site, "2026-02-26")
    assert r.status_code == 409 and "quiet period" in r.json()["detail"]
    r = plan(client, op, site, "2026-02-26", exception="complaint")
    assert r.status_code == 201, r.text
    visit = r.json()
    # Approval due within 3 working days of 12 Feb: Fri 13, Sat 14, Tue 24.
    assert (visit["state"], visit["approve_by"]) == ("pending_approval", "2026-02-24")
    assert "quiet period" in visit["exception_why"]
    vid = visit["id"]
    r = client.post(f"/api/v1/site-visits/{vid}/notice", headers=op)
    assert r.status_code == 409 and "approved before the notice" in r.json()["detail"]
    assert client.post(f"/api/v1/site-visits/{vid}/approve", headers=op,
                       json={"note": "ok"}).status_code == 403
    r = client.post(f"/api/v1/site-visits/{vid}/approve", headers=adm,
                    json={"note": "repeated hotline complaints about fumes"})
    assert r.status_code == 200 and (r.json()["state"], r.json()["approver"]) == ("planned", "adm")
    oversight = client.get("/api/v1/site-exceptions", params={"year": YEAR},
                           headers=headers["eva"]).json()
    assert [(o["id"], o["status"]) for o in oversight] == [(vid, "on_time")]
    r = client.post(f"/api/v1/site-visits/{vid}/notice", headers=op)
    assert r.status_code == 200 and r.json()["state"] == "noticed", r.text
    url = r.json()["notice_url"]
    code = re.fullmatch(r"http://testserver/n/([A-Za-z0-9_-]{22})", url)[1]
    public = client.get(f"/api/v1/public/site-notices/{code}")
    assert public.status_code == 200 and public.headers["cache-control"] == "no-store"
    assert (public.json()["visit_day"], public.json()["working_days_ahead"],
            public.json()["noticed_on"]) == ("2026-02-26", 5, "2026-02-12")
    assert "12345" not in public.text and "op" not in public.json().values()
    page = client.get(f"/n/{code}")
    assert page.status_code == 200 and "fire exits; storage" in page.text
    assert client.get("/n/not-a-code").status_code == 404
    assert client.get("/api/v1/public/site-notices/" + "A" * 22).status_code == 404
    r = client.post(f"/api/v1/site-visits/{vid}/done", headers=op)
    assert r.status_code == 409 and "not earlier" in r.json()["detail"]
    clock.t = local(2026, 2, 26)
    r = client.post(f"/api/v1/site-visits/{vid}/done", headers=op)
    assert r.status_code == 200 and r.json()["state"] == "done"


def test_the_adjusted_saturday_and_a_visit_without_notice(client: TestClient, headers: dict,
                                                          clock) -> None:  # noqa: ANN001
    op = headers["op"]
    site = seed_sites(client, headers["adm"])["R"]
    clock.t = local(2026, 2, 24)  # Tuesday after the festival
    # Wed 25, Thu 26, Fri 27, Sat 28 (worked), Mon 2 Mar: counting Mon–Fri would allow 3 Mar only.
    r = plan(client, op, site, "2026-02-27")
    assert r.status_code == 409 and "from 2026-03-02 on" in r.json()["detail"], r.text
    r = plan(client, op, site, "2026-03-01")  # an ordinary Sunday
    assert r.status_code == 409 and "not an official working day" in r.json()["detail"]
    r = plan(client, op, site, "2026-03-02")
    assert r.status_code == 201 and r.json()["state"] == "planned", r.text
    vid = r.json()["id"]
    clock.t = local(2026, 3, 2)
    r = client.post(f"/api/v1/site-visits/{vid}/done", headers=op)
    assert r.status_code == 409 and "without its notice" in r.json()["detail"]
    r = client.post(f"/api/v1/site-visits/{vid}/notice", headers=op)
    assert r.status_code == 409 and "allows a visit from 2026-03-09 on" in r.json()["detail"]
    # The calendar's last published year ends the planning horizon, with the reason.
    r = plan(client, op, site, "2027-01-05")
    assert r.status_code == 422 and "covers 2004–2026" in r.json()["detail"], r.text


def test_a_cap_reached_needs_an_exception_and_a_late_approval_is_shown(
        client: TestClient, headers: dict, clock) -> None:  # noqa: ANN001
    op, adm = headers["op"], headers["adm"]
    site = seed_sites(client, adm)["S"]
    assert client.post(f"/api/v1/sites/{site}/grades/{YEAR}/override", headers=adm,
                       json={"grade": "B", "reason": "good record in 2025"}).status_code == 200
    clock.t = local(2026, 2, 24)
    assert plan(client, op, site, "2026-03-06").status_code == 201  # B: 1 a year, quiet from 11th
    r = plan(client, op, site, "2026-03-09")
    assert r.status_code == 409 and "cap of 1 site visit(s) a year is reached (1 planned)" \
        in r.json()["detail"], r.text
    r = plan(client, op, site, "2026-03-10", exception="safety")
    assert r.status_code == 201 and r.json()["approve_by"] == "2026-02-27"  # 25, 26, 27 Feb
    late, waiting = r.json()["id"], plan(client, op, site, "2026-03-09",
                                         exception="complaint").json()["id"]
    clock.t = local(2026, 3, 2)  # past 27 Feb
    assert client.post(f"/api/v1/site-visits/{late}/approve", headers=adm,
                       json={"note": "gas smell reported"}).status_code == 200
    status = {o["id"]: o["status"] for o in client.get(
        "/api/v1/site-exceptions", params={"year": YEAR}, headers=headers["eva"]).json()}
    assert status == {late: "late", waiting: "overdue"}
    with Session(client.app.state.engine) as session:
        reason = session.exec(select(SiteAudit.reason).where(
            SiteAudit.visit_id == late, SiteAudit.action == "exception approved")).one()
    assert reason == "'safety': gas smell reported (LATE: due by 2026-02-27)"


def test_a_finding_must_be_a_real_violation_inside_the_site(client: TestClient, headers: dict,
                                                            clock) -> None:  # noqa: ANN001
    op = headers["op"]
    ids = seed_sites(client, headers["adm"])
    clock.t = local(2026, 3, 2)
    with Session(client.app.state.engine) as session:
        inside = add_event(session, 29.5010, 120.9015, local(2026, 3, 1), state="confirmed",
                           resolved_days=None).id
        rejected = add_event(session, 29.5011, 120.9015, local(2026, 3, 1), state="rejected",
                             resolved_days=None).id
    r = plan(client, op, ids["Q"], "2026-03-10", basis="finding", event_id=inside)
    assert r.status_code == 422 and "outside site" in r.json()["detail"]
    r = plan(client, op, ids["P"], "2026-03-10", basis="finding", event_id=rejected)
    assert r.status_code == 422 and "'rejected'" in r.json()["detail"]
    r = plan(client, op, ids["P"], "2026-03-10", basis="grade")  # ungraded → C: 1 coaching visit
    assert r.status_code == 201
    r = plan(client, op, ids["P"], "2026-03-11", basis="grade")
    assert r.status_code == 409 and "non-site inspection first" in r.json()["detail"]
    r = plan(client, op, ids["P"], "2026-03-11", basis="finding", event_id=inside)
    assert r.status_code == 201 and r.json()["basis_event_id"] == inside


def test_figures_per_grade_non_site_share_and_cd_movement(client: TestClient, headers: dict,
                                                          clock) -> None:  # noqa: ANN001
    adm, op = headers["adm"], headers["op"]
    ids = seed_sites(client, adm)
    for ref, last, now in (("P", "C", "B"), ("Q", "D", "D"), ("R", "C", None), ("S", "B", "A")):
        for year, grade in ((2025, last), (2026, now)):
            if grade:
                assert client.post(f"/api/v1/sites/{ids[ref]}/grades/{year}/override",
                                   headers=adm, json={"grade": grade,
                                                      "reason": "seeded for figures"}).status_code == 200
    r = client.post(f"/api/v1/sites/{ids['P']}/patrol-request", headers=op,
                    json={"window": {"start": "09:00", "end": "11:00"}, "weekdays": ["tue"]})
    assert r.status_code == 200 and r.json()["patrol_request_id"], r.text
    request_id = r.json()["patrol_request_id"]
    assert client.post(f"/api/v1/sites/{ids['P']}/patrol-request", headers=op,
                       json={"window": {"start": "09:00", "end": "11:00"}}).status_code == 409
    # Three drone looks over P in March: two done (one found a stall inside P), one failed.
    with Session(client.app.state.engine) as session:
        flights = []
        for day, state in ((3, "done"), (10, "done"), (17, "failed")):
            f = PatrolFlight(planned_start=local(2026, 3, day), planned_end=local(2026, 3, day, 11),
                             duration_s=600, length_m=3000, path_geojson="{}", state=state,
                             created_at=local(2026, 3, 1))
            session.add(f)
            session.flush()
            session.add(PatrolServe(request_id=request_id, flight_id=f.id,
                                    slot_start=f.planned_start))
            flights.append(f.id)
        session.commit()
        found = add_event(session, 29.5010, 120.9015, local(2026, 3, 10), state="confirmed",
                          resolved_days=None, flight_id=flights[1]).id
    clock.t = local(2026, 3, 11)
    assert plan(client, op, ids["P"], "2026-04-01", basis="finding",  # B: quiet from the 11th
                event_id=found).status_code == 201
    fig = client.get("/api/v1/site-figures", params={"year": YEAR}, headers=headers["eva"]).json()
    per = {g["grade"]: g for g in fig["per_grade"]}
    assert per["B"] == {"grade": "B", "sites": 1, "visits": 1, "cap_per_site": 1,
                        "cap_total": 1, "sites_at_cap": 1, "exception_visits": 0}
    assert (per["A"]["sites"], per["D"]["sites"], per["D"]["cap_total"]) == (1, 1, None)
    assert (fig["non_site_looks"], fig["looks_found"], fig["visits_avoided"]) == (2, 1, 1)
    assert fig["share_non_site"] == pytest.approx(2 / 3)
    # Last year's C and D sites: P C→B up, Q D→D same, R C→ungraded.
    assert (fig["cd_sites_last_year"], fig["cd_moved_up"], fig["cd_same"], fig["cd_moved_down"],
            fig["cd_ungraded"]) == (3, 1, 1, 0, 1)
    # The report carries the same figures, as a table and as embedded JSON.
    section = report_section(fig)
    embedded = section.body_html.split("id='site-figures'>")[1].split("</script>")[0]
    assert json.loads(html.unescape(embedded)) == fig
    assert "2 non-site looks (67% of inspections non-site), 1 site visits avoided" \
        in section.body_html


def test_two_planners_racing_for_the_last_visit_under_a_cap(client: TestClient, headers: dict,
                                                            clock) -> None:  # noqa: ANN001
    """The site's row is locked while planning: of two visits planned at once for a B site
    (cap 1), one is planned and the other refused, never both."""
    from concurrent.futures import ThreadPoolExecutor

    site = seed_sites(client, headers["adm"])["P"]
    assert client.post(f"/api/v1/sites/{site}/grades/{YEAR}/override", headers=headers["adm"],
                       json={"grade": "B", "reason": "good record"}).status_code == 200
    clock.t = local(2026, 2, 24)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda day: plan(client, headers["op"], site, day).status_code,
                                ["2026-03-05", "2026-03-06"]))
    assert sorted(answers) == [201, 409]
    visits = client.get("/api/v1/site-visits", params={"year": YEAR, "site_id": site},
                        headers=headers["eva"]).json()
    assert len(visits) == 1


def test_the_rule_table_is_served_as_data(client: TestClient, headers: dict) -> None:
    r = client.get("/api/v1/site-rules", headers=headers["eva"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["id"] for x in body["rules"]] == ["D1", "D2", "C1", "C2", "C3", "C4", "B1", "B2", "B3"]
    assert body["policies"]["B"]["cap_per_year"] == 1 and body["policies"]["D"]["cap_per_year"] is None
    assert (body["notice_working_days"], body["approve_within_working_days"]) == (5, 3)
