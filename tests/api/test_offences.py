"""First offences, repeats and hot spots (首违免罚) through HTTP, on SQLite and PostgreSQL.

Distances are laid out north of one point of the sample town, with the length of a degree of
latitude there from the meridian-arc series (111132.954 − 559.822 cos 2φ + 1.175 cos 4φ m at
φ = 29.5068°: 110 843.7 m), so "40 m" and "60 m" are 40 and 60 m to well under a metre, and the
50 m radius falls between them with room to spare.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod

from api.core.settings import Settings
from api.evaluation.hotspots import clusters_of, patrol_windows
from api.lifecycle.offences import degree_box
from tests.api.conftest import candidate

CORNER = (29.506766, 120.904641)  # residential block Beiyuan
PHI = math.radians(CORNER[0])
M_PER_DEG_LAT = 111132.954 - 559.822 * math.cos(2 * PHI) + 1.175 * math.cos(4 * PHI)
SHANGHAI = timedelta(hours=8)
DAY0 = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def violation(client: TestClient, headers: dict, *, north_m: float = 0.0, at: datetime = DAY0,
              type: str = "street_stall", confirm: bool = True, resolve: bool = False) -> int:
    """Post a candidate `north_m` north of the corner, detected `at`, and review it; its id.

    With `resolve`, team t1 then deals with it (persuaded), as a violation must have been dealt
    with before a new one at its place can be a repeat of it."""
    body = candidate(lat=CORNER[0] + north_m / M_PER_DEG_LAT, lon=CORNER[1], type=type,
                     detected_at=at.isoformat())
    r = client.post("/api/v1/candidates", json=body, headers=headers["det"])
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    decision = {"decision": "confirm"} if confirm else {"decision": "reject", "reason": "a parked van"}
    r = client.post(f"/api/v1/events/{eid}/review", json=decision, headers=headers["op"])
    assert r.status_code == 200, r.text
    if resolve:
        for path, kw in ((f"/api/v1/events/{eid}/assign", {"json": {"team_id": "t1"}, "headers": headers["op"]}),
                         (f"/api/v1/events/{eid}/on-scene", {"headers": headers["tm1"]}),
                         (f"/api/v1/events/{eid}/resolve", {"data": {"disposition": "persuaded"},
                                                            "headers": headers["tm1"]})):
            r = client.post(path, **kw)
            assert r.status_code == 200, r.text
    return eid


def detail(client: TestClient, headers: dict, eid: int) -> dict:
    r = client.get(f"/api/v1/events/{eid}", headers=headers["op"])
    assert r.status_code == 200, r.text
    return r.json()


def offence_of(client: TestClient, headers: dict, eid: int) -> tuple[str, str, list[int]]:
    d = detail(client, headers, eid)
    return d["offence"], d["suggested_disposition"], [p["id"] for p in d["prior_events"]]


def test_a_first_violation_is_a_first_offence_with_a_warning(client: TestClient, headers: dict) -> None:
    eid = violation(client, headers)
    d = detail(client, headers, eid)
    assert (d["offence"], d["suggested_disposition"], d["prior_events"]) == ("first", "warning", [])
    last = d["timeline"][-1]
    assert (last["from_state"], last["to_state"], last["actor"]) == ("confirmed", "confirmed", "system")
    assert last["reason"] == "first offence (none within 50 m / 90 d): suggest warning"


def test_a_second_within_50_m_in_the_lookback_is_a_repeat_listing_the_first(
        client: TestClient, headers: dict) -> None:
    first = violation(client, headers, resolve=True)
    body = candidate(lat=CORNER[0] + 40 / M_PER_DEG_LAT, lon=CORNER[1],
                     detected_at=(DAY0 + timedelta(days=10)).isoformat())
    second = client.post("/api/v1/candidates", json=body, headers=headers["det"]).json()["id"]
    reviewed = client.post(f"/api/v1/events/{second}/review", json={"decision": "confirm"},
                           headers=headers["op"]).json()
    # The review's answer (and so its live alert) already carries the decision.
    assert (reviewed["offence"], reviewed["suggested_disposition"]) == ("repeat", "penalty")
    d = detail(client, headers, second)
    assert d["prior_events"] == [{"id": first, "detected_at": DAY0.isoformat().replace("+00:00", "Z"),
                                  "state": "evaluated", "disposition": "persuaded"}]
    assert d["timeline"][-1]["reason"] == f"repeat of #{first} within 50 m / 90 d: suggest penalty"


def test_the_second_repeat_is_referred_and_lists_the_earlier_ones_newest_first(
        client: TestClient, headers: dict) -> None:
    a = violation(client, headers, resolve=True)
    b = violation(client, headers, north_m=-20, at=DAY0 + timedelta(days=10), resolve=True)
    c = violation(client, headers, north_m=20, at=DAY0 + timedelta(days=20))
    assert offence_of(client, headers, b) == ("repeat", "penalty", [a])
    assert offence_of(client, headers, c) == ("repeat", "referral", [b, a])
    assert detail(client, headers, c)["timeline"][-1]["reason"] == (
        f"repeat of #{b}, #{a} within 50 m / 90 d: suggest referral")


@pytest.mark.parametrize(("north_m", "days_later", "expected"), [
    (40, 10, "repeat"),  # 40 m, inside the 50 m radius
    (60, 10, "first"),  # 60 m: another place
    (0, 89, "repeat"),  # inside the 90-day look-back
    (0, 91, "first"),  # after it
])
def test_place_and_lookback(client: TestClient, headers: dict, north_m: float, days_later: int,
                            expected: str) -> None:
    violation(client, headers, resolve=True)
    later = violation(client, headers, north_m=north_m, at=DAY0 + timedelta(days=days_later))
    assert offence_of(client, headers, later)[0] == expected


def test_a_rejected_violation_never_counts(client: TestClient, headers: dict) -> None:
    violation(client, headers, confirm=False)
    evaluated = violation(client, headers, at=DAY0 + timedelta(hours=1), confirm=False)
    r = client.post(f"/api/v1/events/{evaluated}/evaluate", headers=headers["op"])
    assert r.json()["state"] == "evaluated"  # rejected, then evaluated: still never a violation
    later = violation(client, headers, at=DAY0 + timedelta(days=1))
    assert offence_of(client, headers, later) == ("first", "warning", [])


def test_a_resolved_and_evaluated_violation_counts_with_its_disposition(
        client: TestClient, headers: dict) -> None:
    first = violation(client, headers)
    assert client.post(f"/api/v1/events/{first}/assign", json={"team_id": "t1"},
                       headers=headers["op"]).status_code == 200
    assert client.post(f"/api/v1/events/{first}/on-scene", headers=headers["tm1"]).status_code == 200
    r = client.post(f"/api/v1/events/{first}/resolve", data={"disposition": "penalised"},
                    headers=headers["tm1"])
    assert r.json()["state"] == "evaluated"
    later = violation(client, headers, at=DAY0 + timedelta(days=30))
    prior = detail(client, headers, later)["prior_events"]
    assert [(p["id"], p["state"], p["disposition"]) for p in prior] == [(first, "evaluated", "penalised")]


def test_an_earlier_violation_still_open_is_the_same_occurrence_not_a_repeat(
        client: TestClient, headers: dict) -> None:
    # Seen again (another pass, another drone) before anyone dealt with it: the vendor has not
    # been warned yet, so it is still a first offence; once the first is resolved, the next is not.
    open_one = violation(client, headers)
    seen_again = violation(client, headers, north_m=10, at=DAY0 + timedelta(hours=1), resolve=True)
    assert offence_of(client, headers, seen_again) == ("first", "warning", [])
    assert detail(client, headers, open_one)["state"] == "confirmed"
    back_next_week = violation(client, headers, at=DAY0 + timedelta(days=7))
    assert offence_of(client, headers, back_next_week) == ("repeat", "penalty", [seen_again])


def test_another_type_at_the_same_place_is_not_a_repeat(client: TestClient, headers: dict) -> None:
    violation(client, headers, type="mobile_fuel_sale", resolve=True)
    stall = violation(client, headers, at=DAY0 + timedelta(days=1))
    assert offence_of(client, headers, stall)[0] == "first"


def test_a_violation_detected_later_is_not_an_earlier_one(client: TestClient, headers: dict) -> None:
    later = violation(client, headers, at=DAY0 + timedelta(days=5), resolve=True)  # reviewed first
    earlier = violation(client, headers, at=DAY0)
    assert offence_of(client, headers, later)[0] == "first"
    assert offence_of(client, headers, earlier)[0] == "first"


def test_radius_and_referral_follow_the_settings(client: TestClient, headers: dict,
                                                 settings: Settings) -> None:
    settings.offence_radius_m = 100.0
    settings.offence_referral_repeats = 1
    first = violation(client, headers, resolve=True)
    at_60_m = violation(client, headers, north_m=60, at=DAY0 + timedelta(days=1))
    assert offence_of(client, headers, at_60_m) == ("repeat", "referral", [first])
    assert detail(client, headers, at_60_m)["timeline"][-1]["reason"] == (
        f"repeat of #{first} within 100 m / 90 d: suggest referral")


@pytest.mark.parametrize("lat", [0.0, 29.5, 60.0, -45.0])
def test_the_sql_box_holds_the_whole_circle(lat: float) -> None:
    geod = Geod(ellps="WGS84")
    min_lat, max_lat, min_lon, max_lon = degree_box(lat, 120.0, 50.0)
    for azimuth in range(0, 360, 15):
        lon2, lat2, _ = geod.fwd(120.0, lat, azimuth, 50.0)
        assert min_lat < lat2 < max_lat and min_lon < lon2 < max_lon


# ------------------------------------------------------------------------------------ hot spots


def local(day: int, hour: int, minute: int) -> datetime:
    """A time on 2026-11-<day> in Shanghai, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - SHANGHAI


def seed_hot_spots(client: TestClient, headers: dict) -> None:
    """Five stalls at the corner at 08:10 (1–5 Nov), three at 17:30 (1–3 Nov), one fuel sale there at
    20:00; two stalls 500 m north at 12:00; one 1 km north; a rejected one at the corner at 03:00.
    The corner's offsets (−20 … 20 m, −15 … 15 m) sum to zero: its centre is the corner."""
    for day, north in zip(range(1, 6), (-20, -10, 0, 10, 20)):
        violation(client, headers, north_m=north, at=local(day, 8, 10))
    for day, north in zip(range(1, 4), (-15, 0, 15)):
        violation(client, headers, north_m=north, at=local(day, 17, 30))
    violation(client, headers, type="mobile_fuel_sale", at=local(2, 20, 0))
    for day in (1, 2):
        violation(client, headers, north_m=500, at=local(day, 12, 0))
    violation(client, headers, north_m=1000, at=local(3, 12, 0))
    violation(client, headers, at=local(4, 3, 0), confirm=False)


def hours(**counts: int) -> list[int]:
    out = [0] * 24
    for hour, n in counts.items():
        out[int(hour[1:])] = n
    return out


def test_hot_spots_by_place_and_hour_with_patrol_times(client: TestClient, headers: dict) -> None:
    seed_hot_spots(client, headers)
    r = client.get("/api/v1/hotspots", headers=headers["eva"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["tz"], body["link_m"], body["violations"]) == ("Asia/Shanghai", 50.0, 12)
    corner, north = body["items"]  # the lone one 1 km north is no hot spot; the rejected one never counts
    assert corner["count"] == 9 and corner["by_type"] == {"street_stall": 8, "mobile_fuel_sale": 1}
    assert corner["lat"] == pytest.approx(CORNER[0], abs=1e-7)  # 1e-7° is 1 cm
    assert corner["lon"] == pytest.approx(CORNER[1], abs=1e-7)
    assert corner["radius_m"] == pytest.approx(20.0, abs=0.05)
    assert corner["hours"] == hours(h8=5, h17=3, h20=1)
    # 80 % of 9 is 7.2: 08:xx holds 5, with 17:xx 8.
    assert corner["patrol_windows"] == [{"start": "08:00", "end": "09:00", "violations": 5},
                                        {"start": "17:00", "end": "18:00", "violations": 3}]
    assert corner["first_at"].startswith("2026-11-01T00:10")  # 08:10 in Shanghai
    assert corner["last_at"].startswith("2026-11-05T00:10")
    assert north["count"] == 2 and north["hours"] == hours(h12=2)
    assert north["lat"] == pytest.approx(CORNER[0] + 500 / M_PER_DEG_LAT, abs=1e-7)


def test_hot_spots_filter_by_type_and_period(client: TestClient, headers: dict) -> None:
    seed_hot_spots(client, headers)
    stalls = client.get("/api/v1/hotspots?type=street_stall", headers=headers["eva"]).json()
    assert [s["count"] for s in stalls["items"]] == [8, 2]
    assert stalls["items"][0]["patrol_windows"][0] == {"start": "08:00", "end": "09:00", "violations": 5}
    recent = client.get("/api/v1/hotspots", params={"since": "2026-11-04T00:00:00+08:00"},
                        headers=headers["eva"]).json()
    assert recent["violations"] == 2  # the corner's 4 and 5 Nov
    assert [(s["count"], s["hours"][8]) for s in recent["items"]] == [(2, 2)]


def test_hot_spots_are_for_analysts_and_want_a_timezone(client: TestClient, headers: dict) -> None:
    assert client.get("/api/v1/hotspots", headers=headers["tm1"]).status_code == 403
    assert client.get("/api/v1/hotspots", headers=headers["op"]).json()["items"] == []
    r = client.get("/api/v1/hotspots?since=2026-11-04T00:00:00", headers=headers["eva"])
    assert r.status_code == 422 and "timezone" in r.json()["detail"]


@pytest.mark.parametrize(("counts", "expected"), [
    ({8: 5, 17: 3}, [("08:00", "09:00", 5), ("17:00", "18:00", 3)]),
    ({8: 8, 17: 2}, [("08:00", "09:00", 8)]),  # 8 of 10 is 80 % already
    ({7: 2, 8: 4, 9: 1, 18: 1}, [("07:00", "10:00", 7)]),  # adjacent hours join; 9 wins the tie with 18
    ({23: 3, 0: 3}, [("23:00", "01:00", 6)]),  # across midnight
    ({h: 1 for h in range(10, 20)}, [("10:00", "14:00", 4)]),  # flat: four hours at most
    ({}, []),
])
def test_patrol_windows(counts: dict[int, int], expected: list[tuple[str, str, int]]) -> None:
    histogram = [counts.get(h, 0) for h in range(24)]
    assert [(w.start, w.end, w.violations) for w in patrol_windows(histogram)] == expected


@pytest.mark.parametrize(("east_m", "expected"), [
    ([0, 40, 80], [0, 0, 0]),  # the middle one has both others within 50 m: it seeds one spot
    ([0, 60], [0, 1]),  # 60 m apart: two places
    ([0, 0, 0, 200, 205], [0, 0, 0, 1, 1]),
    # A street with a stall every 40 m does not chain into one spot: 40 m (ties to the west)
    # takes 0, 40 and 80; 120 then takes itself and 160.
    ([0, 40, 80, 120, 160], [0, 0, 0, 1, 1]),
    ([0, 30, 30, 60, 100], [0, 0, 0, 0, 1]),  # 30 m holds 4 within 50 m: 0, 30, 30, 60
])
def test_spots_lie_within_50_m_of_their_busiest_cell(east_m: list[float], expected: list[int]) -> None:
    labels = clusters_of(np.array(east_m, dtype=float), np.zeros(len(east_m)), 50.0)
    # Same label where expected says same, different where it says different.
    assert [[a == b for b in labels] for a in labels] == [[a == b for b in expected] for a in expected]


def test_flyonce_report_has_a_hot_spot_section(tmp_path) -> None:
    import base64
    import io
    import re

    from PIL import Image
    from sqlmodel import Session

    from api.core import db
    from api.core.models import Event
    from tests.api.test_cli import flyonce

    engine = db.create_db_engine(f"sqlite:///{tmp_path / 'flyonce.db'}")
    db.upgrade(engine)
    spots = [(north, local(day, 8, 10)) for day, north in zip(range(1, 6), (-20, -10, 0, 10, 20))]
    spots += [(north, local(day, 17, 30)) for day, north in zip(range(1, 4), (-15, 0, 15))]
    with Session(engine) as session:
        for i, (north, at) in enumerate(spots):
            resolved = i % 2 == 0  # half resolved and evaluated, half still confirmed
            session.add(Event(type="street_stall", state="evaluated" if resolved else "confirmed",
                              lat=CORNER[0] + north / M_PER_DEG_LAT, lon=CORNER[1], confidence=0.9,
                              source="t", source_event_id=str(i), target_s=180, detected_at=at,
                              resolved_at=at + timedelta(minutes=30) if resolved else None))
        session.add(Event(type="street_stall", state="evaluated", lat=CORNER[0], lon=CORNER[1],
                          confidence=0.9, source="t", source_event_id="rejected", target_s=180,
                          detected_at=local(4, 3, 0), reject_reason="a parked van"))
        session.commit()
    engine.dispose()
    out = tmp_path / "r.html"
    done = flyonce("report", "--out", str(out), data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    table = page[page.index("<table id='hotspots'>"):]
    cells = re.findall(r"<td>(.*?)</td>", table[:table.index("</table>")])
    assert cells == [f"{CORNER[0]:.5f}, {CORNER[1]:.5f}", "8", "20 m", "street_stall 8",
                     "08:00–09:00 (5), 17:00–18:00 (3)"]
    hour_plot = re.search(r"<img alt='Hot spots' src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    with Image.open(io.BytesIO(base64.b64decode(hour_plot.group(1)))) as img:
        assert img.format == "PNG" and img.width > 300
